"""precision "ternary" on TFLite: fp32 conversion of an already-ternary model + the rewrite pass.

The model's Linear weights must already be ternary per row (TWN / ternary QAT); litert-torch
converts it in fp32 and rewrite.py swaps each ternary FULLY_CONNECTED for DYNAEDGE_TERNARY_FC
(int8 activations quantized per row at run time, 2-bit weights). Option custom_ops="off"
(variant ternary-int8) stores the same values as int8 in standard FULLY_CONNECTED ops instead,
custom_ops="int4" as per-channel int4 through ai-edge-quantizer (half the weight bytes).
"""

from __future__ import annotations

import torch

from backends.base import LowerSpec, Lowered
from backends.tflite.inspect import op_counts
from exporter.errors import unknown_choice

CUSTOM_OPS = ("on", "off", "int4")


def lower_ternary(model: torch.nn.Module, spec: LowerSpec) -> Lowered:
    import litert_torch

    mode = spec.option("custom_ops", "on")
    if mode not in CUSTOM_OPS:
        raise unknown_choice("custom_ops", mode, CUSTOM_OPS)
    fp32 = litert_torch.convert(model.eval(), spec.example_inputs()).model_content()
    if mode == "off":
        from backends.tflite.ternary.int8_fc import ternary_as_int8_fc

        result = ternary_as_int8_fc(fp32)
        why = ("int8 fallback (variant ternary-int8): ternary weights stored as int8 {-1,0,1} with per-channel "
               f"scale alpha_n in standard FULLY_CONNECTED ({result.replaced} ops)")
        scheme = "ternary values as per-channel int8 weights, float activations (dynamic-range FULLY_CONNECTED)"
        return Lowered(result.data, "tflite", "ternary", scheme, op_counts(result.data), (why,) + _kept(result.kept))
    if mode == "int4":
        from backends.tflite.ternary.int4_fc import ternary_as_int4_fc

        result = ternary_as_int4_fc(fp32)
        why = ("custom ops off (int4 fallback): ternary weights stored as per-channel int4 through "
               f"ai-edge-quantizer in standard FULLY_CONNECTED ({result.replaced} ops)")
        scheme = ("ternary values as per-channel int4 weights {-7,0,7} x alpha_n/7 (ai-edge-quantizer "
                  "dynamic_wi4c_afp32), float activations (dynamic-range FULLY_CONNECTED)")
        return Lowered(result.data, "tflite", "ternary", scheme, op_counts(result.data), (why,) + _kept(result.kept))
    from backends.tflite.ternary.rewrite import rewrite_ternary_fc

    result = rewrite_ternary_fc(fp32)
    if result.replaced == 0:
        raise ValueError("no FULLY_CONNECTED op has ternary weights; ternarize the model's Linear layers first "
                         f"(kept: {', '.join(result.kept[:3])})")
    scheme = ("DYNAEDGE_TERNARY_FC custom op: 2-bit ternary weights, per-row scales, int8 activations "
              "quantized per row at run time (needs the kernel registered through LiteRT's C API)")
    return Lowered(result.data, "tflite", "ternary", scheme, op_counts(result.data), _kept(result.kept))


def _kept(kept: tuple[str, ...]) -> tuple[str, ...]:
    return (f"FULLY_CONNECTED left in fp32: {'; '.join(kept)}",) if kept else ()
