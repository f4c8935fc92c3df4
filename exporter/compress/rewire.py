"""DynaBERT's network rewiring: permute each layer's heads and FFN neurons, most important first.

A permutation of heads reorders the rows of q, k, v (in blocks of head_dim) and the columns of
attn_out; a permutation of neurons reorders the rows of ffn_in and the columns of ffn_out. Both
leave the full-width function unchanged (attention is per head, the FFN is a sum over neurons),
and afterwards `SubnetSpec(width=w)` slicing keeps the most important units.

The order is data for the checkpoint JSON: per layer, the original index at each new position.
"""

from dataclasses import dataclass

import torch

from exporter.compress.importance import Importance
from exporter.model.config import EncoderConfig
from exporter.model.encoder import Encoder


@dataclass(frozen=True)
class RewireOrder:
    heads: tuple[tuple[int, ...], ...]    # [layer][new position] = original head
    neurons: tuple[tuple[int, ...], ...]  # [layer][new position] = original neuron

    def to_dict(self) -> dict:
        return {"heads": [list(h) for h in self.heads], "neurons": [list(n) for n in self.neurons]}

    @classmethod
    def from_dict(cls, d: dict) -> "RewireOrder":
        return cls(tuple(tuple(h) for h in d["heads"]), tuple(tuple(n) for n in d["neurons"]))

    @classmethod
    def identity(cls, cfg: EncoderConfig) -> "RewireOrder":
        return cls(tuple(tuple(range(cfg.heads)) for _ in range(cfg.layers)),
                   tuple(tuple(range(cfg.ffn)) for _ in range(cfg.layers)))

    def check(self, cfg: EncoderConfig) -> None:
        if len(self.heads) != cfg.layers or len(self.neurons) != cfg.layers:
            raise ValueError(f"order has {len(self.heads)} layers, the model {cfg.layers}")
        for i, (h, n) in enumerate(zip(self.heads, self.neurons)):
            if sorted(h) != list(range(cfg.heads)) or sorted(n) != list(range(cfg.ffn)):
                raise ValueError(f"layer {i}: order is not a permutation of {cfg.heads} heads / {cfg.ffn} neurons")


def order_from_importance(imp: Importance) -> RewireOrder:
    """Descending importance; ties keep the original order (stable sort), so the result is deterministic."""
    def desc(scores: torch.Tensor) -> tuple[int, ...]:
        return tuple(int(i) for i in torch.sort(-scores, stable=True).indices)

    return RewireOrder(tuple(desc(row) for row in imp.heads), tuple(desc(row) for row in imp.neurons))


def _head_rows(order: tuple[int, ...], head_dim: int) -> torch.Tensor:
    return torch.cat([torch.arange(h * head_dim, (h + 1) * head_dim) for h in order])


@torch.no_grad()
def rewire(model: Encoder, order: RewireOrder) -> Encoder:
    """Permute `model`'s weights in place (a full-size model: slices cannot be permuted back)."""
    order.check(model.cfg)
    if len(model.layers) != model.cfg.layers or model.layers[0].heads != model.cfg.heads:
        raise ValueError(f"rewiring needs the full-size model, not {model.built}")
    for layer, heads, neurons in zip(model.layers, order.heads, order.neurons):
        rows = _head_rows(heads, model.cfg.head_dim)
        for lin in (layer.q, layer.k, layer.v):
            lin.weight.copy_(lin.weight[rows])
            lin.bias.copy_(lin.bias[rows])
        layer.attn_out.weight.copy_(layer.attn_out.weight[:, rows])
        n = torch.tensor(neurons)
        layer.ffn_in.weight.copy_(layer.ffn_in.weight[n])
        layer.ffn_in.bias.copy_(layer.ffn_in.bias[n])
        layer.ffn_out.weight.copy_(layer.ffn_out.weight[:, n])
    return model
