"""Fused blocks: the ternary parts of a frozen encoder layer as three custom ops, so the partitioner
hands each to the delegate as one call (runtime/ternary_block.h):

    dynaedge::ternary_qkv              (Linear_q(qdq(x)), Linear_k(qdq(x)), Linear_v(qdq(x)))  attention input
    dynaedge::ternary_linear_add_norm  LayerNorm(residual + Linear(qdq(x)))                 attention output
    dynaedge::ternary_ffn_add_norm     LayerNorm(x + Linear2(qdq(GELU(Linear1(qdq(x))))))   feed-forward

Unfused, a layer was 6 delegate calls and 4 XNNPACK calls between them (attention, add + LayerNorm
twice, GELU); XNNPACK's fixed cost per call (reshape, thread hand-off) was most of the ~12 µs of a
GELU call at 16 tokens (ETDump, README.md). Fused: 3 delegate calls and the attention's XNNPACK
call.

The ops' Python bodies are the frozen model's own math (qdq with the trained static scale, or
none when the scale is 0), so a model rewritten here computes what it computed before; they run in
PyTorch and in tests, never in a .pte (the partitioner claims every one).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import Tensor

from exporter.compress.freeze import FrozenLayer, FrozenLinear, qdq


def _quantized(x: Tensor, scale: float) -> Tensor:
    return x if scale <= 0 else qdq(x, scale)


@torch.library.custom_op("dynaedge::ternary_linear_add_norm", mutates_args=())
def linear_add_norm(x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor | None, x_scale: float,
                    norm_weight: Tensor, norm_bias: Tensor, eps: float) -> Tensor:
    y = F.linear(_quantized(x, x_scale), weight, bias)
    return F.layer_norm(residual + y, (norm_weight.shape[0],), norm_weight, norm_bias, eps)


@linear_add_norm.register_fake
def _(x, residual, weight, bias, x_scale, norm_weight, norm_bias, eps):
    return torch.empty_like(residual)


@torch.library.custom_op("dynaedge::ternary_ffn_add_norm", mutates_args=())
def ffn_add_norm(x: Tensor, weight1: Tensor, bias1: Tensor | None, scale1: float, weight2: Tensor,
                 bias2: Tensor | None, scale2: float, norm_weight: Tensor, norm_bias: Tensor, eps: float) -> Tensor:
    h = F.gelu(F.linear(_quantized(x, scale1), weight1, bias1))
    y = F.linear(_quantized(h, scale2), weight2, bias2)
    return F.layer_norm(x + y, (norm_weight.shape[0],), norm_weight, norm_bias, eps)


@ffn_add_norm.register_fake
def _(x, weight1, bias1, scale1, weight2, bias2, scale2, norm_weight, norm_bias, eps):
    return torch.empty_like(x)


@torch.library.custom_op("dynaedge::ternary_qkv", mutates_args=())
def qkv(x: Tensor, weight_q: Tensor, bias_q: Tensor | None, scale_q: float, weight_k: Tensor, bias_k: Tensor | None,
        scale_k: float, weight_v: Tensor, bias_v: Tensor | None, scale_v: float) -> tuple[Tensor, Tensor, Tensor]:
    return (F.linear(_quantized(x, scale_q), weight_q, bias_q), F.linear(_quantized(x, scale_k), weight_k, bias_k),
            F.linear(_quantized(x, scale_v), weight_v, bias_v))


@qkv.register_fake
def _(x, weight_q, bias_q, scale_q, weight_k, bias_k, scale_k, weight_v, bias_v, scale_v):
    return tuple(x.new_empty((*x.shape[:-1], w.shape[0])) for w in (weight_q, weight_k, weight_v))


def _scale(linear: FrozenLinear) -> float:
    return 0.0 if linear.input_scale is None else float(linear.input_scale)


class BlockLayer(FrozenLayer):
    """A frozen layer at its full built size whose Q/K/V, attention output and FFN are the fused ops."""

    def project_qkv(self, x, inner: int):
        q, k, v = self.q, self.k, self.v
        return torch.ops.dynaedge.ternary_qkv(x, q.weight, q.bias, _scale(q), k.weight, k.bias, _scale(k),
                                              v.weight, v.bias, _scale(v))

    def forward(self, x, add_mask, heads: int, neurons: int):
        ctx, scores = self.attend(x, add_mask, heads)
        o, n1 = self.attn_out, self.attn_norm
        x = torch.ops.dynaedge.ternary_linear_add_norm(ctx, x, o.weight, o.bias, _scale(o), n1.weight, n1.bias,
                                                       float(n1.eps))
        up, down, n2 = self.ffn_in, self.ffn_out, self.ffn_norm
        x = torch.ops.dynaedge.ternary_ffn_add_norm(x, up.weight, up.bias, _scale(up), down.weight, down.bias,
                                                    _scale(down), n2.weight, n2.bias, float(n2.eps))
        return x, scores


def with_fused_blocks(frozen: torch.nn.Module) -> torch.nn.Module:
    """A copy whose FrozenLayers are BlockLayers (frozen ternary models only: their Linears are
    FrozenLinear with the trained input scales; LayerNorms plain, so rewrite before the LayerNorm
    rewrite for XNNPACK, which leaves the fused ones' weights where the ops read them)."""
    fused = copy.deepcopy(frozen)
    for layer in getattr(fused, "layers", ()):
        linears = (layer.attn_out, layer.ffn_in, layer.ffn_out)
        if type(layer) is not FrozenLayer or not all(isinstance(m, FrozenLinear) for m in linears):
            raise ValueError(f"with_fused_blocks takes a frozen ternary model (freeze_ternary); found "
                             f"{type(layer).__name__} with {[type(m).__name__ for m in linears]}")
        if layer.ffn_in.out_features != layer.ffn_out.in_features or layer.heads * layer.head_dim != \
                layer.attn_out.in_features:
            raise ValueError("with_fused_blocks needs a layer at its full built size (an extracted slice)")
        layer.__class__ = BlockLayer
    return fused
