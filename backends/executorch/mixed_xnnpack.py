"""Mixed-precision models (exporter/compress/freeze_mixed.py) as a .pte the stock ExecuTorch runtime
runs: every stored Linear part on XNNPACK with dynamic int8 activations, 8-bit rows as channelwise
int8 weights (qd8-f32-qc8w) and 4-bit and ternary rows as channelwise 4-bit weights (qd8-f32-qc4w).

    edge = lower_mixed(frozen, (ids, mask), passes, dynamic_shapes, constant_methods)

The frozen model's codes and scales go into the graph as they are: the weight of each part is
`quantized_decomposed.dequantize_per_channel(codes, scale, 0, axis 0, qmin, qmax, int8)` with
[-127, 127] for int8 parts (what pt2e's symmetric per-channel config writes) and [-8, 7] for int4
parts (what XNNPACK recognises as 4-bit, ternary_int4.py), and the Linear's input the dynamic q/dq
pt2e's dynamic config writes, once for both parts: XNNPACK quantizes it per row, once, for both
FullyConnecteds. The
reorder of a Linear's concatenated output and the mixed word table (gathers, integer unpacking)
run on portable kernels.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from backends.base import is_split_linear
from backends.executorch.ternary_int4 import quantized_fully_connected, _ops, _xnn_graph, dynamic_qdq

QRANGE = {"int8": (-127, 127), "int4": (-8, 7)}
SCHEME = ("mixed precision: per group of rows 8-bit (XNNPACK channelwise int8) or 4-bit / ternary (channelwise "
          "4-bit codes) weights, dynamic int8 activations per row, pruned heads and neurons removed; word table rows "
          "at 8, 4 or 2 bits unpacked on portable kernels; stock ExecuTorch runtime")
XNN_WEIGHT_TYPE = {"int8": "xnn_datatype_qcint8", "int4": "xnn_datatype_qcint4"}


def _xnnpack_forms(cls: type) -> type:
    """A subclass of the frozen SplitLinear whose weights and inputs are written as XNNPACK's q/dq."""

    class XnnpackSplitLinear(cls):
        def part_weight(self, storage: str):
            codes = getattr(self, f"{storage}_codes")
            zero = torch.zeros(len(codes), dtype=torch.int64)
            qmin, qmax = QRANGE[storage]
            return _ops().dequantize_per_channel(codes, getattr(self, f"{storage}_scale"), zero, 0, qmin, qmax,
                                                 torch.int8)

        def quantize_input(self, x):
            return dynamic_qdq(x)

    return XnnpackSplitLinear


def with_xnnpack_parts(model: torch.nn.Module) -> tuple[torch.nn.Module, dict[str, int]]:
    """A copy of a frozen mixed model in XNNPACK's q/dq form; returns it and its part count per storage.
    Its Linears are the modules base.is_split_linear finds."""
    model = copy.deepcopy(model).eval()
    parts = {"int8": 0, "int4": 0}
    for module in model.modules():
        if is_split_linear(module):
            module.__class__ = _xnnpack_forms(type(module))
            for storage in module.storages:
                parts[storage] += 1
    if not sum(parts.values()):
        raise ValueError("no SplitLinear found; lower a frozen mixed model (freeze_mixed)")
    return model, parts


def quantized_linear_counts(edge) -> dict[str, int]:
    """FullyConnected nodes XNNPACK runs with dynamic int8 inputs, per weight storage."""
    from executorch.exir.delegate import executorch_call_delegate

    gm = edge.exported_program().graph_module
    lowered = [getattr(gm, n.args[0].target) for n in gm.graph.nodes if n.target is executorch_call_delegate]
    counts = {"int8": 0, "int4": 0}
    for m in lowered:
        if m.backend_id != "XnnpackBackend":
            continue
        for storage, datatype in XNN_WEIGHT_TYPE.items():
            counts[storage] += len(quantized_fully_connected(_xnn_graph(m.processed_bytes), datatype))
    return counts


def lower_mixed(model: torch.nn.Module, example_inputs: tuple[Any, ...], transform_passes: Sequence = (),
                dynamic_shapes: Any = None, constant_methods: dict | None = None):
    """torch.export + XNNPACK of a frozen mixed model; returns the EdgeProgramManager. Raises if
    XNNPACK did not take every stored part as a quantized FullyConnected with dynamic int8 inputs."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    xnn, parts = with_xnnpack_parts(model)
    program = torch.export.export(xnn, example_inputs, dynamic_shapes=dynamic_shapes, strict=False)
    edge = to_edge_transform_and_lower(program, transform_passes=list(transform_passes) or None,
                                       partitioner=[XnnpackPartitioner()], constant_methods=constant_methods)
    found = quantized_linear_counts(edge)
    if found != parts:
        raise RuntimeError(f"XNNPACK took {found} of {parts} mixed-precision Linear parts (int8 / int4 weights with "
                           "dynamic int8 inputs); the rest would run in fp32 or on portable kernels")
    return edge
