"""TernaryPartitioner: tags each Linear with a constant ternary weight for
DynaedgeTernaryBackend, one partition (= one delegate call) per Linear, and
each fused-block op (blocks.py) whose Linears are ternary, one call per block.
Everything else is left for the partitioners after it:

    to_edge_transform_and_lower(ep, partitioner=[TernaryPartitioner(), XnnpackPartitioner()])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, final

import numpy as np
import torch
from executorch.exir.backend.partitioner import DelegationSpec, Partitioner, PartitionResult
from torch.export import ExportedProgram

from . import compile_specs
from . import preprocess  # noqa: F401  defines DynaedgeTernaryBackend, which ExecuTorch finds by name
from .blob import ActivationQuant, ActMode
from .block_match import match_block
from .linear_match import LinearMatch, is_real, match_ternary_linear, scan_ternary_weights

BACKEND_ID = "DynaedgeTernaryBackend"


@dataclass(frozen=True)
class TernaryPartitionSpec:
    """activation_scales: static per-tensor int8 scales from quantization-aware
    training, keyed by the Linear's weight name (e.g. "layers.0.ffn.up.weight").
    A Linear without one uses the scale of a dequantize_per_tensor feeding it,
    else dynamic per-row scales.

    weights: claim only the Linears with these weight names (None: every Linear
    whose weight is ternary). A model rewritten for XNNPACK has constant
    fully-connected layers that only look ternary, e.g. LayerNorm's mean as a
    product with a constant 1/H row (backends/executorch/layer_norm.py)."""

    activation_scales: Mapping[str, float] = field(default_factory=dict)
    weights: frozenset[str] | None = None
    qmin: int = -127
    qmax: int = 127
    rtol: float = 1e-5  # how exactly a row must hold {-a, 0, +a}


def activation_for(match: LinearMatch, spec: TernaryPartitionSpec) -> ActivationQuant:
    if match.weight_name in spec.activation_scales:
        scale = float(spec.activation_scales[match.weight_name])
        return ActivationQuant(ActMode.STATIC_PER_TENSOR, scale, spec.qmin, spec.qmax)
    from_graph = compile_specs.static_from_dequantize(match.x)
    if from_graph is not None:
        return from_graph
    return ActivationQuant(ActMode.DYNAMIC_PER_ROW, 0.0, spec.qmin, spec.qmax)


def find_ternary_linears(
    ep: ExportedProgram, rtol: float = 1e-5, known: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
) -> list[LinearMatch]:
    matches = (match_ternary_linear(ep, node, rtol, known) for node in ep.graph_module.graph.nodes)
    return [m for m in matches if m is not None]


@final
class TernaryPartitioner(Partitioner):
    def __init__(self, spec: TernaryPartitionSpec = TernaryPartitionSpec()) -> None:
        super().__init__()
        self.partition_spec = spec
        # ExecuTorch gives partition() a program whose weights are FakeTensors,
        # so the ternary test runs on the real program first: in
        # ops_to_not_decompose (to_edge_transform_and_lower calls it) or scan().
        self._known: dict[str, tuple[np.ndarray, np.ndarray]] | None = None

    def scan(self, ep: ExportedProgram) -> list[str]:
        """Record which weights of the real program are ternary; returns their names.
        Needed only when lowering with to_edge(...).to_backend(partitioner)."""
        self._known = scan_ternary_weights(ep, self.partition_spec.rtol)
        return sorted(self._known)

    def ops_to_not_decompose(
        self, ep: ExportedProgram
    ) -> tuple[list[torch._ops.OpOverload], Callable[[torch.fx.Node], bool] | None]:
        self.scan(ep)
        # Keep aten.linear whole: one node per Linear, whatever the input rank.
        return [torch.ops.aten.linear.default], None

    def partition(self, exported_program: ExportedProgram) -> PartitionResult:
        tags: dict[str, DelegationSpec] = {}
        weights_fake = any(isinstance(t, torch.Tensor) and not is_real(t)
                           for t in exported_program.state_dict.values())
        if weights_fake and self._known is None:
            raise RuntimeError(
                "TernaryPartitioner sees only fake weights: lower with to_edge_transform_and_lower, "
                "or call partitioner.scan(exported_program) on the real program before to_backend")
        matches = find_ternary_linears(exported_program, self.partition_spec.rtol, self._known)
        if self.partition_spec.weights is not None:
            matches = [m for m in matches if m.weight_name in self.partition_spec.weights]
        names = {m.weight_name for m in matches}
        unclaimed = set(self.partition_spec.activation_scales) - names
        if unclaimed:
            raise ValueError(
                f"activation scales given for {sorted(unclaimed)} but no ternary Linear has those weights; "
                f"ternary Linears found: {sorted(names)}")
        for index, match in enumerate(matches):
            tag = f"dynaedge_ternary_{index}"
            for node in match.owned_nodes():
                node.meta["delegation_tag"] = tag
            act = activation_for(match, self.partition_spec)
            tags[tag] = DelegationSpec(BACKEND_ID, compile_specs.encode(act, self.partition_spec.rtol))
        # Fused blocks carry their input scales as arguments; the compile spec keeps only rtol.
        for index, block in enumerate(self._blocks(exported_program)):
            tag = f"dynaedge_ternary_block_{index}"
            for node in block.owned_nodes():
                node.meta["delegation_tag"] = tag
            tags[tag] = DelegationSpec(BACKEND_ID, compile_specs.encode(ActivationQuant(), self.partition_spec.rtol))
        return PartitionResult(tagged_exported_program=exported_program, partition_tags=tags)

    def _blocks(self, ep: ExportedProgram):
        blocks = (match_block(ep, node, self.partition_spec.rtol, self._known) for node in ep.graph_module.graph.nodes)
        blocks = [b for b in blocks if b is not None]
        if self.partition_spec.weights is not None:
            blocks = [b for b in blocks if set(b.weight_names) <= self.partition_spec.weights]
        return blocks
