"""Calibration bookkeeping with a fake backend: rows are cached, a rerun resumes, the fit is saved.

The real runtimes are exercised by scripts/calibrate_latency.py (minutes); here the runner's
latency is a known linear function of the work, so the fit must recover it."""

import time

import numpy as np
import pytest

import backends.registry
from backends.base import Lowered
from exporter.devices.calibrate import CalibrationSpec, calibrate, measure
from exporter.devices.fit import load_fit
from exporter.errors import UserError
from exporter.model.config import EncoderConfig

TINY = EncoderConfig(vocab_size=2000, hidden=64, layers=4, heads=4, ffn=128, max_positions=64)


class FakeBackend:
    name, suffix, precisions = "executorch", ".pte", ("fp32", "int8")

    def __init__(self, calls):
        self.calls = calls

    def lower(self, model, spec):
        self.calls.append(len(model.layers))
        layers, neurons = len(model.layers), model.layers[0].ffn_in.out_features
        return Lowered(f"{layers} {neurons}".encode(), self.name, spec.precision, "none")

    def load(self, path, threads=2):
        delay = _delay(path)

        def run(ids, mask):
            end = time.perf_counter() + delay
            while time.perf_counter() < end:
                pass
        return run


def _delay(path) -> float:
    """The fake file's latency in seconds: a known function of its work."""
    layers, neurons = map(int, path.read_text().split())
    return 2e-4 * layers * (1 + neurons / 64)


def _time_in_process(systems, spec):
    """The known latency itself, not a busy-wait timed on a shared CPU: the fit's errors then depend
    on the model, never on the machine's load (a timed version failed under a concurrent export)."""
    out = {}
    for system in systems:
        ms = _delay(system.file) * 1e3
        out[system.name] = {"median_ms": ms, "p90_ms": ms, "cpu_ms": 0.0, "rounds": [ms] * spec.rounds}
    return out


@pytest.fixture
def fake(monkeypatch, tmp_path, config_dir):
    monkeypatch.setenv("DYNAEDGE_CACHE", str(tmp_path / "cache"))
    calls = []
    monkeypatch.setattr(backends.registry, "get_backend", lambda name: FakeBackend(calls))
    # the fake runner lives in this process: time it here (the real children load real runtimes)
    monkeypatch.setattr("exporter.bench_timing.time_systems", _time_in_process)
    monkeypatch.setattr("exporter.devices.host_bench.measure_host", lambda threads: {
        "threads": (2.0, "measured: test"), "fp32_gflops": (100.0, "measured: test"),
        "int8_gops": (400.0, "measured: test"), "memory_gbs": (20.0, "measured: test")})
    return calls


SPEC = CalibrationSpec(backends=("executorch",), variants=("fp32",), widths=(0.5, 1.0), depths=(0.5, 1.0),
                       seq_lens=(16,), runs=5, rounds=1, warmup=1, cfg=TINY)


def test_rerun_resumes_from_the_cache(fake):
    first = measure(SPEC, progress=False)
    assert len(first) == 4 and len(fake) == 4
    again = measure(SPEC, progress=False)
    assert len(fake) == 4, "a rerun must not lower again"
    assert [r["measured_ms"] for r in again] == [r["measured_ms"] for r in first]


def test_calibrate_fits_and_saves(fake):
    result = calibrate(SPEC, progress=False)
    assert {"backend", "precision", "width", "depth", "seq_len", "measured_ms", "predicted_ms"} <= set(result["rows"][0])
    fit = load_fit()
    assert fit.keys() == (("executorch", "fp32"),) and fit.host["fp32_gflops"] == 100.0
    errors = np.array([r["error_pct"] for r in result["rows"]])
    print(f"\nfit errors on a known latency function: {np.round(errors, 2).tolist()} %")
    assert np.all(np.abs(errors) < 1)  # the 4 rows are fitted exactly (0.0 % here); a broken fit is far off


def test_per_backend_sequence_lengths():
    from exporter.devices.calibrate import CalibrationSpec

    spec = CalibrationSpec(widths=(1.0,), depths=(1.0,), seq_lens=(64, 128), seq_lens_for=(("tflite", (64,)),))
    assert sorted({(b, s) for b, _, _, _, s in spec.grid()}) == [("executorch", 64), ("executorch", 128),
                                                                 ("tflite", 64)]
    with pytest.raises(UserError, match="unknown backend 'coreml'"):
        CalibrationSpec(seq_lens_for=(("coreml", (64,)),))


def test_quick_refit_scales_each_fitted_variant_to_this_machine(fake):
    from exporter.devices.calibrate import calibrate_quick
    from exporter.devices.fit import Coefficients, LatencyFit

    # A fit from "another machine": the right shape, 3x too slow; a ternary fit it cannot re-time.
    full = calibrate(CalibrationSpec(backends=("executorch",), variants=("fp32",), widths=(0.25, 0.5, 1.0),
                                     depths=(0.5, 1.0), seq_lens=(16, 64), runs=5, rounds=1, warmup=1, cfg=TINY),
                     save=False, progress=False)
    fp32 = next(c for c in load_fit_dict(full["fit"]).coefficients)
    slow = Coefficients("executorch", "fp32", tuple(3 * v for v in fp32.values), fp32.n, 0.0, 1.0)
    ternary = Coefficients("executorch", "ternary-int4", (1.0, 0.0, 0.0, 0.0, 0.0), 20, 0.0, 1.0)
    base = LatencyFit({"threads": 2.0, "fp32_gflops": 1.0, "int8_gops": 1.0, "memory_gbs": 1.0}, TINY.to_dict(),
                      (slow, ternary), "then", "a fit from elsewhere")
    result = calibrate_quick(runs=5, base=base, progress=False)
    scale = result["rows"][0]["scale"]
    print(f"\nquick refit: scale {scale:.3f} (expected ~1/3); errors {[r['error_pct'] for r in result['rows']]} %")
    assert 0.25 < scale < 0.45
    assert all(abs(r["error_pct"]) < 25 for r in result["rows"])
    fit = load_fit()
    assert fit.get("executorch", "ternary-int4").values == ternary.values  # not re-timed: kept as it was
    assert fit.machine and fit.machine["reference_ms"] > 0 and "quick refit" in fit.note


def load_fit_dict(d):
    from exporter.devices.fit import LatencyFit

    return LatencyFit.from_dict(d)
