"""DynaedgeTernaryBackend.preprocess: one partition (one Linear, or one fused block) -> one blob.

ExecuTorch finds this class by name (DelegationSpec.backend_id), so the class
name is the backend id the C++ runtime registers.
"""

from __future__ import annotations

import operator
from typing import final

from executorch.exir.backend.backend_details import BackendDetails, PreprocessResult
from executorch.exir.backend.compile_spec_schema import CompileSpec
from torch.export import ExportedProgram

from . import compile_specs
from .blob import TernaryLinearSpec, pack_blob
from .block_blob import pack_block_blob
from .block_match import block_spec, match_block
from .linear_match import constant_tensor, match_ternary_linear


@final
class DynaedgeTernaryBackend(BackendDetails):
    @staticmethod
    def preprocess(edge_program: ExportedProgram, compile_specs_list: list[CompileSpec]) -> PreprocessResult:
        act, rtol = compile_specs.decode(compile_specs_list)
        ops = [n for n in edge_program.graph_module.graph.nodes if n.op == "call_function"]
        blocks = [b for b in (match_block(edge_program, n, rtol) for n in ops) if b is not None]
        if blocks:
            ops = [n for n in ops if n.target is not operator.getitem]  # a Q/K/V block's three outputs
            if len(ops) != 1:
                raise ValueError(f"DynaedgeTernaryBackend expects a fused block alone in its partition, found ops "
                                 f"{[str(n.target) for n in ops]}")
            spec = block_spec(edge_program, blocks[0], act.qmin, act.qmax)
            return PreprocessResult(processed_bytes=pack_block_blob(spec))
        matches = [m for m in (match_ternary_linear(edge_program, n, rtol) for n in ops) if m is not None]
        if len(matches) != 1:
            raise ValueError(
                f"DynaedgeTernaryBackend expects one ternary Linear per partition, found {len(matches)} "
                f"among ops {[str(n.target) for n in ops]}")
        match = matches[0]
        extra = [n for n in ops if n not in match.owned_nodes()]
        if extra:
            raise ValueError(f"DynaedgeTernaryBackend partition holds ops besides the Linear: {extra}")
        bias = constant_tensor(edge_program, match.bias) if match.bias is not None else None
        spec = TernaryLinearSpec(
            values=match.values,
            scales=match.scales,
            bias=None if bias is None else bias.detach().cpu().float().numpy(),
            act=act,
        )
        return PreprocessResult(processed_bytes=pack_blob(spec))
