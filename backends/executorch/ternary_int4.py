"""Ternary Linears as XNNPACK 4-bit per-channel weights with dynamic int8 activations: a ternary
.pte that the stock ExecuTorch runtime runs (XNNPACK + portable kernels, no custom delegate).

    edge = lower_ternary_int4(frozen, (ids, mask))   # EdgeProgramManager; count_delegated_ops(edge)
    pte = edge.to_executorch().buffer
    int4_linear_weights(pte)                         # the 4-bit weights read back from the file

ExecuTorchBackend calls it for option ternary_storage=int4, on the model with its LayerNorms
rewritten for XNNPACK and with the edge passes of the fp32/int8 files (layer_norm.py, passes.py).

Weights, exactly: a frozen ternary row is alpha_n * t with t in {-1, 0, 1} (freeze_ternary). It is
stored as int4 codes 7t with the per-row scale alpha_n / 7, both set here from the weight itself.
A min/max observer on [-8, 7] would pick alpha / 7.5 and clamp the codes to 7, shrinking every
weight by 7/7.5. The graph holds `quantized_decomposed.dequantize_per_channel(codes, scale, 0,
axis 0, -8, 7, int8)`, which XNNPACK stores as its channelwise 4-bit type (qcint4, two codes per
byte, fp32 scales). torchao's Int8DynamicActivationIntxWeightConfig(int4, PerAxis(0)) reaches
XNNPACK as one block of K per row (qbint4), whose scales are stored as bfloat16: not exact.

Activations: each ternary Linear's input passes through choose_qparams / quantize / dequantize,
the graph pt2e's dynamic XNNPACKQuantizer config writes; XNNPACK fuses it into the Linear and
quantizes per row at run time (the "qd8-f32-qc4w" GEMM). Of the trained static 8-bit step in front
(freeze.py) only its clipping range [-127 s, 127 s] is kept, as a clamp: rounding to the trained
grid and then again to the dynamic grid (a step of about s, not aligned with it) added two rounding
errors per value and cost the quick slice 0.47 dev points against PyTorch; one rounding on the
dynamic grid costs 0.19 (both measured on all dev sentences, 2026-12-06), within the 0.2 gate.

Word table: the frozen model's PackedTernaryEmbedding (2 bits per value + an fp32 scale per row,
unpacked by two gathers, row copies on portable kernels) stays as it is: 4x smaller than int8 rows.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from backends.executorch.ternary.blob import detect_ternary

CODE = 7                    # t in {-1, 0, 1} -> code 7t, so the scale alpha / 7 is one float division
QMIN, QMAX = -8, 7          # the int4 range XNNPACK recognises as 4-bit weights (quant_params.is_qc4w)
ACT_QMIN, ACT_QMAX = -128, 127
ACT_EPS = 2.0 ** -12        # what pt2e's dynamic int8 config passes to choose_qparams
SCHEME = ("ternary weights as XNNPACK 4-bit per-channel codes {-7, 0, 7} with scale alpha/7 (exact), dynamic "
          "int8 activations per row, clipped to the trained 8-bit range (qd8-f32-qc4w); word table 2-bit packed; "
          "stock ExecuTorch runtime, no custom delegate")


def _ops():
    import torch.ao.quantization.fx._decomposed  # noqa: F401  registers torch.ops.quantized_decomposed
    return torch.ops.quantized_decomposed


def int4_codes(weight: torch.Tensor, name: str = "weight") -> tuple[torch.Tensor, torch.Tensor]:
    """(codes int8 [N, K] in {-7, 0, 7}, scale float32 [N] = alpha / 7) of an exactly ternary weight."""
    found = detect_ternary(weight.detach().to(torch.float32).numpy(), rtol=0.0)
    if found is None:
        raise ValueError(f"{name} is not ternary per row (each row must hold only -a, 0, +a); "
                         "freeze the quantization-aware model with freeze_ternary before lowering")
    values, alpha = found
    return torch.from_numpy(values) * CODE, torch.from_numpy(alpha) / CODE


def dynamic_qdq(x: torch.Tensor) -> torch.Tensor:
    """Dynamic int8 quantize-dequantize, as pt2e's dynamic XNNPACK config writes it (per row on XNNPACK)."""
    ops = _ops()
    scale, zero_point = ops.choose_qparams.tensor(x, ACT_QMIN, ACT_QMAX, ACT_EPS, torch.int8)
    q = ops.quantize_per_tensor.tensor(x, scale, zero_point, ACT_QMIN, ACT_QMAX, torch.int8)
    return ops.dequantize_per_tensor.tensor(q, scale, zero_point, ACT_QMIN, ACT_QMAX, torch.int8)


class Int4TernaryLinear(nn.Module):
    """A ternary Linear as int4 codes + per-row scale, with a dynamic int8 input. Same call as SliceLinear."""

    def __init__(self, linear: nn.Linear, name: str = "linear"):
        super().__init__()
        codes, scale = int4_codes(linear.weight, f"{name}.weight")
        self.out_features, self.in_features = codes.shape
        self.register_buffer("codes", codes.contiguous())
        self.register_buffer("scale", scale.contiguous())
        self.register_buffer("zero_point", torch.zeros(len(scale), dtype=torch.int64))
        self.bias = None if linear.bias is None else nn.Parameter(linear.bias.detach().clone(), requires_grad=False)
        # FrozenLinear's trained 8-bit step; only its range is used (one rounding: see the docstring)
        self.input_scale: float | None = getattr(linear, "input_scale", None)

    def dequantized_weight(self) -> torch.Tensor:
        return _ops().dequantize_per_channel(self.codes, self.scale, self.zero_point, 0, QMIN, QMAX, torch.int8)

    def forward(self, x: torch.Tensor, rows: int | None = None, cols: int | None = None) -> torch.Tensor:
        assert rows in (None, self.out_features) and cols in (None, self.in_features), "a frozen Linear runs whole"
        if self.input_scale is not None:
            x = torch.clamp(x, -127 * self.input_scale, 127 * self.input_scale)
        return F.linear(dynamic_qdq(x), self.dequantized_weight(), self.bias)


def with_int4_linears(model: nn.Module) -> tuple[nn.Module, list[str]]:
    """A copy of `model` whose exactly-ternary Linears are Int4TernaryLinear; returns it and their names.
    Other Linears (the fp32 classifier) are left as they are."""
    model = copy.deepcopy(model).eval()
    names = [name for name, m in model.named_modules()
             if isinstance(m, nn.Linear) and detect_ternary(m.weight.detach().numpy(), rtol=0.0) is not None]
    if not names:
        raise ValueError("no Linear with ternary weights found; lower a frozen ternary model (freeze_ternary)")
    for name in names:
        parent, _, attr = name.rpartition(".")
        owner = model.get_submodule(parent) if parent else model
        setattr(owner, attr, Int4TernaryLinear(getattr(owner, attr), name))
    return model, names


def lower_ternary_int4(model: nn.Module, example_inputs: tuple[Any, ...], transform_passes: Sequence = (),
                       dynamic_shapes: Any = None, constant_methods: dict | None = None):
    """torch.export + XNNPACK of `with_int4_linears(model)`; returns the EdgeProgramManager.
    `transform_passes`: edge passes to run before partitioning (as to_edge_transform_and_lower takes them);
    `dynamic_shapes` and `constant_methods` as torch.export and to_edge_transform_and_lower take them.
    Raises if XNNPACK did not take every ternary Linear as a 4-bit x dynamic int8 FullyConnected."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    int4, names = with_int4_linears(model)
    program = torch.export.export(int4, example_inputs, dynamic_shapes=dynamic_shapes, strict=False)
    edge = to_edge_transform_and_lower(program, transform_passes=list(transform_passes) or None,
                                       partitioner=[XnnpackPartitioner()], constant_methods=constant_methods)
    found = int4_linear_count(edge)
    if found != len(names):
        raise RuntimeError(f"XNNPACK took {found} of {len(names)} ternary Linears as 4-bit weights with dynamic "
                           f"int8 inputs (qd8-f32-qc4w); the rest would run in fp32 or on portable kernels")
    return edge


def _xnn_graph(payload: bytes) -> dict:
    """An XNNPACK delegate payload (header + flatbuffer) as the schema's JSON."""
    import json
    import re
    import tempfile
    from pathlib import Path

    from executorch.backends.xnnpack.serialization.xnnpack_graph_serialize import XNNHeader, _get_schema_bytes
    from executorch.exir._serialize._flatbuffer import _flatc_decompile

    header = XNNHeader.from_bytes(payload[:XNNHeader.EXPECTED_LENGTH])
    flatbuffer = payload[header.flatbuffer_offset:header.flatbuffer_offset + header.flatbuffer_size]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "schema.fbs").write_bytes(_get_schema_bytes())
        Path(tmp, "graph.bin").write_bytes(flatbuffer)
        _flatc_decompile(tmp, str(Path(tmp, "schema.fbs")), str(Path(tmp, "graph.bin")))
        text = Path(tmp, "graph.json").read_bytes()
    return json.loads(re.sub(rb":\s*(-?(?:inf|nan))\b", rb': "\1"', text))  # flatc writes bare inf (output clamps)


def quantized_fully_connected(graph: dict, weight_type: str = "xnn_datatype_qcint4") -> list[dict]:
    """The filter values of FullyConnected nodes with a dynamic int8 input (qdint8) whose weights are
    of `weight_type` (default: 4-bit channelwise, qcint4)."""
    values = {}
    for value in graph["xvalues"]:
        union = value["xvalue_union"]
        values[union.get("tensor_value", union)["id_out"]] = union
    found = []
    for node in graph["xnodes"]:
        if node["xnode_union_type"] == "XNNFullyConnected":
            fc = node["xnode_union"]
            weight, x = values[fc["filter_id"]], values[fc["input1_id"]]
            if (weight.get("tensor_value", weight)["datatype"] == weight_type
                    and x.get("tensor_value", x)["datatype"] == "xnn_datatype_qdint8"):
                found.append(weight)
    return found


def int4_linear_count(edge) -> int:
    """FullyConnected nodes XNNPACK runs with 4-bit channelwise weights and dynamic int8 inputs."""
    from executorch.exir.delegate import executorch_call_delegate

    gm = edge.exported_program().graph_module
    lowered = [getattr(gm, n.args[0].target) for n in gm.graph.nodes if n.target is executorch_call_delegate]
    return sum(len(quantized_fully_connected(_xnn_graph(m.processed_bytes)))
               for m in lowered if m.backend_id == "XnnpackBackend")


def int4_linear_weights(pte: bytes) -> list[torch.Tensor]:
    """Read back from a .pte: the dequantized weight (codes x per-row scale) of each 4-bit
    FullyConnected, in program order. Codes are packed two per byte, low nibble first, stored + 8."""
    import numpy as np
    from executorch.exir._serialize._program import deserialize_pte_binary

    pte_file = deserialize_pte_binary(bytes(pte))
    program, named = pte_file.program, pte_file.named_data
    weights = []
    for plan in program.execution_plan:
        for delegate in plan.delegates:
            if delegate.id != "XnnpackBackend":
                continue
            graph = _xnn_graph(program.backend_delegate_data[delegate.processed.index].data)

            def constant(index: int, graph=graph) -> bytes:
                return named.buffers[named.pte_data[graph["constant_data"][index]["named_key"]].buffer_index]

            for weight in quantized_fully_connected(graph):
                n, k = weight["tensor_value"]["dims"]
                packed = np.frombuffer(constant(weight["tensor_value"]["constant_buffer_idx"]), np.uint8).reshape(n, -1)
                codes = np.stack([packed & 15, packed >> 4], -1).reshape(n, -1)[:, :k].astype(np.float32) - 8
                scale = np.frombuffer(constant(weight["quant_params"]["scale_buffer_idx"]), np.float32)
                weights.append(torch.from_numpy(codes * scale[:, None]))
    return weights
