"""The least-squares fit recovers known coefficients; device scaling behaves as documented."""

import numpy as np
import pytest

from backends.registry import find_variant
from exporter.devices.features import work
from exporter.devices.fit import LatencyFit, fit_group, leave_one_out, load_fit, save_fit, solve
from exporter.devices.latency import predict_ms, predict_work
from exporter.devices.profile import load_profile
from exporter.errors import UserError
from exporter.model.config import EncoderConfig
from exporter.model.subnet import SubnetSpec

CFG = EncoderConfig()
GRID = [(w, d, s) for w in (0.25, 0.5, 0.75, 1.0) for d in (0.5, 0.67, 0.83, 1.0) for s in (64, 128)]


def _synthetic(coef, noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    x = np.array([work(CFG, SubnetSpec(w, d), s).vector() for w, d, s in GRID])
    y = x @ np.array(coef) * (1 + noise * rng.standard_normal(len(GRID)))
    return x, y


def test_work_counts_macs_of_the_full_model():
    w = work(CFG, SubnetSpec(1.0, 1.0), 128)
    assert w.linear_mmacs == pytest.approx(6 * 128 * (4 * 384 * 384 + 2 * 384 * 1536) / 1e6)
    assert w.attention_mmacs == pytest.approx(6 * 2 * 128 * 128 * 384 / 1e6)
    assert w.layers == 6
    half = work(CFG, SubnetSpec(0.5, 0.5), 128)
    assert half.layers == 3 and half.linear_mmacs == pytest.approx(w.linear_mmacs / 4)


def test_fit_recovers_coefficients_on_exact_data(true_coef):
    for key, coef in true_coef.items():
        x, y = _synthetic(coef)
        assert np.allclose(solve(x, y), coef, rtol=1e-4, atol=1e-7), key


def test_fit_with_noise_stays_within_10_percent(true_coef):
    x, y = _synthetic(true_coef[("executorch", "int8")], noise=0.03)
    c = fit_group("executorch", "int8", x, y)
    assert c.within_10pct == 1.0 and c.rms_rel_error < 0.05
    assert np.mean(np.abs(leave_one_out(x, y)) <= 0.10) >= 0.95


def test_fit_coefficients_are_never_negative():
    x, y = _synthetic((0.006, 0.0, 0.0, 0.0, 0.5))
    y = y * np.linspace(0.8, 1.2, len(y))  # data no non-negative model explains exactly
    assert (solve(x, y) >= 0).all()


def test_fit_round_trips_and_names_missing_keys(synthetic_fit, config_dir):
    assert load_fit() == synthetic_fit
    only = LatencyFit(synthetic_fit.host, synthetic_fit.model, synthetic_fit.coefficients[:1])
    save_fit(only)
    with pytest.raises(UserError, match="no latency fit for tflite/int8 .*profile calibrate"):
        load_fit().get("tflite", "int8")


def test_host_prediction_is_the_fit_itself(synthetic_fit, true_coef):
    host = load_profile("host")
    for (backend, name), coef in true_coef.items():
        variant = find_variant(backend, name)
        w = work(CFG, SubnetSpec(0.5, 0.75), 64, variant.linear_bytes)
        assert predict_ms(synthetic_fit, host, variant, CFG, SubnetSpec(0.5, 0.75), 64) == \
            pytest.approx(float(np.dot(w.vector(), coef)))


def test_device_scaling_follows_the_profile(synthetic_fit):
    sub, s = SubnetSpec(1.0, 1.0), 64
    fp32 = find_variant("executorch", "fp32")
    ms = {p: predict_ms(synthetic_fit, load_profile(p), fp32, CFG, sub, s)
          for p in ("budget-a53", "galaxy-a54", "galaxy-s23")}
    assert ms["budget-a53"] > ms["galaxy-a54"] > ms["galaxy-s23"]
    # the memory floor binds where bandwidth is the limit: 10.6 MB of fp32 weights x4 at 7.5 GB/s
    pred = predict_work(synthetic_fit, load_profile("budget-a53"), fp32, work(CFG, sub, 8, 4.0))
    assert pred.ms == pytest.approx(pred.memory_floor_ms) and pred.memory_floor_ms > pred.compute_ms
