"""Edge-dialect passes run before XNNPACK partitioning (backend.py lists them in PASSES).

Each one removes work from the attention block without changing what it computes:

- remove_noop_reshapes: torch.matmul on 4D operands decomposes to expand_copy -> view_copy -> bmm.
  In attention both operands already have the batch shape, so each expand_copy copies a tensor to
  the same shape: 24 portable kernel calls in MiniLM, each one a break in the XNNPACK delegate.
  Dropping them leaves view_copy -> bmm, which XNNPACK takes as a batch matmul. In 3D attention
  (attention.py) the views themselves keep the shape ([heads, S, S] -> [heads, S, S]); they go too.
- merge_permutes: k.transpose(1, 2) then .transpose(-1, -2) are two XNNPACK transposes of the
  key tensor; one permute with the composed order does the same.
- scale_before_bmm: `(q @ k^T) * c` multiplies the [heads, S, S] scores; `(q * c) @ k^T` multiplies
  the [heads, S, head_dim] queries instead (4x fewer elements in MiniLM at seq 128). Exact in real
  arithmetic; in fp32 a rounding-level change (< 1e-6 relative).
- infer_symbolic_dim: in a length-adaptive file (lengths.py) a reshape's target names the length as
  a symbol, and XNNPACK takes no reshape with a symbolic size (each one a portable copy and a break
  in the delegate); it does take one inferred (-1) size, so a target with exactly one symbolic
  size gets -1 there. Targets with two (the [heads, S, S] scores) stay as they are.
"""

import torch
from torch.fx.passes.infra.pass_base import PassResult


def _edge(name: str):
    from executorch.exir.dialects._ops import ops as exir_ops

    return getattr(exir_ops.edge.aten, name).default if "." not in name else \
        getattr(getattr(exir_ops.edge.aten, name.split(".")[0]), name.split(".")[1])


def _calls(graph_module: torch.fx.GraphModule, target):
    return [n for n in graph_module.graph.nodes if n.op == "call_function" and n.target == target]


def _done(graph_module: torch.fx.GraphModule, modified: bool) -> PassResult:
    if modified:
        graph_module.graph.eliminate_dead_code()
        graph_module.recompile()
    return PassResult(graph_module, modified)


def remove_noop_reshapes(graph_module: torch.fx.GraphModule) -> PassResult:
    modified = False
    for node in _calls(graph_module, _edge("expand_copy")) + _calls(graph_module, _edge("view_copy")):
        source = node.args[0]
        if tuple(source.meta["val"].shape) == tuple(node.meta["val"].shape):
            node.replace_all_uses_with(source)
            graph_module.graph.erase_node(node)
            modified = True
    return _done(graph_module, modified)


def merge_permutes(graph_module: torch.fx.GraphModule) -> PassResult:
    permute = _edge("permute_copy")
    modified = False
    for outer in _calls(graph_module, permute):
        inner = outer.args[0]
        if not (isinstance(inner, torch.fx.Node) and inner.target == permute and len(inner.users) == 1):
            continue
        rank = len(inner.args[1])
        first, second = ([d % rank for d in p] for p in (inner.args[1], outer.args[1]))
        outer.args = (inner.args[0], [first[d] for d in second])
        graph_module.graph.erase_node(inner)
        modified = True
    return _done(graph_module, modified)


def scale_before_bmm(graph_module: torch.fx.GraphModule) -> PassResult:
    bmm, view, mul = _edge("bmm"), _edge("view_copy"), _edge("mul.Tensor")
    modified = False
    for node in _calls(graph_module, mul):
        scores, scale = node.args
        if not (isinstance(scores, torch.fx.Node) and len(scores.users) == 1):
            continue
        # the scores straight out of bmm (3D attention, attention.py), or through a view (4D)
        product = scores if scores.target == bmm else scores.args[0] if scores.target == view else None
        if not (isinstance(product, torch.fx.Node) and product.target == bmm and len(product.users) == 1):
            continue
        scale_val = scale.meta.get("val") if isinstance(scale, torch.fx.Node) else None
        if scale_val is None or scale_val.numel() != 1 or scale_val.dtype != torch.float32:
            continue
        query = product.args[0]
        with graph_module.graph.inserting_before(product):
            scaled = graph_module.graph.call_function(mul, (query, scale))
        scaled.meta = {**query.meta, "val": query.meta["val"]}
        product.args = (scaled, product.args[1])
        node.replace_all_uses_with(scores)
        graph_module.graph.erase_node(node)
        modified = True
    return _done(graph_module, modified)


def infer_symbolic_dim(graph_module: torch.fx.GraphModule) -> PassResult:
    modified = False
    for node in _calls(graph_module, _edge("view_copy")):
        shape = list(node.args[1])
        symbolic = [i for i, d in enumerate(shape) if not isinstance(d, int)]
        if len(symbolic) == 1 and -1 not in shape:
            shape[symbolic[0]] = -1
            node.args = (node.args[0], shape)
            modified = True
    return _done(graph_module, modified)


PASSES = (remove_noop_reshapes, merge_permutes, scale_before_bmm, infer_symbolic_dim)
