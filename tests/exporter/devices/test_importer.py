"""`profile import`: a phone benchmark JSON shaped like the app's fits the device's scale factors."""

import json

import pytest

from backends.registry import find_variant

from exporter.devices.importer import import_measurements
from exporter.devices.latency import predict_ms
from exporter.devices.profile import load_profile
from exporter.errors import UserError
from exporter.model.config import EncoderConfig
from exporter.model.subnet import SubnetSpec

CFG = EncoderConfig()


def _report(tmp_path, rows, profile="pixel-8", name="pixel-8"):
    """What BenchmarkReport.toJson() writes (android_demo/.../BenchmarkReport.java)."""
    doc = {"device": {"name": name, "model": "Pixel 8", "manufacturer": "Google", "soc": "Tensor G3",
                      "abi": "arm64-v8a", "sdk_int": 34, "profile": profile},
           "rows": [{**r, "p90_ms": r["measured_ms"] * 1.1, "runs": 30, "path": "x.pte"} for r in rows]}
    path = tmp_path / "benchmark.json"
    path.write_text(json.dumps(doc))
    return path


def _rows(fit, factor, backend="executorch", precision="int8", jitter=(1.0, 1.03, 0.97, 1.01)):
    base = load_profile("pixel-8")
    rows = []
    for (w, d), j in zip([(1.0, 1.0), (0.5, 1.0), (0.5, 0.5), (0.25, 0.75)], jitter):
        ms = predict_ms(fit, base, find_variant(backend, precision), CFG, SubnetSpec(w, d), 64, use_scale=False)
        rows.append({"backend": backend, "precision": precision, "width": w, "depth": d, "seq_len": 64,
                     "measured_ms": round(ms * factor * j, 3)})
    return rows


def test_import_fits_the_scale_and_overrides_the_packaged_profile(synthetic_fit, config_dir, tmp_path):
    assert load_profile("pixel-8").scale_for("executorch", "int8") == 1.0
    result = import_measurements(_report(tmp_path, _rows(synthetic_fit, 2.5)))
    assert result["profile"] == "pixel-8" and str(config_dir) in result["path"]
    assert result["scale"]["executorch/int8"] == pytest.approx(2.5, rel=0.03)
    updated = load_profile("pixel-8")
    assert updated.scale_for("executorch", "int8") == pytest.approx(2.5, rel=0.03)
    assert updated.scale_for("executorch", "fp32") == 1.0   # not measured: unchanged
    assert result["within_10pct"] == 1.0
    assert "measured:" in dict(updated.scale)[("executorch", "int8")].source
    after = predict_ms(synthetic_fit, updated, find_variant("executorch", "int8"), CFG, SubnetSpec(1.0, 1.0), 64)
    assert after == pytest.approx(result["rows"][0]["measured_ms"], rel=0.05)


def test_unmatched_device_needs_a_base_profile(synthetic_fit, config_dir, tmp_path):
    path = _report(tmp_path, _rows(synthetic_fit, 1.0), profile=None, name="moto-g-99")
    with pytest.raises(UserError, match="'moto-g-99'.*--profile.*pixel-8"):
        import_measurements(path)
    result = import_measurements(path, profile="galaxy-a54")
    assert result["profile"] == "galaxy-a54"


def test_rows_without_a_host_fit_are_skipped_not_guessed(synthetic_fit, config_dir, tmp_path):
    rows = _rows(synthetic_fit, 1.5) + [{"backend": "executorch", "precision": "ternary", "width": 1.0,
                                          "depth": 1.0, "seq_len": 64, "measured_ms": 3.0}]
    result = import_measurements(_report(tmp_path, rows))
    assert len(result["skipped"]) == 1 and "ternary" in result["skipped"][0]


@pytest.mark.parametrize("content, message", [
    ("not json", "not valid JSON"),
    (json.dumps({"rows": []}), "expected"),
    (json.dumps({"device": {}, "rows": []}), "no rows"),
    (json.dumps({"device": {}, "rows": [{"backend": "executorch"}]}), "row 0 lacks precision"),
])
def test_bad_files_are_named(content, message, tmp_path, synthetic_fit):
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        import_measurements(path)


def test_runs_at_their_own_lengths_fit_the_per_length_model(synthetic_fit, config_dir, tmp_path):
    """The app times a length-adaptive file on each sentence at its own length and writes one
    (length, ms) pair per run: each run is predicted at its length, so a phone 2x the model at every
    length gets factor 2 and every row's mean predicted exactly; read at seq_len, the same runs
    would be judged against 64-token predictions."""
    base, variant = load_profile("pixel-8"), find_variant("executorch", "int8-dynamic")
    rows = []
    for w, d in [(1.0, 1.0), (0.5, 0.5)]:
        lengths = [9, 14, 22, 31, 40, 64]
        times = [round(2.0 * predict_ms(synthetic_fit, base, variant, CFG, SubnetSpec(w, d), n, use_scale=False), 4)
                 for n in lengths]
        rows.append({"backend": "executorch", "precision": "int8", "variant": "int8-dynamic", "width": w, "depth": d,
                     "seq_len": 64, "measured_ms": sorted(times)[3], "lengths": lengths, "times_ms": times})
    result = import_measurements(_report(tmp_path, rows))
    print(f"\nper-length import: scale {result['scale']}, rows {result['rows']}")
    assert result["scale"]["executorch/int8-dynamic"] == pytest.approx(2.0, rel=1e-3)
    assert all(abs(r["error_pct"]) < 0.1 and r["runs_fitted"] == 6 for r in result["rows"])
    rows[0]["times_ms"] = rows[0]["times_ms"][:-1]
    with pytest.raises(UserError, match="has 6 lengths and 5 times_ms; expected one of each per run"):
        import_measurements(_report(tmp_path, rows))
    rows[0]["times_ms"], rows[0]["lengths"] = rows[1]["times_ms"], [9, 14, 22, 31, 40, 65]
    with pytest.raises(UserError, match=r"lengths outside 1..64 \(\[65\]\)"):
        import_measurements(_report(tmp_path, rows))


def test_mixed_rows_need_the_bundle_and_share_the_scale_their_predictions_read(synthetic_fit, config_dir, tmp_path):
    """A mixed file is predicted with the int8-dynamic fit on the work its model keeps, so its runs
    are fitted under executorch/int8-dynamic; its shape comes from the bundle the app ran."""
    from exporter.atomic import write_bytes
    from exporter.bundle import Manifest, file_entry, write_manifest
    from exporter.devices.features import shaped_work
    from exporter.devices.importer import bundle_shapes
    from exporter.devices.latency import predict_work

    shape = {"heads": [11, 11, 9, 8, 6, 4], "neurons": [1536, 1536, 1408, 1280, 1024, 768],
             "linear_bytes": 4_000_000, "int4_weights": 6_000_000}
    bundle = tmp_path / "bundle"
    write_bytes(bundle / "w1-d1-9.5mb-mixed.pte", b"model bytes")
    m = Manifest(model={"name": "tiny"}, data={"name": "d"}, recipe={"name": "r"}, seq_len=64, teacher={})
    m.artifacts.append({**file_entry(bundle / "w1-d1-9.5mb-mixed.pte", bundle), "backend": "executorch",
                        "variant": "mixed", "precision": "mixed", "size_mb": 9.5})
    m.subnets.append({"width": 1.0, "depth": 1.0, "precision": "mixed", "size_mb": 9.5, "shape": shape})
    write_manifest(bundle, m)
    assert bundle_shapes(bundle) == {"w1-d1-9.5mb-mixed.pte": shape}

    mixed = find_variant("executorch", "mixed")
    ms = predict_work(synthetic_fit, load_profile("pixel-8"), mixed, shaped_work(CFG, shape, 64), use_scale=False).ms
    row = {"backend": "executorch", "precision": "mixed", "variant": "mixed", "width": 1.0, "depth": 1.0,
           "seq_len": 64, "measured_ms": round(2.0 * ms, 3)}
    report = _report(tmp_path, _rows(synthetic_fit, 2.0, precision="int8-dynamic") + [row])
    doc = json.loads(report.read_text())
    doc["rows"][-1]["path"] = "w1-d1-9.5mb-mixed.pte"
    report.write_text(json.dumps(doc))

    without = import_measurements(report, write=False)
    assert len(without["skipped"]) == 1 and "--bundle" in without["skipped"][0]
    result = import_measurements(report, shapes=bundle_shapes(bundle))
    print(f"\nmixed row: predicted {ms:.3f} ms unscaled, fitted error {result['rows'][-1]['error_pct']} %")
    assert not result["skipped"] and set(result["scale"]) == {"executorch/int8-dynamic"}
    assert result["scale"]["executorch/int8-dynamic"] == pytest.approx(2.0, rel=0.03)
    assert abs(result["rows"][-1]["error_pct"]) <= 3
