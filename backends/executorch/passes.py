"""Edge-dialect passes run before XNNPACK partitioning (backend.py lists them in PASSES).

remove_noop_expand: torch.matmul on 4D operands decomposes to expand_copy -> view_copy -> bmm.
For attention both operands already have the batch shape, so each expand_copy copies a tensor to
the same shape: 24 portable kernel calls in MiniLM, each one a break in the XNNPACK delegate.
Dropping them leaves view_copy -> bmm, which XNNPACK takes as a batch matmul.
"""

import torch
from torch.fx.passes.infra.pass_base import PassResult


def remove_noop_expand(graph_module: torch.fx.GraphModule) -> PassResult:
    from executorch.exir.dialects._ops import ops as exir_ops

    modified = False
    for node in list(graph_module.graph.nodes):
        if node.op != "call_function" or node.target != exir_ops.edge.aten.expand_copy.default:
            continue
        source = node.args[0]
        if tuple(source.meta["val"].shape) == tuple(node.meta["val"].shape):
            node.replace_all_uses_with(source)
            graph_module.graph.erase_node(node)
            modified = True
    if modified:
        graph_module.recompile()
    return PassResult(graph_module, modified)


PASSES = (remove_noop_expand,)
