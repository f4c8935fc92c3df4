"""The rewrite pass: FULLY_CONNECTED ops with ternary constant weights -> DYNAEDGE_TERNARY_FC.

Works on a converted .tflite flatbuffer with the schema's object API (ModelT), so it runs
after any converter. An FC is replaced when its weight is a constant float32 [N, K] tensor
holding only {-a_n, 0, +a_n} per row (blob.detect_ternary, exact), its bias (if any) is a
constant float32 [N] and it fuses no activation. The weight and bias tensors then have no
reader left and are dropped with their data, which is where the size goes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backends.executorch.ternary.blob import ActMode, ActivationQuant, TernaryLinearSpec, detect_ternary
from backends.tflite.ternary.column_scale import factor_column_scaled
from backends.tflite.ternary.payload import OP_NAME, pack_payload
from backends.tflite.ternary.tflite_graph import (constant, drop_unused_tensors, load_model, op_name, save_model,
                                                 tensor_type_name)


@dataclass(frozen=True)
class RewriteResult:
    data: bytes
    replaced: int  # FULLY_CONNECTED ops now DYNAEDGE_TERNARY_FC
    kept: tuple[str, ...]  # why each other FULLY_CONNECTED stayed, e.g. "op 12: weight not ternary"


def _custom_opcode(model, schema) -> int:
    for i, code in enumerate(model.operatorCodes):
        if code.customCode and code.customCode.decode() == OP_NAME:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = OP_NAME
    code.version = 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _why_not(model, graph, op, schema, producers: dict) -> str | tuple[TernaryLinearSpec, np.ndarray | None]:
    """(the ternary Linear behind `op`, column scales to apply first or None), or why not.
    `producers`: tensor index -> the operator writing it."""
    opts = op.builtinOptions
    if opts is not None and opts.fusedActivationFunction != schema.ActivationFunctionType.NONE:
        return "fused activation"
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        return "no weight input"
    weight = constant(model, graph, op.inputs[1])
    if weight is None or weight.dtype != np.float32 or weight.ndim != 2:
        return "weight is not a constant float32 matrix"
    found = detect_ternary(weight)
    col = None
    if found is None:
        factored = factor_column_scaled(weight)
        if factored is None:
            return "weight not ternary (nor ternary with scaled columns)"
        found, col = factored[:2], factored[2]
    bias = None
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = constant(model, graph, op.inputs[2])
        if bias is None or bias.dtype != np.float32 or bias.shape != (weight.shape[0],):
            return "bias is not a constant float32 vector"
    values, scales = found
    scale = None if col is not None else _dequantized_input_scale(model, graph, op, producers)
    act = ActivationQuant() if scale is None else ActivationQuant(ActMode.STATIC_PER_TENSOR, scale, -128, 127)
    return TernaryLinearSpec(values, scales, bias, act), col


def _dequantized_input_scale(model, graph, op, producers: dict) -> float | None:
    """The scale s when the FC input is DEQUANTIZE(int8, s, zero point 0), as a frozen QAT model's
    8-bit activations lower: the kernel then quantizes with s and gets the int8 values back exactly
    (dynamic per-row quantization would round them again). Like the ExecuTorch partitioner's rule."""
    other = producers.get(int(op.inputs[0]))
    # The converter may put value-preserving reshapes between the DEQUANTIZE and the FC.
    while other is not None and op_name(model, other) in VALUE_PRESERVING:
        other = producers.get(int(other.inputs[0]))
    if other is None or op_name(model, other) != "DEQUANTIZE" or \
            tensor_type_name(graph.tensors[other.inputs[0]]) != "INT8":
        return None
    q = graph.tensors[other.inputs[0]].quantization
    if q is None or q.scale is None or len(q.scale) != 1 or (q.zeroPoint is not None and any(q.zeroPoint)):
        return None
    scale = float(q.scale[0])
    return scale if np.isfinite(scale) and scale > 0 else None


VALUE_PRESERVING = ("RESHAPE", "TRANSPOSE", "SQUEEZE", "EXPAND_DIMS")


def scan_ops(model, graph, schema, kept: list[str]):
    """Every operator in order as (index, op, match): match = (TernaryLinearSpec, column scale or
    None) for a FULLY_CONNECTED with ternary weights, else None; why each other FULLY_CONNECTED is
    not ternary is appended to `kept`. Shared by the rewrite and both fallbacks."""
    # Built once from the converted graph: the callers' edits (MULs before column-scaled FCs, whose
    # input scale is not looked up) do not change who writes an FC's input.
    producers = {int(t): other for other in graph.operators for t in (other.outputs if other.outputs is not None
                                                                       else ())}
    for index, op in enumerate(graph.operators):
        match = None
        if op_name(model, op) == "FULLY_CONNECTED":
            found = _why_not(model, graph, op, schema, producers)
            if isinstance(found, str):
                kept.append(f"op {index}: {found}")
            else:
                match = found
        yield index, op, match


def rewrite_ternary_fc(data: bytes) -> RewriteResult:
    from ai_edge_litert import schema_py_generated as schema

    model = load_model(data)
    graph = model.subgraphs[0]
    custom = None
    replaced, kept, operators = 0, [], []
    for index, op, match in scan_ops(model, graph, schema, kept):
        operators.append(op)
        if match is None:
            continue
        found, col = match
        if col is not None:
            operators.insert(len(operators) - 1, _scale_input(model, graph, op, col, schema))
        keep_dims = bool(op.builtinOptions.keepNumDims) if op.builtinOptions is not None else False
        custom = _custom_opcode(model, schema) if custom is None else custom
        op.opcodeIndex = custom
        op.inputs = np.array([op.inputs[0]], dtype=np.int32)
        op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.NONE, None
        op.customOptions = np.frombuffer(pack_payload(found, keep_dims), dtype=np.uint8)
        op.customOptionsFormat = schema.CustomOptionsFormat.FLEXBUFFERS  # the schema's only value; raw bytes here
        replaced += 1
    graph.operators = operators
    drop_unused_tensors(model)
    return RewriteResult(save_model(model), replaced, tuple(kept))


def _scale_input(model, graph, op, col: np.ndarray, schema):
    """A MUL op computing op's input * col (undoing the converter's fold); rewires op to read it."""
    source = graph.tensors[op.inputs[0]]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(col.astype("<f4").tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)
    scale = schema.TensorT()
    scale.shape, scale.type, scale.buffer = np.array([len(col)], dtype=np.int32), schema.TensorType.FLOAT32, len(model.buffers) - 1
    scale.name = (source.name or b"") + b"/dynaedge_column_scale"
    scaled = schema.TensorT()
    scaled.shape, scaled.type, scaled.buffer = np.array(source.shape, dtype=np.int32), schema.TensorType.FLOAT32, 0
    scaled.name = (source.name or b"") + b"/dynaedge_scaled"
    graph.tensors += [scale, scaled]
    mul = schema.OperatorT()
    mul.opcodeIndex = _builtin_opcode(model, schema, schema.BuiltinOperator.MUL)
    mul.inputs = np.array([op.inputs[0], len(graph.tensors) - 2], dtype=np.int32)
    mul.outputs = np.array([len(graph.tensors) - 1], dtype=np.int32)
    mul.builtinOptionsType, mul.builtinOptions = schema.BuiltinOptions.MulOptions, schema.MulOptionsT()
    op.inputs = np.array([len(graph.tensors) - 1] + list(op.inputs[1:]), dtype=np.int32)
    return mul


def _builtin_opcode(model, schema, builtin: int) -> int:
    for i, code in enumerate(model.operatorCodes):
        if not code.customCode and max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            return i
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1
