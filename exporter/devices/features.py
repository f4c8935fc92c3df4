"""The work one forward pass of a sub-network does: what the latency model is linear in.

Width keeps heads and FFN neurons (hidden size stays), depth keeps layers (SubnetSpec), so
for L kept layers, hidden h, kept attention width a = heads*head_dim, kept FFN f, length s:
  linear MACs     L * s * (4*h*a + 2*h*f)     q, k, v, out; ffn in, out
  attention MACs  L * 2 * s*s * a             scores and context matmuls
  elementwise     L * s * (2*h + f) + L * heads * s*s   layer norms, GELU, softmax
Units are millions, so fitted coefficients read as ms per million.
"""

from dataclasses import dataclass

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

    def vector(self) -> tuple[float, ...]:
        return (self.linear_mmacs, self.attention_mmacs, self.elementwise_m, float(self.layers), 1.0)


def work(cfg: EncoderConfig, subnet: SubnetSpec, seq_len: int, weight_bytes: float = 4.0) -> Work:
    """`weight_bytes`: per Linear weight, the variant's (Variant.linear_bytes)."""
    layers = len(subnet.kept_layers(cfg.layers))
    heads = subnet.kept_heads(cfg.heads)
    a, f, h, s = heads * cfg.head_dim, subnet.kept_neurons(cfg.ffn), cfg.hidden, seq_len
    linear_weights = layers * (4 * h * a + 2 * h * f)
    return Work(linear_mmacs=s * linear_weights / 1e6,
                attention_mmacs=layers * 2 * s * s * a / 1e6,
                elementwise_m=(layers * s * (2 * h + f) + layers * heads * s * s) / 1e6,
                layers=layers,
                weight_bytes=linear_weights * weight_bytes)


def estimated_bytes(cfg: EncoderConfig, subnet: SubnetSpec, variant: Variant) -> int:
    """Artifact size when the table gives none: linear weights and word table at the variant's
    bytes per value, position and type tables fp32."""
    table = cfg.vocab_size * cfg.hidden * variant.table_bytes
    others = (cfg.max_positions + cfg.type_vocab) * cfg.hidden * 4
    return int(work(cfg, subnet, 1, variant.linear_bytes).weight_bytes + table + others)
