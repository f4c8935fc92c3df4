"""Read a .tflite flatbuffer's op list (op counts for the manifest, ops left in float)."""

from collections import Counter

_QUANT_TYPES = {"INT8", "UINT8", "INT16", "INT32", "INT4"}
# Ops that move or reshape data: running them on float tensors costs nothing worth reporting.
_LAYOUT_OPS = {"RESHAPE", "TRANSPOSE", "GATHER", "SLICE", "STRIDED_SLICE", "CONCATENATION", "CAST", "QUANTIZE",
               "DEQUANTIZE", "EMBEDDING_LOOKUP", "SQUEEZE", "EXPAND_DIMS", "BROADCAST_TO"}


def _ops(data: bytes):
    """(op name, [input tensor types]) for every op of subgraph 0."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    graph = model.subgraphs[0]
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        name = (code.customCode.decode() if code.customCode else names.get(builtin, str(builtin)))
        yield name, [types[graph.tensors[i].type] for i in op.inputs if i >= 0]


def op_counts(data: bytes) -> dict[str, int]:
    return {"tflite:" + k: v for k, v in sorted(Counter(name for name, _ in _ops(data)).items())}


def _compute_ops(data: bytes, first_input) -> dict[str, int]:
    left = Counter(name for name, ins in _ops(data)
                   if name not in _LAYOUT_OPS and ins and first_input(ins[0]))
    return dict(sorted(left.items()))


def float_ops(data: bytes) -> dict[str, int]:
    """Compute ops whose first input is not a quantized type (what full-integer left in float)."""
    return _compute_ops(data, lambda t: t not in _QUANT_TYPES)


def int16_ops(data: bytes) -> dict[str, int]:
    """Compute ops on 16-bit activations (int16 x int8 kernels: integer, slower than int8)."""
    return _compute_ops(data, lambda t: t == "INT16")
