"""LayerNorm written with ops XNNPACK takes, so it stops splitting the delegate.

XNNPACK in executorch 1.5.1 has no LayerNorm node and its mean.dim only averages the two
innermost dims of a 4D tensor, so `native_layer_norm` ran on ExecuTorch's portable kernel (13
times in MiniLM, each one a break between two XNNPACK partitions). Here the two means over the
hidden dim are fp32 matrix-vector products with a constant 1/H row (XNNPACK fully-connected),
and the rest is sub, mul, rsqrt and add:

    mean = x @ (1/H)      d = x - mean      var_eps = (d * d) @ (1/H) + eps   (eps as that FC's bias)
    y = d * rsqrt(var_eps) * weight + bias

The int8 quantizers leave this module in float (backends/int8_scope.py), as they left
nn.LayerNorm. On the fine-tuned MiniLM it moves fp32 logits by < 1e-5.
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn


class LinearMeanLayerNorm(nn.Module):
    """nn.LayerNorm over the last dim, with its means as fully-connected layers."""

    def __init__(self, norm: nn.LayerNorm):
        super().__init__()
        (hidden,) = norm.normalized_shape
        self.eps = norm.eps
        self.weight = nn.Parameter(norm.weight.detach().clone(), requires_grad=False)
        self.bias = nn.Parameter(norm.bias.detach().clone(), requires_grad=False)
        self.register_buffer("average", torch.full((1, hidden), 1.0 / hidden))
        self.register_buffer("eps_bias", torch.full((1,), float(norm.eps)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x - F.linear(x, self.average)
        var_eps = F.linear(d * d, self.average, self.eps_bias)
        return d * torch.rsqrt(var_eps) * self.weight + self.bias


def with_linear_mean_layer_norms(model: nn.Module) -> nn.Module:
    """A copy of `model` with every affine nn.LayerNorm over one dim replaced (model unchanged)."""
    out = copy.deepcopy(model)
    for name, module in list(out.named_modules()):
        if type(module) is nn.LayerNorm and len(module.normalized_shape) == 1 and module.elementwise_affine \
                and module.bias is not None:
            parent_name, _, attr = name.rpartition(".")
            setattr(out.get_submodule(parent_name) if parent_name else out, attr, LinearMeanLayerNorm(module))
    return out.eval()
