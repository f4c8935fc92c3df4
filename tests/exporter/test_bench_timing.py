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
        return {"median_ms": ms, "p90_ms": ms + 1, "mean_ms": ms + 0.5, "cpu_ms": 2 * ms}

    monkeypatch.setattr(timing, "_child", child)
    out = time_systems([Timed("a", tmp_path / "a.pte", tmp_path / "x.npz"),
                        Timed("b", tmp_path / "b.pte", tmp_path / "x.npz")], TimingSpec(rounds=3))
    assert calls == ["a", "b", "a", "b", "a", "b"]  # drift hits both alike
    assert out["a"] == {"median_ms": 2.0, "p90_ms": 3.0, "mean_ms": 2.5, "cpu_ms": 4.0, "rounds": [3.0, 1.0, 2.0]}
    assert out["b"]["median_ms"] == 20.0


def test_a_real_child_times_a_torch_module(tiny_model, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    torch.save(tiny_model, tmp_path / "tiny.pt")
    np.savez(tmp_path / "in.npz", ids=ids[:1], mask=mask[:1])
    out = time_systems([Timed("tiny", tmp_path / "tiny.pt", tmp_path / "in.npz")],
                       TimingSpec(threads=1, runs=5, warmup=1, rounds=2))["tiny"]
    print(f"\ntiny eager module: {out}")
    assert len(out["rounds"]) == 2 and 0 < out["median_ms"] <= out["p90_ms"]


def test_several_input_rows_time_each_sentence_once_at_its_own_length(tiny_model, tiny_inputs, tmp_path):
    """Real-length mode: the child runs every row once and reports median, p90 and mean per sentence."""
    import json
    import subprocess
    import sys

    ids, mask = tiny_inputs
    torch.save(tiny_model, tmp_path / "tiny.pt")
    order = np.argsort(mask.sum(1))
    short, long = order[:8], order[-8:]
    np.savez(tmp_path / "rows.npz", ids=np.repeat(ids[np.r_[short, long]], 30, 0), mask=np.repeat(mask[np.r_[short, long]], 30, 0))
    done = subprocess.run([sys.executable, "-m", "exporter.bench_timing", str(tmp_path / "tiny.pt"), str(tmp_path / "rows.npz"),
                           "--threads", "1", "--warmup", "2"], capture_output=True, text=True, cwd=timing.ROOT, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"\n{len(short) + len(long)} x 30 sentences, lengths {sorted(mask.sum(1)[short])} / {sorted(mask.sum(1)[long])}: {out}")
    assert out["median_ms"] <= out["p90_ms"] and 0 < out["mean_ms"] <= out["p90_ms"] * 1.5


def test_a_failing_child_names_the_system(tmp_path):
    (tmp_path / "broken.pt").write_bytes(b"not a pickle")
    np.savez(tmp_path / "in.npz", ids=np.zeros((1, 4), np.int32), mask=np.ones((1, 4), np.int32))
    with pytest.raises(UserError, match="timing broken"):
        time_systems([Timed("broken", tmp_path / "broken.pt", tmp_path / "in.npz")], TimingSpec(rounds=1, runs=5))


def test_unknown_suffix_lists_the_known_ones(tmp_path):
    with pytest.raises(UserError, match=r"\.onnx.*\.pt"):
        load_runner(tmp_path / "model.bin", threads=1)


def test_eager_and_dynamic_axes_runners_feed_each_sentence_unpadded(tiny_model, tiny_inputs):
    from exporter.bench_timing import TorchRunner

    seen = []

    class Recording(torch.nn.Module):
        def forward(self, ids, mask):
            seen.append(tuple(ids.shape))
            return tiny_model(ids, mask)

    ids, mask = tiny_inputs
    runner = TorchRunner(Recording())
    for i in range(4):
        padded = runner(ids[i:i + 1], mask[i:i + 1])
        with torch.no_grad():
            reference = tiny_model(torch.from_numpy(ids[i:i + 1]), torch.from_numpy(mask[i:i + 1])).numpy()
        assert np.abs(padded - reference).max() < 1e-5
    assert seen == [(1, int(mask[i].sum())) for i in range(4)]
