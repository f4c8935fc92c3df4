"""The work one forward pass of a sub-network does: what the latency model is linear in.

Width keeps heads and FFN neurons (hidden size stays), depth keeps layers (SubnetSpec), so
for L kept layers, hidden h, kept attention width a = heads*head_dim, kept FFN f, length s:
  linear MACs     L * s * (4*h*a + 2*h*f)     q, k, v, out; ffn in, out
  attention MACs  L * 2 * s*s * a             scores and context matmuls
  elementwise     L * s * (2*h + f) + L * heads * s*s   layer norms, GELU, softmax
Units are millions, so fitted coefficients read as ms per million. A pruned mixed-precision model
(compress/mixed_models.py) keeps its own heads and neurons per layer: the sums run over its layers.
"""

from dataclasses import dataclass, replace

from backends.variant import Variant
from exporter.model.config import EncoderConfig
from exporter.model.subnet import SubnetSpec

FEATURES = ("linear_mmacs", "attention_mmacs", "elementwise_m", "layers", "const")


@dataclass(frozen=True)
class Work:
    linear_mmacs: float
    attention_mmacs: float
    elementwise_m: float
    layers: int
    weight_bytes: float      # linear weights read once per pass (the memory floor)
    # Of linear_mmacs, those on 4-bit weights in a file that mixes 8- and 4-bit Linears (mixed
    # precision): their share blends in the all-4-bit variant's prediction (Variant.int4_timed_as).
    int4_mmacs: float = 0.0

    def vector(self) -> tuple[float, ...]:
        return (self.linear_mmacs, self.attention_mmacs, self.elementwise_m, float(self.layers), 1.0)


def work(cfg: EncoderConfig, subnet: SubnetSpec, seq_len: int, weight_bytes: float = 4.0) -> Work:
    """`weight_bytes`: per Linear weight, the variant's (Variant.linear_bytes)."""
    layers = len(subnet.kept_layers(cfg.layers))
    return layered_work(cfg, (subnet.kept_heads(cfg.heads),) * layers, (subnet.kept_neurons(cfg.ffn),) * layers,
                        seq_len, weight_bytes)


def layered_work(cfg: EncoderConfig, heads: tuple[int, ...], neurons: tuple[int, ...], seq_len: int,
                 weight_bytes: float) -> Work:
    """The work of layers that each keep their own heads and FFN neurons (a pruned mixed-precision
    model; a width slice keeps the same in every layer)."""
    h, s, d = cfg.hidden, seq_len, cfg.head_dim
    linear_weights = sum(4 * h * n_heads * d + 2 * h * f for n_heads, f in zip(heads, neurons))
    return Work(linear_mmacs=s * linear_weights / 1e6,
                attention_mmacs=sum(2 * s * s * n_heads * d for n_heads in heads) / 1e6,
                elementwise_m=sum(s * (2 * h + f) + n_heads * s * s for n_heads, f in zip(heads, neurons)) / 1e6,
                layers=len(heads),
                weight_bytes=linear_weights * weight_bytes)


def shaped_work(cfg: EncoderConfig, shape: dict, seq_len: int) -> Work:
    """The work of a model whose table row carries its "shape" (compress/mixed_models.py): kept heads
    and neurons per layer, the bytes its Linear weights are stored in and how many are 4-bit."""
    done = layered_work(cfg, tuple(shape["heads"]), tuple(shape["neurons"]), seq_len, 1.0)  # bytes = weights
    return replace(done, weight_bytes=shape["linear_bytes"], int4_mmacs=seq_len * shape["int4_weights"] / 1e6)


def estimated_bytes(cfg: EncoderConfig, subnet: SubnetSpec, variant: Variant) -> int:
    """Artifact size when the table gives none: linear weights and word table at the variant's
    bytes per value, position and type tables fp32."""
    table = cfg.vocab_size * cfg.hidden * variant.table_bytes
    others = (cfg.max_positions + cfg.type_vocab) * cfg.hidden * 4
    return int(work(cfg, subnet, 1, variant.linear_bytes).weight_bytes + table + others)
