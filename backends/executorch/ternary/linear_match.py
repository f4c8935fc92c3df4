"""Recognise a Linear with a constant ternary weight in an edge graph.

Three shapes reach us after to_edge: aten.linear (kept whole because the
partitioners ask for it), addmm(bias, x, permute(W)) and mm(x, permute(W)).
A weight is ternary when every row holds only {-a_n, 0, +a_n} (blob.detect_ternary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from executorch.exir.dialects._ops import ops as exir_ops
from torch._export.utils import get_buffer, get_lifted_tensor_constant, get_param
from torch.export import ExportedProgram

from .blob import detect_ternary

_LINEAR = exir_ops.edge.aten.linear.default
_ADDMM = exir_ops.edge.aten.addmm.default
_MM = exir_ops.edge.aten.mm.default
_PERMUTE = exir_ops.edge.aten.permute_copy.default


@dataclass(frozen=True)
class LinearMatch:
    node: torch.fx.Node  # the linear / addmm / mm node
    x: torch.fx.Node
    weight: torch.fx.Node  # placeholder of the constant W[N, K]
    bias: torch.fx.Node | None
    transpose: torch.fx.Node | None  # permute_copy(W) feeding mm/addmm
    weight_name: str  # fully qualified parameter name, e.g. "encoder.0.ffn.up.weight"
    values: np.ndarray  # int8 [N, K]
    scales: np.ndarray  # float32 [N]

    def owned_nodes(self) -> list[torch.fx.Node]:
        """Nodes that go into the partition (the input x stays outside)."""
        return [n for n in (self.node, self.weight, self.bias, self.transpose) if n is not None]


def constant_tensor(ep: ExportedProgram, node: object) -> torch.Tensor | None:
    if not isinstance(node, torch.fx.Node) or node.op != "placeholder":
        return None
    for getter in (get_param, get_buffer, get_lifted_tensor_constant):
        value = getter(ep, node)
        if value is not None:
            return value
    return None


def _constant_name(ep: ExportedProgram, node: torch.fx.Node) -> str:
    sig = ep.graph_signature
    for mapping in (sig.inputs_to_parameters, sig.inputs_to_buffers, sig.inputs_to_lifted_tensor_constants):
        if node.name in mapping:
            return mapping[node.name]
    return node.name


def _unpack(node: torch.fx.Node):
    """(x, weight node, bias node, transpose node) or None for an unsupported shape."""
    if node.target == _LINEAR:
        x, w = node.args[0], node.args[1]
        bias = node.args[2] if len(node.args) > 2 else None
        return x, w, bias, None
    if node.target in (_ADDMM, _MM):
        bias, x, wt = (node.args[0], node.args[1], node.args[2]) if node.target == _ADDMM else (None, *node.args[:2])
        if len(node.args) > 3 or node.kwargs:  # addmm with beta/alpha
            return None
        if not (isinstance(wt, torch.fx.Node) and wt.target == _PERMUTE and list(wt.args[1]) == [1, 0]):
            return None
        if len(wt.users) != 1:
            return None
        return x, wt.args[0], bias, wt
    return None


def is_real(tensor: torch.Tensor) -> bool:
    """False for the FakeTensors ExecuTorch hands partitioners instead of weights."""
    from torch._subclasses.fake_tensor import FakeTensor

    return not isinstance(tensor, FakeTensor) and tensor.device.type != "meta"


def scan_ternary_weights(ep: ExportedProgram, rtol: float = 1e-5) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every real 2-D float32 constant of `ep` that is ternary, by name -> (values, scales)."""
    found = {}
    for name, tensor in {**ep.state_dict, **ep.constants}.items():
        if isinstance(tensor, torch.Tensor) and tensor.dim() == 2 and tensor.dtype == torch.float32 \
                and is_real(tensor):
            ternary = detect_ternary(tensor.detach().cpu().numpy(), rtol)
            if ternary is not None:
                found[name] = ternary
    return found


def match_ternary_linear(
    ep: ExportedProgram,
    node: torch.fx.Node,
    rtol: float = 1e-5,
    known: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> LinearMatch | None:
    """A LinearMatch if `node` is a Linear with a ternary constant weight.

    With real weights the values decide; with fake ones (inside
    Partitioner.partition) the weight's name must be in `known`, filled from
    the real program by scan_ternary_weights.
    """
    if node.op != "call_function":
        return None
    parts = _unpack(node)
    if parts is None:
        return None
    x, w_node, b_node, transpose = parts
    found = ternary_weight(ep, w_node, rtol, known)
    if found is None:
        return None
    name, weight, ternary = found
    if b_node is not None:
        bias = constant_tensor(ep, b_node)
        if bias is None or bias.dtype != torch.float32 or tuple(bias.shape) != (weight.shape[0],):
            return None
        if len(b_node.users) != 1:
            return None
    x_val = x.meta.get("val") if isinstance(x, torch.fx.Node) else None
    if x_val is None or x_val.dtype != torch.float32 or x_val.shape[-1] != weight.shape[1]:
        return None
    values, scales = ternary
    return LinearMatch(node, x, w_node, b_node, transpose, name, values, scales)


def ternary_weight(
    ep: ExportedProgram,
    w_node: object,
    rtol: float = 1e-5,
    known: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> tuple[str, torch.Tensor, tuple[np.ndarray, np.ndarray]] | None:
    """(name, tensor, (values, scales)) if `w_node` is a 2-D float32 constant used by one node only
    (a weight shared by two ops cannot be owned by two partitions) that is ternary: its real
    values decide, or with fake ones (inside Partitioner.partition) its name in `known`."""
    weight = constant_tensor(ep, w_node)
    if weight is None or weight.dtype != torch.float32 or weight.dim() != 2 or len(w_node.users) != 1:
        return None
    name = _constant_name(ep, w_node)
    ternary = detect_ternary(weight.detach().cpu().numpy(), rtol) if is_real(weight) else (known or {}).get(name)
    return None if ternary is None else (name, weight, ternary)
