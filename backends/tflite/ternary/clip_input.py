"""Stock-runtime ternary fallbacks: clip a ternary FULLY_CONNECTED's input to the trained 8-bit
range instead of rounding it to the trained grid.

Why: the frozen QAT model reaches the FC as QUANTIZE(int8, s) -> DEQUANTIZE -> FC. A dynamic-range
(hybrid) FC then quantizes that input per row again, on a grid of about the same step that is not
aligned with the trained one: two roundings per value. On the quick recipe's slice that cost 0.47
dev points against PyTorch (the 0.2 ternary-fallback gate failed); one rounding, on the per-row
grid after clipping to [-127 s, 127 s] (what the trained step clips to), is what ExecuTorch's
ternary-int4 file does too (backends/executorch/ternary_int4.py).

    clipped = clip_instead_of_rounding(model, fcs)   # on a schema ModelT, before saving
"""

from __future__ import annotations

import numpy as np

from backends.tflite.ternary.tflite_graph import op_name, tensor_type_name

QMAX = 127  # the trained 8-bit step is symmetric: [-127 s, 127 s] (exporter/compress/freeze.py)


def clip_instead_of_rounding(model, fcs: list) -> int:
    """Rewire each FC of `fcs` whose input is DEQUANTIZE(QUANTIZE(x) int8, scale s, zero point 0)
    to read min(max(x, -127 s), 127 s); the QUANTIZE / DEQUANTIZE left without readers are removed.
    Returns how many FCs were rewired (FCs of another form are left as they are)."""
    from ai_edge_litert import schema_py_generated as schema

    graph = model.subgraphs[0]
    producers = {int(t): op for op in graph.operators for t in op.outputs}
    clipped: dict[tuple[int, float], int] = {}  # (x, s) -> clipped tensor: Q, K and V share one input
    operators, done = [], 0
    wanted = {id(fc) for fc in fcs}
    for op in graph.operators:
        if id(op) in wanted:
            found = _rounded_input(graph, producers, op, model)
            if found is not None:
                if found not in clipped:
                    new_ops, clipped[found] = _clip(model, graph, schema, *found)
                    operators += new_ops
                op.inputs = np.array([clipped[found]] + list(op.inputs[1:]), dtype=np.int32)
                done += 1
        operators.append(op)
    graph.operators = operators
    _drop_dead(model, graph, ("QUANTIZE", "DEQUANTIZE"))
    return done


def _rounded_input(graph, producers: dict, fc, model) -> tuple[int, float] | None:
    """(x, s) when fc's input is DEQUANTIZE(QUANTIZE(x)) with an int8 per-tensor scale s, zero point 0."""
    dq = producers.get(int(fc.inputs[0]))
    if dq is None or op_name(model, dq) != "DEQUANTIZE":
        return None
    q_out = graph.tensors[int(dq.inputs[0])]
    q = producers.get(int(dq.inputs[0]))
    if q is None or op_name(model, q) != "QUANTIZE" or tensor_type_name(q_out) != "INT8":
        return None
    params = q_out.quantization
    if params is None or params.scale is None or len(params.scale) != 1 or \
            (params.zeroPoint is not None and any(params.zeroPoint)):
        return None
    x = int(q.inputs[0])
    if tensor_type_name(graph.tensors[x]) != "FLOAT32":
        return None
    return x, float(params.scale[0])


def _scalar(model, graph, schema, value: float, name: bytes) -> int:
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(np.float32(value).tobytes(), dtype=np.uint8)
    model.buffers.append(buffer)
    tensor = schema.TensorT()
    tensor.shape, tensor.type, tensor.buffer, tensor.name = (np.array([], dtype=np.int32), schema.TensorType.FLOAT32,
                                                             len(model.buffers) - 1, name)
    graph.tensors.append(tensor)
    return len(graph.tensors) - 1


def _clip(model, graph, schema, x: int, scale: float) -> tuple[list, int]:
    """MAXIMUM(x, -127 s) -> MINIMUM(., 127 s): the ops and the clipped tensor."""
    from backends.tflite.ternary.rewrite import _builtin_opcode

    source = graph.tensors[x]
    base = source.name or b"x"
    lo = _scalar(model, graph, schema, -QMAX * scale, base + b"/dynaedge_clip_lo")
    hi = _scalar(model, graph, schema, QMAX * scale, base + b"/dynaedge_clip_hi")
    ops, current = [], x
    for builtin, bound, suffix in ((schema.BuiltinOperator.MAXIMUM, lo, b"/dynaedge_clip_max"),
                                   (schema.BuiltinOperator.MINIMUM, hi, b"/dynaedge_clip")):
        out = schema.TensorT()
        out.shape = np.array(source.shape, dtype=np.int32)
        out.shapeSignature = None if source.shapeSignature is None else np.array(source.shapeSignature, dtype=np.int32)
        out.type, out.buffer, out.name = schema.TensorType.FLOAT32, 0, base + suffix
        graph.tensors.append(out)
        op = schema.OperatorT()
        op.opcodeIndex = _builtin_opcode(model, schema, builtin)
        op.inputs = np.array([current, bound], dtype=np.int32)
        op.outputs = np.array([len(graph.tensors) - 1], dtype=np.int32)
        op.builtinOptionsType = schema.BuiltinOptions.MaximumMinimumOptions
        op.builtinOptions = schema.MaximumMinimumOptionsT()
        ops.append(op)
        current = len(graph.tensors) - 1
    return ops, current


def _drop_dead(model, graph, kinds: tuple[str, ...]) -> None:
    """Remove ops of `kinds` whose outputs nothing reads, until none is left (a DEQUANTIZE first,
    then the QUANTIZE it read)."""
    while True:
        read = {int(t) for op in graph.operators for t in op.inputs if t >= 0} | {int(t) for t in graph.outputs}
        dead = [op for op in graph.operators
                if op_name(model, op) in kinds and not any(int(t) in read for t in op.outputs)]
        if not dead:
            return
        graph.operators = [op for op in graph.operators if all(op is not d for d in dead)]
