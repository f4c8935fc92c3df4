"""Fallback without custom ops: ternary FULLY_CONNECTED weights stored as int8 in the same op.

Each ternary weight row {-a_n, 0, +a_n} becomes int8 {-1, 0, 1} with per-channel scale a_n
(zero point 0, quantized_dimension 0), so the dequantized weight equals the ternary one
exactly; TFLite runs it as a dynamic-range (hybrid) FULLY_CONNECTED: float activations
quantized per row inside the op, no custom kernel needed. 4x the custom op's weight bytes.
The input is clipped to the trained 8-bit range, not rounded to its grid (clip_input.py).
"""

from __future__ import annotations

import numpy as np

from backends.tflite.ternary.clip_input import clip_instead_of_rounding
from backends.tflite.ternary.rewrite import RewriteResult, scan_ops
from backends.tflite.ternary.tflite_graph import drop_unused_tensors, load_model, save_model


def ternary_as_int8_fc(data: bytes) -> RewriteResult:
    from ai_edge_litert import schema_py_generated as schema

    model = load_model(data)
    graph = model.subgraphs[0]
    replaced, kept = [], []
    for index, op, match in scan_ops(model, graph, schema, kept):
        if match is None:
            continue
        found, col = match
        if col is not None:  # int8 per-channel scales are per row only: keep the folded weight in fp32
            kept.append(f"op {index}: weight has converter-scaled columns")
            continue
        weight = graph.tensors[op.inputs[1]]
        if sum(1 for t in graph.tensors if t.buffer == weight.buffer) > 1:
            kept.append(f"op {index}: weight buffer shared with another tensor")
            continue
        model.buffers[weight.buffer].data = np.ascontiguousarray(found.values, dtype=np.int8).view(np.uint8).ravel()
        weight.type = schema.TensorType.INT8
        quant = schema.QuantizationParametersT()
        quant.scale = found.scales.astype(np.float32)
        quant.zeroPoint = np.zeros(found.n, dtype=np.int64)
        quant.quantizedDimension = 0
        weight.quantization = quant
        op.builtinOptions.asymmetricQuantizeInputs = False  # symmetric per-row input quantization
        replaced.append(op)
    clip_instead_of_rounding(model, replaced)
    drop_unused_tensors(model)
    return RewriteResult(save_model(model), len(replaced), tuple(kept))
