"""Count which runtime executes each op of a lowered ExecuTorch program (for the manifest)."""

from collections import Counter

_SKIP = {"getitem", "executorch_call_delegate"}


def _ops(graph) -> int:
    return sum(1 for n in graph.nodes if n.op == "call_function" and n.target.__name__ not in _SKIP)


def count_delegated_ops(exported_program) -> dict[str, int]:
    """{"XnnpackBackend": 120, "portable": 3}: ops inside each delegate, and ops left outside."""
    counts: Counter = Counter()
    gm = exported_program.graph_module
    for node in gm.graph.nodes:
        if node.op != "call_function":
            continue
        name = getattr(node.target, "__name__", str(node.target))
        if name == "executorch_call_delegate":
            lowered = getattr(gm, node.args[0].target)
            counts[lowered.backend_id] += _ops(lowered.original_module.graph)
        elif name != "getitem":
            counts["portable"] += 1
    return dict(counts)
