"""Int8 accuracy of every fp32 slice, measured in PyTorch before any file is lowered.

An int8 file is its backend's post-training quantization of an fp32 slice. So that the selector
weighs int8 files by an accuracy measured on the slice rather than by a bound (fp32 minus the
1-point export gate, which made every fp32 file look more accurate than its int8 twin), each fp32
grid slice is evaluated once more as the dynamic int8 files compute it:

- Linear weights and the word table int8 per row, symmetric (`quant.int8_rows`, the files' storage);
- every Linear input int8 per token, symmetric, scale from that token's own range (XNNPACK's and
  LiteRT's dynamic int8 quantize each row of the input at run time);
- attention matmuls, softmax, LayerNorm and GELU in fp32, as in those files.

Static int8 files calibrate one scale per tensor instead, so they can lose a little more; every
file's own accuracy is measured at export, gated at 1 point below its fp32 slice, and written to
the manifest.
"""

import copy

import torch

from exporter.compress.quant import QMAX, QuantEmbedding, int8_rows
from exporter.model.encoder import Encoder, SliceLinear

HOW = ("fp32 slice simulated in PyTorch with int8 per-row weights and word table and per-token "
       "dynamic int8 Linear inputs; each file's own accuracy is measured at export")


def int8_per_token(x: torch.Tensor) -> torch.Tensor:
    """Symmetric int8 fake quantization with one scale per token (last dim)."""
    scale = x.abs().amax(-1, keepdim=True).clamp(min=1e-12) / QMAX
    return torch.clamp(torch.round(x / scale), -QMAX, QMAX) * scale


class DynamicInt8Linear(SliceLinear):
    """A SliceLinear computing what a dynamic int8 file computes for it (inference only)."""

    def effective_weight(self, rows: int, cols: int) -> torch.Tensor:
        # Quantized after slicing: a file of the slice stores scales of what the slice keeps.
        return int8_rows(super().effective_weight(rows, cols))

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        return int8_per_token(x)


def simulate_int8(model: Encoder) -> Encoder:
    """A copy of the fp32 `model` whose Linears and word table compute as dynamic int8 files do."""
    if getattr(model, "quant_spec", None) is not None:
        raise ValueError(f"simulate_int8 takes an fp32 model, not one quantized as {model.quant_spec}")
    sim = copy.deepcopy(model).eval()
    for module in sim.modules():
        if type(module) is SliceLinear:
            module.__class__ = DynamicInt8Linear  # same Parameters, new forward
    sim.word.__class__ = QuantEmbedding
    sim.word.kind = "int8"
    return sim
