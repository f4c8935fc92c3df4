"""export --budget's choice step: the budget applies at one stated sentence length, which the
manifest and the console name."""

from types import SimpleNamespace

import numpy as np
import pytest

from backends.registry import find_variant
from exporter.cli import _export_summary
from exporter.data.lengths import LengthStats
from exporter.errors import UserError
from exporter.model.config import EncoderConfig
from exporter.pipeline import _budget_length, _choose
from exporter.spec import ExportSpec

ROWS = [{"width": w, "depth": d, "precision": p, "dev_accuracy": round(0.7 + 0.1 * w + 0.05 * d - drop, 4)}
        for w in (0.25, 0.5, 1.0) for d in (0.5, 1.0) for p, drop in (("fp32", 0.0), ("int8", 0.004))]


@pytest.fixture
def inputs(monkeypatch, tmp_path):
    monkeypatch.setenv("DYNAEDGE_CONFIG", str(tmp_path))  # the packaged latency fit and profiles
    mask = np.zeros((100, 64), np.int32)
    for i in range(100):
        mask[i, :10 + i % 30] = 1  # 10..39 tokens
    return SimpleNamespace(seq_len=64, lengths=LengthStats.of_mask(mask, 64))


def test_the_budget_applies_at_the_p90_training_length_unless_told(inputs):
    teacher = SimpleNamespace(cfg=EncoderConfig())
    spec = ExportSpec(budget="4ms")
    assert _budget_length(spec, inputs).tokens == inputs.lengths.p90 == 36
    choices, infeasible, _ = _choose(spec, ROWS, inputs, teacher)
    for c in choices + infeasible:
        assert c["budget_length"] == 36, c
    assert all(c["predicted_at_length"] == find_variant(c["backend"], c["variant"]).run_length(64, 36)
               for c in choices)
    told = ExportSpec(budget="4ms", budget_length=64)
    at_64, _, _ = _choose(told, ROWS, inputs, teacher)
    assert {c["budget_length"] for c in at_64} == {64}
    with pytest.raises(UserError, match="--budget-length 65 is out of range; the files take 2..64 tokens"):
        _choose(ExportSpec(budget="4ms", budget_length=65), ROWS, inputs, teacher)
    with pytest.raises(UserError, match="--budget-length 30 needs --budget"):
        ExportSpec(budget_length=30)


def test_the_console_names_the_length(inputs):
    choices, _, _ = _choose(ExportSpec(budget="4ms"), ROWS, inputs, SimpleNamespace(cfg=EncoderConfig()))
    result = {"bundle": "b", "artifacts": [], "fallbacks": [], "teacher": {"test_accuracy": 0.85}, "seq_len": 64,
              "choices": choices, "budget": {"ms": 4.0, "length": {"tokens": 36, "source": "p90 of 100 training sentences"}}}
    text = _export_summary(result)
    print("\n" + text)
    assert "budget 4 ms for one sentence of 36 tokens (p90 of 100 training sentences)" in text
    assert all(f"{c['predicted_ms']:.2f}" in text for c in choices)
