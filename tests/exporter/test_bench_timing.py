"""Fresh-process, round-robin timing: the order systems run in, the aggregation, a real child."""

import numpy as np
import pytest
import torch

import exporter.bench_timing as timing
from exporter.bench_timing import Timed, TimingSpec, load_runner, time_systems
from exporter.errors import UserError


def test_systems_interleave_round_robin_and_rows_are_medians_of_rounds(monkeypatch, tmp_path):
    calls = []
    fake = {"a": [3.0, 1.0, 2.0], "b": [10.0, 30.0, 20.0]}

    def child(system, spec):
        calls.append(system.name)
        ms = fake[system.name][calls.count(system.name) - 1]
        return {"median_ms": ms, "p90_ms": ms + 1, "cpu_ms": 2 * ms}

    monkeypatch.setattr(timing, "_child", child)
    out = time_systems([Timed("a", tmp_path / "a.pte", tmp_path / "x.npz"),
                        Timed("b", tmp_path / "b.pte", tmp_path / "x.npz")], TimingSpec(rounds=3))
    assert calls == ["a", "b", "a", "b", "a", "b"]  # drift hits both alike
    assert out["a"] == {"median_ms": 2.0, "p90_ms": 3.0, "cpu_ms": 4.0, "rounds": [3.0, 1.0, 2.0]}
    assert out["b"]["median_ms"] == 20.0


def test_a_real_child_times_a_torch_module(tiny_model, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    torch.save(tiny_model, tmp_path / "tiny.pt")
    np.savez(tmp_path / "in.npz", ids=ids[:1], mask=mask[:1])
    out = time_systems([Timed("tiny", tmp_path / "tiny.pt", tmp_path / "in.npz")],
                       TimingSpec(threads=1, runs=5, warmup=1, rounds=2))["tiny"]
    print(f"\ntiny eager module: {out}")
    assert len(out["rounds"]) == 2 and 0 < out["median_ms"] <= out["p90_ms"]


def test_a_failing_child_names_the_system(tmp_path):
    (tmp_path / "broken.pt").write_bytes(b"not a pickle")
    np.savez(tmp_path / "in.npz", ids=np.zeros((1, 4), np.int32), mask=np.ones((1, 4), np.int32))
    with pytest.raises(UserError, match="timing broken"):
        time_systems([Timed("broken", tmp_path / "broken.pt", tmp_path / "in.npz")], TimingSpec(rounds=1, runs=5))


def test_unknown_suffix_lists_the_known_ones(tmp_path):
    with pytest.raises(UserError, match=r"\.onnx.*\.pt"):
        load_runner(tmp_path / "model.bin", threads=1)
