"""Length-adaptive .tflite files: a [1, -1] input signature that takes any length up to seq_len.

litert-torch converts torch.export's dynamic length (backends.base.length_dims) when two things
hold, both found by converting the encoder:
  - every op lowers through litert-torch's own tfl.* decompositions (LITERT_TORCH_FULL_TFL_DECOMPS,
    the table its LLM exporter uses); the default JAX-bridged lowering of add / sub wants static
    shapes ("Expected a static ShapedType");
  - LayerNorm is written as mean, sub, mul and rsqrt: the native_layer_norm lowering wants them too.
The interpreter is resized to each sentence's length (TFLiteRunner). The bound is the manifest's
seq_len (the position table is longer, but nothing longer was verified).
"""

import contextlib
import copy
import os

import torch
from torch import nn

from backends.base import LowerSpec, length_dims

FULL_TFL_DECOMPS = "LITERT_TORCH_FULL_TFL_DECOMPS"


class MeanLayerNorm(nn.Module):
    """nn.LayerNorm over the last dim from mean / sub / mul / rsqrt (same numbers to ~1e-7)."""

    def __init__(self, norm: nn.LayerNorm):
        super().__init__()
        self.eps, self.weight, self.bias = norm.eps, norm.weight, norm.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x - x.mean(-1, keepdim=True)
        return d * torch.rsqrt((d * d).mean(-1, keepdim=True) + self.eps) * self.weight + self.bias


def with_mean_layer_norms(model: nn.Module) -> nn.Module:
    """A copy of `model` with every affine nn.LayerNorm over one dim replaced (model unchanged)."""
    out = copy.deepcopy(model)
    for name, module in list(out.named_modules()):
        if type(module) is nn.LayerNorm and len(module.normalized_shape) == 1 and module.elementwise_affine:
            parent_name, _, attr = name.rpartition(".")
            setattr(out.get_submodule(parent_name) if parent_name else out, attr, MeanLayerNorm(module))
    return out.eval()


@contextlib.contextmanager
def tfl_decompositions():
    """litert-torch reads the switch at each conversion: on for this one, as it was after."""
    before = os.environ.get(FULL_TFL_DECOMPS)
    os.environ[FULL_TFL_DECOMPS] = "1"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(FULL_TFL_DECOMPS, None)
        else:
            os.environ[FULL_TFL_DECOMPS] = before


def convert_any_length(model: nn.Module, spec: LowerSpec, **kwargs) -> bytes:
    """`model` (LayerNorms already MeanLayerNorm) as a flatbuffer taking MIN_LENGTH..seq_len tokens;
    kwargs go to litert_torch.convert (e.g. quant_config)."""
    import litert_torch

    with tfl_decompositions():
        edge = litert_torch.convert(model, spec.example_inputs(), dynamic_shapes=length_dims(spec.seq_len), **kwargs)
    return edge.model_content()
