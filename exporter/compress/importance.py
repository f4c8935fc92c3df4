"""DynaBERT's importance of attention heads and FFN neurons, measured on training data.

Each head h of a layer gets a mask m_h = 1 multiplying its context (equivalently its attention
probabilities: context_h = probs_h @ v_h is linear in them), each FFN neuron n a mask multiplying
its GELU output. Importance is |dL/dm| accumulated over batches (Michel et al. 2019, used by
DynaBERT), L the task cross-entropy of the fine-tuned model. For a neuron |dL/dm_n| is
|sum over tokens of activation * gradient|, the first-order loss change when it is removed.

The masks enter through forward pre-hooks on attn_out and ffn_out, so the encoder needs no
importance-specific code path.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from tqdm import tqdm

from exporter.compress.batching import trim
from exporter.compress.trainer import Batches
from exporter.model.encoder import Encoder
from exporter.model.subnet import FULL


@dataclass(frozen=True)
class Importance:
    heads: torch.Tensor    # [layers, heads], larger = more important
    neurons: torch.Tensor  # [layers, ffn]


class UnitMasks:
    """Per-layer head and neuron masks spliced into a full-size model with forward pre-hooks."""

    def __init__(self, model: Encoder, heads: torch.Tensor, neurons: torch.Tensor):
        self.handles = []
        head_dim = model.cfg.head_dim
        for i, layer in enumerate(model.layers):
            def on_ctx(_module, args, i=i):
                (ctx,) = args
                b, s, inner = ctx.shape
                h = inner // head_dim
                return ((ctx.reshape(b, s, h, head_dim) * heads[i, :h, None]).reshape(b, s, inner),)

            def on_act(_module, args, i=i):
                (act,) = args
                return (act * neurons[i, :act.shape[-1]],)

            self.handles.append(layer.attn_out.register_forward_pre_hook(on_ctx))
            self.handles.append(layer.ffn_out.register_forward_pre_hook(on_act))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def compute_importance(model: Encoder, data: Batches, batches: int, batch_size: int = 32,
                       seed: int = 1234) -> Importance:
    """|dL/d mask| summed over `batches` seeded batches of the training data (model in eval mode)."""
    if model.built != FULL:
        raise ValueError(f"importance is measured on the full-size model, not {model.built}")
    cfg = model.cfg
    heads = torch.ones(cfg.layers, cfg.heads, requires_grad=True)
    neurons = torch.ones(cfg.layers, cfg.ffn, requires_grad=True)
    head_score = torch.zeros(cfg.layers, cfg.heads)
    neuron_score = torch.zeros(cfg.layers, cfg.ffn)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    was_training, was_active = model.training, model.active
    model.eval()
    model.active = FULL
    try:
        with UnitMasks(model, heads, neurons):
            n = min(batches, max(1, -(-len(data) // batch_size)))
            for k in tqdm(range(n), desc="importance", unit="batch", dynamic_ncols=True):
                idx = order[k * batch_size:(k + 1) * batch_size]
                if len(idx) == 0:
                    break
                loss = F.cross_entropy(model(*trim(data.ids[idx], data.mask[idx])), data.labels[idx])
                g_heads, g_neurons = torch.autograd.grad(loss, (heads, neurons))
                head_score += g_heads.abs()
                neuron_score += g_neurons.abs()
    finally:
        model.active = was_active
        model.train(was_training)
    return Importance(head_score, neuron_score)
