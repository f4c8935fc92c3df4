"""Device tests run against a private config dir and a synthetic latency fit with known numbers."""

import pytest

from exporter.devices.features import FEATURES
from exporter.devices.fit import Coefficients, LatencyFit, save_fit
from exporter.devices.profile import load_profile
from exporter.model.config import EncoderConfig

# ms per unit of FEATURES: (linear MMACs, attention MMACs, elementwise M, layers, const)
TRUE_COEF = {
    ("executorch", "fp32"): (0.0060, 0.010, 0.02, 0.05, 0.10),
    ("executorch", "int8"): (0.0020, 0.010, 0.03, 0.08, 0.15),
    ("tflite", "fp32"): (0.0065, 0.012, 0.02, 0.04, 0.20),
    ("tflite", "int8"): (0.0018, 0.012, 0.04, 0.06, 0.25),
    ("executorch", "int8-dynamic"): (0.0016, 0.010, 0.03, 0.08, 0.15),
    ("tflite", "int8-dynamic"): (0.0015, 0.012, 0.04, 0.06, 0.25),
    ("executorch", "ternary-int4"): (0.0014, 0.010, 0.03, 0.08, 0.15),
    ("tflite", "ternary-int4"): (0.0013, 0.012, 0.04, 0.06, 0.25),
}


@pytest.fixture
def true_coef() -> dict:
    return TRUE_COEF


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    path = tmp_path / "config"
    monkeypatch.setenv("DYNAEDGE_CONFIG", str(path))
    return path


@pytest.fixture
def synthetic_fit(config_dir) -> LatencyFit:
    """Saved as the user's fit; its host numbers are the packaged host profile's (ratio 1 on host)."""
    host = load_profile("host")
    fit = LatencyFit({k: host.number(k) for k in ("threads", "fp32_gflops", "int8_gops", "memory_gbs")},
                     EncoderConfig().to_dict(),
                     tuple(Coefficients(b, p, v, 24, 0.0, 1.0) for (b, p), v in sorted(TRUE_COEF.items())))
    assert len(FEATURES) == 5
    save_fit(fit)
    return fit


@pytest.fixture
def table_rows() -> list[dict]:
    """A supernet accuracy table shaped like `dynaedge report --json` rows (no bytes: estimated)."""
    rows = []
    for w in (0.25, 0.5, 0.75, 1.0):
        for d in (0.5, 0.75, 1.0):
            for p, drop in (("fp32", 0.0), ("int8", 0.004), ("ternary", 0.03)):
                rows.append({"width": w, "depth": d, "precision": p,
                             "dev_accuracy": round(0.70 + 0.1 * w + 0.05 * d - drop, 4)})
    return rows
