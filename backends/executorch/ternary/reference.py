"""What the delegate computes, in numpy (exact) and torch (for eager parity).

Mirrors runtime/ternary_kernel.cpp step by step: symmetric int8 activations
(round half to even, clamp), an exact int32 GEMM against {-1, 0, 1}, then
y = float(acc) * (row_scale * w_scale) + bias in float32 without FMA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .blob import ActivationQuant, ActMode, TernaryLinearSpec

if TYPE_CHECKING:
    import torch


def quantize_activations(x: np.ndarray, act: ActivationQuant) -> tuple[np.ndarray, np.ndarray]:
    """x float32 [M, K] -> (q int8 [M, K], row_scale float32 [M])."""
    x = np.asarray(x, dtype=np.float32)
    qmin, qmax = np.float32(act.qmin), np.float32(act.qmax)
    if act.mode == ActMode.STATIC_PER_TENSOR:
        scale = np.full(x.shape[0], act.scale, dtype=np.float32)
        # torch's quantize_per_tensor: x * (1.0 / scale), reciprocal in double.
        inv = np.full(x.shape[0], np.float32(1.0 / float(scale[0])), dtype=np.float32)
    else:
        absmax = np.abs(x).max(axis=1)
        scale = (absmax / qmax).astype(np.float32)
        with np.errstate(divide="ignore"):
            inv = np.where(absmax > 0, qmax / absmax, np.float32(0)).astype(np.float32)
    q = np.clip(np.rint(x * inv[:, None]), qmin, qmax).astype(np.int8)
    return q, scale


def reference_acc(spec: TernaryLinearSpec, x: np.ndarray) -> np.ndarray:
    """The exact int32 accumulators every kernel path must reproduce."""
    q, _ = quantize_activations(x, spec.act)
    return (q.astype(np.int64) @ spec.values.T.astype(np.int64)).astype(np.int32)


def reference_linear(spec: TernaryLinearSpec, x: np.ndarray) -> np.ndarray:
    q, row_scale = quantize_activations(x, spec.act)
    acc = (q.astype(np.int64) @ spec.values.T.astype(np.int64)).astype(np.int32)
    y = acc.astype(np.float32) * (row_scale[:, None] * spec.scales[None, :])
    if spec.bias is not None:
        y = y + spec.bias[None, :]
    return y.astype(np.float32)


def fake_quant_linear(
    x: "torch.Tensor", weight: "torch.Tensor", bias: "torch.Tensor | None", act: ActivationQuant
) -> "torch.Tensor":
    """Eager torch Linear with the delegate's int8 activation quantization
    (weights already ternary): the PyTorch side of a parity check."""
    import torch

    xf = x.reshape(-1, x.shape[-1]).float()
    if act.mode == ActMode.STATIC_PER_TENSOR:
        scale = torch.full((xf.shape[0], 1), act.scale, dtype=torch.float32)
        inv = torch.full_like(scale, 1.0 / float(np.float32(act.scale)))
    else:
        absmax = xf.abs().amax(dim=1, keepdim=True)
        scale = absmax / act.qmax
        inv = torch.where(absmax > 0, act.qmax / absmax, torch.zeros_like(absmax))
    q = torch.clamp(torch.round(xf * inv), act.qmin, act.qmax)
    y = (q @ torch.sign(weight).T.float()) * (scale * weight.abs().amax(dim=1)[None, :])
    if bias is not None:
        y = y + bias
    return y.reshape(*x.shape[:-1], weight.shape[0])
