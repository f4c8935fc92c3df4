"""What files with dynamic int8 activations compute, in PyTorch: their accuracy before any file
is lowered, and the reference the stock-runtime ternary files are verified against.

XNNPACK's and LiteRT's dynamic int8 kernels quantize each row (token) of a Linear's input at run
time, asymmetric: scale = (max - min) / 255 over the row (0 included), a zero point. Two kinds of
file do that, and the selector used to guess their accuracy:

- int8 files, the backends' post-training quantization of an fp32 slice, were credited with fp32
  minus the 1-point export gate, so every fp32 file outranked its int8 twin. `simulate_int8`
  runs an fp32 slice with per-row int8 weights and word table and per-token int8 Linear inputs
  (attention matmuls, softmax, LayerNorm and GELU in fp32, as in those files). Static int8 files
  calibrate one scale per tensor instead and can lose a little more; every file's own accuracy is
  still measured at export and gated at 1 point below its fp32 slice.
- ternary files for stock runtimes (ternary-int4 .pte, ternary-int8/int4 .tflite) keep the
  trained weights but not the trained static input scales: they clip each Linear input to the
  trained range [-127 s, 127 s] and quantize it per row at run time. They were credited with the
  QAT model's accuracy and failed their 0.2-point gate against it (-0.66 points on a quick
  slice). `simulate_dynamic_inputs` (a QAT model, for the table) and `dynamic_reference` (a
  frozen slice, what those files are verified against) compute that instead.
"""

import copy

import torch
from torch import nn

from exporter.compress.freeze import FrozenLinear
from exporter.compress.quant import QuantEmbedding, QuantLinear, int8_rows
from exporter.model.encoder import Encoder, SliceLinear

INT8_HOW = ("fp32 slice simulated in PyTorch with int8 per-row weights and word table and per-token "
            "dynamic int8 Linear inputs; each file's own accuracy is measured at export")
TERNARY_HOW = ("ternary slice simulated in PyTorch with each Linear input clipped to its trained range and "
               "quantized per token at run time, as the stock-runtime ternary files do")


def int8_per_token(x: torch.Tensor) -> torch.Tensor:
    """Asymmetric int8 fake quantization with one scale and zero point per token (last dim), the
    range widened to hold 0 as XNNPACK's dynamic quantization does."""
    lo = x.amin(-1, keepdim=True).clamp(max=0.0)
    hi = x.amax(-1, keepdim=True).clamp(min=0.0)
    scale = ((hi - lo) / 255.0).clamp(min=1e-12)
    zero = torch.round(-128.0 - lo / scale)
    # in place on one new tensor: the same values as the out-of-place chain, a fraction of the memory traffic
    return (x / scale).round_().add_(zero).clamp_(-128, 127).sub_(zero).mul_(scale)


def clipped_per_token(x: torch.Tensor, bound: float) -> torch.Tensor:
    """A trained static step's input as stock runtimes quantize it: clipped to its range [-127 s, 127 s]
    (`bound`), then per token. The table's rows and the files' reference both compute it here."""
    return int8_per_token(x.clamp(-bound, bound))


class ClippedDynamicInput(nn.Module):
    """In place of a trained static input quantizer (ActQuant of range `bound`): clipped_per_token."""

    def __init__(self, bound: float):
        super().__init__()
        self.bound = bound

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return clipped_per_token(x, self.bound)


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


def simulate_dynamic_inputs(model: Encoder) -> Encoder:
    """A copy of a ternary QAT `model` (still sliceable) whose Linear inputs are clipped to their
    trained ranges and quantized per token; weights, word table and attention matmuls unchanged."""
    if getattr(model, "quant_spec", None) is None or model.quant_spec.weights != "ternary":
        raise ValueError("simulate_dynamic_inputs takes a ternary quantization-aware model")
    sim = copy.deepcopy(model).eval()
    for module in sim.modules():
        if isinstance(module, QuantLinear) and module.act is not None:
            module.act = ClippedDynamicInput(float(module.act.range))
    return sim


class DynamicInputLinear(FrozenLinear):
    """A frozen Linear whose input is clipped to its trained range and quantized per token."""

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.input_scale is None else clipped_per_token(x, 127 * self.input_scale)


def dynamic_reference(frozen: Encoder) -> Encoder:
    """A copy of a frozen ternary slice (compress/freeze.py) computing what a stock-runtime ternary
    file computes: each Linear input clipped to [-127 s, 127 s] and quantized per token."""
    ref = copy.deepcopy(frozen).eval()
    for module in ref.modules():
        if type(module) is FrozenLinear:
            module.__class__ = DynamicInputLinear
    return ref
