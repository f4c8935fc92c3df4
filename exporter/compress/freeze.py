"""The export form of a quantization-aware model: quantized weights stored, activation quantization
as explicit quantize/dequantize ops in the graph.

    small = extract_quantized(supernet, SubnetSpec(0.5, 0.5))
    frozen = freeze_ternary(small)              # plain modules, fixed weights
    torch.export.export(frozen, (ids, mask))

After freezing, each Linear's weight holds exactly {-α_n, 0, +α_n} per row (ternary) — what the
ternary delegate's partitioner recognises — and each Linear / attention-matmul input goes
through quantized_decomposed.quantize_per_tensor + dequantize_per_tensor (int8, zero point 0,
[-127, 127]) with the trained static scale, which the partitioner reads as the activation scale.
A ternary word-embedding table is stored at 2 bits and unpacked in the graph
(packed_embedding.py). The frozen model computes what the QAT model computes in eval mode.
"""

import copy

import torch
from torch import nn

from exporter.compress.packed_embedding import PackedTernaryEmbedding
from exporter.compress.quant import QMAX, ActQuant, QuantEmbedding, QuantLayer, QuantLinear, int8_rows, ternarize
from exporter.model.encoder import Encoder, Layer, SliceLinear
from exporter.model.subnet import FULL


def _ops():
    import torch.ao.quantization.fx._decomposed  # noqa: F401  registers torch.ops.quantized_decomposed
    return torch.ops.quantized_decomposed


def qdq(x: torch.Tensor, scale: float) -> torch.Tensor:
    ops = _ops()
    q = ops.quantize_per_tensor.default(x, scale, 0, -QMAX, QMAX, torch.int8)
    return ops.dequantize_per_tensor.default(q, scale, 0, -QMAX, QMAX, torch.int8)


class FrozenLinear(SliceLinear):
    """Fixed (already quantized) weight; 8-bit input through explicit q/dq with a static scale."""

    input_scale: float | None

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.input_scale is None else qdq(x, self.input_scale)


class FrozenLayer(Layer):
    scales: tuple[float, float, float, float]  # q, k, probs, v

    def attention_scores(self, q, k):
        return super().attention_scores(qdq(q, self.scales[0]), qdq(k, self.scales[1]))

    def attention_context(self, probs, v):
        return super().attention_context(qdq(probs, self.scales[2]), qdq(v, self.scales[3]))


def _scale(act: ActQuant | None) -> float | None:
    if act is None:
        return None
    if float(act.range) <= 0:
        raise ValueError("activation range was never calibrated (train or run the model in train mode first)")
    return act.scale


def _frozen_weight(w: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "ternary":
        return ternarize(w)
    if kind == "int8":
        return int8_rows(w)
    return w.detach().clone()


@torch.no_grad()
def freeze_ternary(model: Encoder, pack_embeddings: bool = True) -> Encoder:
    """A frozen copy of a quantized model for export (ternary, int8 or fp32 weights alike).

    A ternary word-embedding table becomes a PackedTernaryEmbedding (2 bits per value, unpacked
    in the graph) unless `pack_embeddings` is False (then an fp32 nn.Embedding of the same values).

    The model must run at its full built size (an extracted slice, or the supernet at full width):
    quantization per row depends on which columns a slice keeps, so a frozen model cannot be
    sliced again.
    """
    if getattr(model, "quant_spec", None) is None:
        raise ValueError("model is not quantized (quantize_model first)")
    if model.active != FULL:
        raise ValueError(f"freeze an extracted slice (extract_quantized), not a supernet running {model.active}")
    frozen = copy.deepcopy(model).eval()
    for module in frozen.modules():
        if isinstance(module, QuantLinear):
            # The same values the QAT model computes (LAT's curvature-weighted ones included).
            module.weight.data = module.effective_weight(module.out_features, module.in_features).detach().clone()
            if hasattr(module, "weight_curvature"):
                del module.weight_curvature
            module.input_scale = _scale(module.act)
            del module.act
            module.__class__ = FrozenLinear
        elif isinstance(module, QuantEmbedding):
            module.weight.data = _frozen_weight(module.weight, module.kind)
            module.__class__ = nn.Embedding
    if pack_embeddings and getattr(model.word, "kind", None) == "ternary":
        frozen.word = PackedTernaryEmbedding(frozen.word.weight)
    for layer in frozen.layers:
        if isinstance(layer, QuantLayer):
            layer.scales = tuple(_scale(getattr(layer, n)) for n in ("act_q", "act_k", "act_p", "act_v"))
            for n in ("act_q", "act_k", "act_p", "act_v"):
                delattr(layer, n)
            layer.__class__ = FrozenLayer
    frozen.quant_spec = None
    return frozen


def activation_scales(frozen: Encoder) -> dict[str, float]:
    """Static input scales by weight name (TernaryPartitionSpec.activation_scales)."""
    return {f"{name}.weight": m.input_scale for name, m in frozen.named_modules()
            if isinstance(m, FrozenLinear) and m.input_scale is not None}
