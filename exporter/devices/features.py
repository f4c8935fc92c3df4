"""The work one forward pass of a sub-network does: what the latency model is linear in.

Width keeps heads and FFN neurons (hidden size stays), depth keeps layers (SubnetSpec), so
for L kept layers, hidden h, kept attention width a = heads*head_dim, kept FFN f, length s:
  linear MACs     L * s * (4*h*a + 2*h*f)     q, k, v, out; ffn in, out
  attention MACs  L * 2 * s*s * a             scores and context matmuls
  elementwise     L * s * (2*h + f) + L * heads * s*s   layer norms, GELU, softmax
Units are millions, so fitted coefficients read as ms per million.
"""

from dataclasses import dataclass

from exporter.model.config import EncoderConfig
from exporter.model.subnet import SubnetSpec

FEATURES = ("linear_mmacs", "attention_mmacs", "elementwise_m", "layers", "const")
WEIGHT_BYTES = {"fp32": 4.0, "int8": 1.0, "ternary": 0.25}


@dataclass(frozen=True)
class Work:
    linear_mmacs: float
    attention_mmacs: float
    elementwise_m: float
    layers: int
    weight_bytes: float      # linear weights read once per pass (the memory floor)

    def vector(self) -> tuple[float, ...]:
        return (self.linear_mmacs, self.attention_mmacs, self.elementwise_m, float(self.layers), 1.0)


def work(cfg: EncoderConfig, subnet: SubnetSpec, seq_len: int, precision: str = "fp32") -> Work:
    layers = len(subnet.kept_layers(cfg.layers))
    heads = subnet.kept_heads(cfg.heads)
    a, f, h, s = heads * cfg.head_dim, subnet.kept_neurons(cfg.ffn), cfg.hidden, seq_len
    linear_weights = layers * (4 * h * a + 2 * h * f)
    return Work(linear_mmacs=s * linear_weights / 1e6,
                attention_mmacs=layers * 2 * s * s * a / 1e6,
                elementwise_m=(layers * s * (2 * h + f) + layers * heads * s * s) / 1e6,
                layers=layers,
                weight_bytes=linear_weights * WEIGHT_BYTES.get(precision, 4.0))


def estimated_bytes(cfg: EncoderConfig, subnet: SubnetSpec, precision: str) -> int:
    """Artifact size when the table gives none: linear weights at `precision`, embeddings fp32
    (both backends keep the word table fp32, DESIGN.md)."""
    embeddings = (cfg.vocab_size + cfg.max_positions + cfg.type_vocab) * cfg.hidden * 4
    return int(work(cfg, subnet, 1, precision).weight_bytes + embeddings)
