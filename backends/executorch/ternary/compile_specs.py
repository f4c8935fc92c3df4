"""Activation quantization <-> ExecuTorch CompileSpecs, the channel from the
partitioner (which knows the graph) to preprocess (which writes the blob)."""

from __future__ import annotations

import struct

import torch
from executorch.exir.backend.compile_spec_schema import CompileSpec

from .blob import ActivationQuant, ActMode

_KEYS = ("act_mode", "act_scale", "act_qmin", "act_qmax", "rtol")


def encode(act: ActivationQuant, rtol: float) -> list[CompileSpec]:
    """rtol travels too, so preprocess re-detects the weight exactly as the partitioner did."""
    return [
        CompileSpec("act_mode", struct.pack("<B", int(act.mode))),
        CompileSpec("act_scale", struct.pack("<f", act.scale)),
        CompileSpec("act_qmin", struct.pack("<h", act.qmin)),
        CompileSpec("act_qmax", struct.pack("<h", act.qmax)),
        CompileSpec("rtol", struct.pack("<d", rtol)),
    ]


def decode(specs: list[CompileSpec]) -> tuple[ActivationQuant, float]:
    values = {s.key: s.value for s in specs}
    missing = [k for k in _KEYS if k not in values]
    if missing:
        raise ValueError(f"DynaedgeTernaryBackend compile specs lack {missing}; got {sorted(values)}")
    act = ActivationQuant(
        mode=ActMode(struct.unpack("<B", values["act_mode"])[0]),
        scale=struct.unpack("<f", values["act_scale"])[0],
        qmin=struct.unpack("<h", values["act_qmin"])[0],
        qmax=struct.unpack("<h", values["act_qmax"])[0],
    )
    return act, struct.unpack("<d", values["rtol"])[0]


def static_from_dequantize(x: object) -> ActivationQuant | None:
    """A Linear whose input is dequantize_per_tensor(int8, zero point 0) saw
    8-bit activations during training: reuse that scale. The q/dq pair stays
    outside the delegate; re-quantizing q * scale with the same scale gives
    back q exactly, so the result is unchanged."""
    if not isinstance(x, torch.fx.Node) or "dequantize_per_tensor" not in str(x.target):
        return None
    args = list(x.args) + [None] * 6
    _, scale, zero_point, qmin, qmax, dtype = args[:6]
    if not isinstance(scale, float) or zero_point != 0 or dtype != torch.int8:
        return None
    if not (isinstance(qmin, int) and isinstance(qmax, int) and -128 <= qmin < 0 < qmax <= 127):
        return None
    return ActivationQuant(ActMode.STATIC_PER_TENSOR, float(scale), qmin, qmax)
