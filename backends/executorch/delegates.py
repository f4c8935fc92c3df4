"""count_delegated_ops: how much of a program each delegate took, for the
manifest's `delegates` field and for tests.

    count_delegated_ops(edge_manager_or_exported_program)
        -> {"DynaedgeTernaryBackend": 12, "XnnpackBackend": 80, "undelegated": 0}
       counts operator nodes (getitem excluded) inside each delegate's
       partitions, summed per backend, plus the ops left outside any delegate.
    count_delegated_ops(pte_bytes_or_path)
       a delegate's payload is opaque inside a .pte, so this counts delegate
       *calls* per backend and the remaining kernel calls ("undelegated").
"""

from __future__ import annotations

import operator
from collections import Counter
from pathlib import Path
from typing import Any

import torch


def _graph_counts(gm: torch.fx.GraphModule, counts: Counter) -> None:
    from executorch.exir.delegate import executorch_call_delegate

    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target is operator.getitem:
            continue
        if node.target is executorch_call_delegate:
            lowered = getattr(gm, node.args[0].target)
            inner = lowered.original_module.graph_module.graph.nodes
            counts[lowered.backend_id] += sum(
                1 for n in inner if n.op == "call_function" and n.target is not operator.getitem)
        else:
            counts["undelegated"] += 1


def _pte_counts(data: bytes, counts: Counter) -> None:
    from executorch.exir._serialize._program import deserialize_pte_binary
    from executorch.exir.schema import DelegateCall, KernelCall

    program = deserialize_pte_binary(data).program
    for plan in program.execution_plan:
        for chain in plan.chains:
            for instruction in chain.instructions:
                args = instruction.instr_args
                if isinstance(args, DelegateCall):
                    counts[plan.delegates[args.delegate_index].id] += 1
                elif isinstance(args, KernelCall):
                    counts["undelegated"] += 1


def count_delegated_ops(program: Any) -> dict[str, int]:
    """Ops per delegate (see module doc). Accepts an EdgeProgramManager,
    ExportedProgram, ExecutorchProgramManager, .pte bytes or a .pte path."""
    counts: Counter = Counter({"undelegated": 0})
    if isinstance(program, (str, Path)):
        program = Path(program).read_bytes()
    if isinstance(program, (bytes, bytearray)):
        _pte_counts(bytes(program), counts)
    elif hasattr(program, "exported_program"):  # EdgeProgramManager
        _graph_counts(program.exported_program().graph_module, counts)
    elif hasattr(program, "graph_module"):  # ExportedProgram
        _graph_counts(program.graph_module, counts)
    elif hasattr(program, "buffer"):  # ExecutorchProgramManager
        _pte_counts(program.buffer, counts)
    else:
        raise TypeError(f"count_delegated_ops takes an edge/exported program or .pte bytes/path, "
                        f"got {type(program).__name__}")
    return dict(counts)


def undelegated_op_names(edge_manager) -> dict[str, int]:
    """Names of the ops no delegate took (they run on ExecuTorch's portable kernels)."""
    from executorch.exir.delegate import executorch_call_delegate

    names: Counter = Counter()
    for node in edge_manager.exported_program().graph_module.graph.nodes:
        if node.op == "call_function" and node.target not in (operator.getitem, executorch_call_delegate):
            # "aten.native_layer_norm.default" -> "native_layer_norm"
            parts = str(node.target).split(".")
            names[parts[1] if len(parts) > 2 else parts[0]] += 1
    return dict(sorted(names.items()))
