"""Partitioner decisions: static scales from q/dq in the graph, the errors a
caller can hit, and shared weights left alone."""

import numpy as np
import pytest
import torch

from backends.executorch.ternary.blob import twn_ternarize
from backends.executorch.ternary.compile_specs import decode
from backends.executorch.delegates import count_delegated_ops
from backends.executorch.ternary.partitioner import TernaryPartitioner, TernaryPartitionSpec

from backends.executorch.ternary.lowering import lower_ternary
from backends.executorch.ternary.lowering import run_pte as run_pte_outputs


def lower(model, x, spec=TernaryPartitionSpec()):
    return lower_ternary(model, (x,), spec)


def run_pte(pte, x):
    return run_pte_outputs(pte, [x])[0]


def ternarize_(layer: torch.nn.Linear) -> None:
    with torch.no_grad():
        values, scales = twn_ternarize(layer.weight.numpy())
        layer.weight.copy_(torch.from_numpy(values.astype(np.float32) * scales[:, None]))


class QdqLinear(torch.nn.Module):
    """A Linear behind a quantize/dequantize pair, as QAT export leaves it."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(64, 32)
        ternarize_(self.proj)

    def forward(self, x):
        import torchao.quantization.pt2e  # noqa: F401  registers quantized_decomposed ops

        q = torch.ops.quantized_decomposed.quantize_per_tensor(x, 0.05, 0, -127, 127, torch.int8)
        return self.proj(torch.ops.quantized_decomposed.dequantize_per_tensor(q, 0.05, 0, -127, 127, torch.int8))


def _lowered_specs(edge, backend_id):
    gm = edge.exported_program().graph_module
    modules = [getattr(gm, name) for name in dir(gm) if name.startswith("lowered_module")]
    return [m.compile_specs for m in modules if m.backend_id == backend_id]


def test_static_scale_taken_from_dequantize_in_graph():
    torch.manual_seed(0)
    model = QdqLinear().eval()
    x = torch.randn(3, 64)
    edge = lower(model, x)
    specs = _lowered_specs(edge, "DynaedgeTernaryBackend")
    assert len(specs) == 1, count_delegated_ops(edge)
    act, _ = decode(specs[0])
    assert act.mode == 1 and act.scale == pytest.approx(0.05) and (act.qmin, act.qmax) == (-127, 127)
    out = run_pte(edge.to_executorch().buffer, x)
    with torch.no_grad():
        want = model(x)  # eager with the same fake quantization
    max_diff = (out - want).abs().max().item()
    assert max_diff < 1e-5, f"max abs diff {max_diff:.2e} against eager q/dq + ternary Linear"


def test_unknown_activation_scale_name_is_an_error():
    model = QdqLinear().eval()
    with pytest.raises(ValueError, match="no ternary Linear has those weights"):
        lower(model, torch.randn(2, 64), TernaryPartitionSpec(activation_scales={"proj.wieght": 0.1}))


def test_to_backend_without_scan_is_an_error():
    from executorch.exir import to_edge

    model = QdqLinear().eval()
    edge = to_edge(torch.export.export(model, (torch.randn(2, 64),)))
    with pytest.raises(RuntimeError, match="fake weights"):
        edge.to_backend(TernaryPartitioner())


class TiedLinears(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(16, 16, bias=False)
        ternarize_(self.a)

    def forward(self, x):
        return self.a(self.a(x))  # the same weight feeds two Linears


def test_shared_weight_is_not_delegated():
    counts = count_delegated_ops(lower(TiedLinears().eval(), torch.randn(2, 16)))
    assert "DynaedgeTernaryBackend" not in counts, counts
