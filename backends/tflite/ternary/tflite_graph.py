"""Small helpers over the .tflite schema's object API (ai_edge_litert.schema_py_generated)."""

from __future__ import annotations

import numpy as np

_NUMPY = {"FLOAT32": np.float32, "INT8": np.int8, "INT32": np.int32, "UINT8": np.uint8, "INT64": np.int64,
          "FLOAT16": np.float16, "INT16": np.int16}


def load_model(data: bytes):
    from ai_edge_litert import schema_py_generated as schema

    return schema.ModelT.InitFromObj(schema.Model.GetRootAs(data, 0))


def save_model(model) -> bytes:
    import flatbuffers

    if any(b.offset for b in model.buffers):
        raise ValueError("model keeps buffers outside the flatbuffer (> 2 GB layout); not supported by this pass")
    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")  # the .tflite identifier
    return bytes(builder.Output())


def op_name(model, op) -> str:
    from ai_edge_litert import schema_py_generated as schema

    code = model.operatorCodes[op.opcodeIndex]
    if code.customCode:
        return code.customCode.decode()
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}.get(builtin, str(builtin))


def tensor_type_name(tensor) -> str:
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}[tensor.type]


def constant(model, graph, index: int) -> np.ndarray | None:
    """The constant data of tensor `index`, or None if it is not a constant."""
    tensor = graph.tensors[index]
    buffer = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
    if buffer is None or buffer.data is None or len(buffer.data) == 0:
        return None
    shape = tuple(int(d) for d in (tensor.shape if tensor.shape is not None else ()))
    raw = np.asarray(buffer.data, dtype=np.uint8)
    if tensor_type_name(tensor) == "INT4":  # two per byte, element 2i in the low nibble; as int8
        nibbles = np.stack([raw & 0x0F, raw >> 4], axis=-1).ravel()[:int(np.prod(shape))].astype(np.int8)
        return np.where(nibbles > 7, nibbles - 16, nibbles).astype(np.int8).reshape(shape)
    dtype = _NUMPY.get(tensor_type_name(tensor))
    if dtype is None:
        return None
    return np.frombuffer(raw.tobytes(), dtype=dtype).reshape(shape)


def drop_unused_tensors(model) -> None:
    """Remove tensors no op, graph input/output or signature reads; empty buffers only they used."""
    graph = model.subgraphs[0]
    used = set(int(i) for op in graph.operators for i in list(op.inputs) + list(op.outputs) if i >= 0)
    used |= set(int(i) for i in graph.inputs) | set(int(i) for i in graph.outputs)
    keep = [i for i in range(len(graph.tensors)) if i in used]
    remap = {old: new for new, old in enumerate(keep)}
    still_read = {graph.tensors[i].buffer for i in keep}
    for i in range(len(graph.tensors)):
        b = graph.tensors[i].buffer
        if i not in used and b not in still_read and b != 0:
            model.buffers[b].data = None  # buffer 0 is the schema's empty sentinel
    graph.tensors = [graph.tensors[i] for i in keep]

    def re(indices):
        return np.array([remap[int(i)] if i >= 0 else -1 for i in indices], dtype=np.int32)

    for op in graph.operators:
        op.inputs, op.outputs = re(op.inputs), re(op.outputs)
        if op.intermediates is not None and len(op.intermediates):
            op.intermediates = re(op.intermediates)
    graph.inputs, graph.outputs = re(graph.inputs), re(graph.outputs)
    for sig in model.signatureDefs or []:
        for t in list(sig.inputs or []) + list(sig.outputs or []):
            t.tensorIndex = remap[int(t.tensorIndex)]
