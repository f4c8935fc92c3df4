"""Recognise a fused-block op (blocks.py) with constant ternary weights in an edge graph, and turn
one into its blob's spec (block_blob.py)."""

from __future__ import annotations

import operator
from dataclasses import dataclass

import numpy as np
import torch
from torch.export import ExportedProgram

from .blob import ActivationQuant, ActMode, TernaryLinearSpec
from .block_blob import BlockKind, TernaryBlockSpec
from .linear_match import constant_tensor, ternary_weight

# op name -> (kind, argument positions of the Linears' (weight, bias, input scale), of (norm weight, bias, eps))
_LAYOUT = {
    "dynaedge::ternary_linear_add_norm": (BlockKind.LINEAR_ADD_NORM, ((2, 3, 4),), (5, 6, 7)),
    "dynaedge::ternary_ffn_add_norm": (BlockKind.FFN_ADD_NORM, ((1, 2, 3), (4, 5, 6)), (7, 8, 9)),
    "dynaedge::ternary_qkv": (BlockKind.QKV, ((1, 2, 3), (4, 5, 6), (7, 8, 9)), None),
}


def block_op_name(node: torch.fx.Node) -> str | None:
    """"dynaedge::ternary_ffn_add_norm" for a fused-block call (aten or edge dialect), else None."""
    if node.op != "call_function":
        return None
    target = getattr(node.target, "_op", node.target)  # an edge op wraps the torch op
    schema = getattr(target, "_schema", None)
    return schema.name if schema is not None and schema.name in _LAYOUT else None


@dataclass(frozen=True)
class BlockMatch:
    node: torch.fx.Node
    kind: BlockKind
    weight_names: tuple[str, ...]
    ternary: tuple[tuple[np.ndarray, np.ndarray], ...]  # (values, scales) per Linear

    def owned_nodes(self) -> list[torch.fx.Node]:
        """The op, its constant arguments and (Q/K/V) the getitems of its outputs; the inputs x (and
        residual) stay outside."""
        inputs = self.node.args[:2] if self.kind == BlockKind.LINEAR_ADD_NORM else self.node.args[:1]
        constants = [a for a in self.node.args if isinstance(a, torch.fx.Node) and a.op == "placeholder"
                     and not any(a is i for i in inputs)]
        getitems = [u for u in self.node.users if u.target is operator.getitem]
        return [self.node, *constants, *getitems]


def match_block(ep: ExportedProgram, node: torch.fx.Node, rtol: float = 1e-5,
                known: dict[str, tuple[np.ndarray, np.ndarray]] | None = None) -> BlockMatch | None:
    """A BlockMatch if `node` is a fused-block op whose Linear weights are constant and ternary (real
    values decide; fake ones, inside Partitioner.partition, go by `known` names)."""
    name = block_op_name(node)
    if name is None:
        return None
    kind, linears, norm = _LAYOUT[name]
    names, ternary = [], []
    for w_at, b_at, _ in linears:
        found = ternary_weight(ep, node.args[w_at], rtol, known)
        b_node = node.args[b_at]
        if found is None or (b_node is not None and constant_tensor(ep, b_node) is None):
            return None
        names.append(found[0])
        ternary.append(found[2])
    if norm is not None and any(constant_tensor(ep, node.args[i]) is None for i in norm[:2]):
        return None
    return BlockMatch(node, kind, tuple(names), tuple(ternary))


def block_spec(ep: ExportedProgram, match: BlockMatch, qmin: int = -127, qmax: int = 127) -> TernaryBlockSpec:
    """The blob spec of a matched block, with real weights (preprocess)."""
    kind, linears, norm = _LAYOUT[block_op_name(match.node)]
    args = match.node.args
    specs = []
    for (values, scales), (_, b_at, s_at) in zip(match.ternary, linears):
        bias = constant_tensor(ep, args[b_at]) if args[b_at] is not None else None
        scale = float(args[s_at])
        act = ActivationQuant(ActMode.STATIC_PER_TENSOR, scale, qmin, qmax) if scale > 0 else \
            ActivationQuant(ActMode.DYNAMIC_PER_ROW, 0.0, qmin, qmax)
        specs.append(TernaryLinearSpec(values, scales, None if bias is None else bias.detach().float().numpy(), act))
    if norm is None:
        return TernaryBlockSpec(kind, tuple(specs), None, None, 0.0)
    nw_at, nb_at, eps_at = norm
    inputs = [n for n in ep.graph_module.graph.nodes if n.op == "placeholder" and constant_tensor(ep, n) is None]
    residual_first = kind == BlockKind.LINEAR_ADD_NORM and inputs.index(args[1]) < inputs.index(args[0])
    return TernaryBlockSpec(kind, tuple(specs), constant_tensor(ep, args[nw_at]).detach().float().numpy(),
                            constant_tensor(ep, args[nb_at]).detach().float().numpy(), float(args[eps_at]),
                            residual_first)
