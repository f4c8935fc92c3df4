"""Fallback without custom ops, 4-bit: ternary FULLY_CONNECTED weights as per-channel int4 (ai-edge-quantizer).

Why: half the bytes of the int8 fallback, and the stock LiteRT interpreter (and XNNPACK) runs
a FULLY_CONNECTED with INT4 per-channel weights as dynamic-range (float activations quantized
per row inside the op), so nothing has to be registered. Exact: ai-edge-quantizer's symmetric
per-channel int4 scale is max|w_n| / 7 = a_n / 7, so row n is stored as {-7, 0, 7} and
dequantizes to {-a_n, 0, a_n} up to one float32 rounding. A weight the converter scaled per
column by LayerNorm's gamma (W = diag(a)·T·diag(g)) gets the custom-op path's treatment: a MUL
by g in front, diag(a)·T in the FC. Only the ternary FCs are quantized (the recipe's regex names
their scopes); every other op stays as converted and is reported.
"""

from __future__ import annotations

import re

import numpy as np

from backends.tflite.ternary.clip_input import clip_instead_of_rounding
from backends.tflite.ternary.rewrite import RewriteResult, _scale_input, scan_ops
from backends.tflite.ternary.tflite_graph import drop_unused_tensors, load_model, op_name, save_model, tensor_type_name


def ternary_as_int4_fc(data: bytes) -> RewriteResult:
    from ai_edge_litert import schema_py_generated as schema

    model = load_model(data)
    graph = model.subgraphs[0]
    replaced, kept, operators = [], [], []
    for index, op, match in scan_ops(model, graph, schema, kept):
        operators.append(op)
        if match is None:
            continue
        found, col = match
        weight = graph.tensors[op.inputs[1]]
        if sum(1 for t in graph.tensors if t.buffer == weight.buffer) > 1:
            kept.append(f"op {index}: weight buffer shared with another tensor")
            continue
        if col is not None:  # undo the converter's column fold so each row is ternary again
            operators.insert(len(operators) - 1, _scale_input(model, graph, op, col, schema))
            for tensor in graph.tensors[-2:]:  # the quantizer wants unique names; q, k, v share their input
                tensor.name += f"/op{index}".encode()
            ternary = found.values.astype(np.float32) * found.scales.astype(np.float32)[:, None]
            model.buffers[weight.buffer].data = np.frombuffer(ternary.astype("<f4").tobytes(), dtype=np.uint8)
        replaced.append(op)
    graph.operators = operators
    clip_instead_of_rounding(model, replaced)  # one rounding per input, per row (clip_input.py)
    drop_unused_tensors(model)
    if not replaced:
        return RewriteResult(save_model(model), 0, tuple(kept))
    quantized = _quantize(save_model(model), [_scope(op, graph.tensors) for op in replaced])
    return RewriteResult(quantized, _check_int4(quantized, len(replaced)), tuple(kept))


def _scope(op, tensors) -> str:
    from ai_edge_quantizer.utils.tfl_flatbuffer_utils import get_op_scope

    return get_op_scope(op, tensors)  # how the quantizer names an op for the recipe's regex


def _quantize(data: bytes, scopes: list[str]) -> bytes:
    from ai_edge_quantizer import qtyping, recipe

    from backends.tflite.backend import apply_quantizer_recipe

    regex = "^(?:" + "|".join(re.escape(s) for s in sorted(set(scopes))) + ")$"
    return apply_quantizer_recipe(data, recipe.dynamic_wi4c_afp32(regex=regex,
                                                                  operation_name=qtyping.TFLOperationName.FULLY_CONNECTED))


def _check_int4(data: bytes, wanted: int) -> int:
    """Number of FULLY_CONNECTED ops with an INT4 weight; an error if the quantizer skipped one."""
    model = load_model(data)
    graph = model.subgraphs[0]
    got = sum(1 for op in graph.operators if op_name(model, op) == "FULLY_CONNECTED"
              and tensor_type_name(graph.tensors[op.inputs[1]]) == "INT4")
    if got != wanted:
        raise RuntimeError(f"ai-edge-quantizer stored {got} of {wanted} ternary FULLY_CONNECTED weights as int4")
    return got
