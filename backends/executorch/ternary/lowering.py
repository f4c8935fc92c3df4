"""The two calls a pipeline needs: lower a module with the ternary delegate in
front of XNNPACK, and run a .pte that contains it.

    edge = lower_ternary(model, (x,), TernaryPartitionSpec(...))
    pte = edge.to_executorch().buffer
    outputs = run_pte(pte, [x])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from .partitioner import TernaryPartitioner, TernaryPartitionSpec


def lower_ternary(
    model: torch.nn.Module,
    example_inputs: tuple[Any, ...],
    spec: TernaryPartitionSpec = TernaryPartitionSpec(),
    dynamic_shapes: Any = None,
    transform_passes: Sequence[Any] = (),
    constant_methods: dict[str, Any] | None = None,
):
    """torch.export + to_edge_transform_and_lower with [TernaryPartitioner, XnnpackPartitioner];
    returns the EdgeProgramManager (count_delegated_ops takes it)."""
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    exported = torch.export.export(model, example_inputs, dynamic_shapes=dynamic_shapes, strict=False)
    return to_edge_transform_and_lower(exported, transform_passes=list(transform_passes),
                                       partitioner=[TernaryPartitioner(spec), XnnpackPartitioner()],
                                       constant_methods=constant_methods)


def run_pte(pte: bytes, inputs: Sequence[torch.Tensor], method: str = "forward") -> list[torch.Tensor]:
    """Loads the ternary runtime (building it if needed), then runs `method` once."""
    from executorch.runtime import Runtime

    from .build import load_backend

    load_backend()
    return list(Runtime.get().load_program(pte).load_method(method).execute(list(inputs)))
