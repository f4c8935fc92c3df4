"""A second export of the same inputs takes its files and parity figures from the artifact cache:
nothing is lowered or run again, the bundle is the same, the manifest says "reused"; a damaged
entry, other weights or --fresh lower again; a changed gate applies to cached figures."""

import numpy as np
import pytest

import exporter.pipeline as pipeline
from backends.base import LowerSpec
from backends.registry import find_variant
from exporter.artifact_cache import lowering_key
from exporter.bundle import read_manifest
from exporter.spec import ExportSpec
from tests.exporter.tiny_export import tiny_bert, tiny_data


@pytest.fixture
def spec(tmp_path, monkeypatch):
    monkeypatch.setenv("DYNAEDGE_CACHE", str(tmp_path / "cache"))
    return ExportSpec(model=str(tiny_bert(tmp_path)), data=str(tiny_data(tmp_path / "data.tsv")),
                      backends=("executorch",), precisions=("fp32",), out=tmp_path / "bundle", threads=1)


def _forbid(what: str):
    def refuse(*args, **kwargs):
        raise AssertionError(f"{what} ran again although the cache holds its result")
    return refuse


def test_second_export_reuses_files_and_figures(spec, tmp_path, monkeypatch):
    first = pipeline.export(spec)
    assert not first.failed and [a["reused"] for a in first.manifest["artifacts"]] == [False]
    monkeypatch.setattr(pipeline, "run_runner", _forbid("verification"))
    monkeypatch.setattr(pipeline, "get_backend", lambda name: type("NoLowering", (), {
        "lower": _forbid("lowering"), "load": _forbid("a runner")})())
    from dataclasses import replace
    second = pipeline.export(replace(spec, out=tmp_path / "again"))
    a, b = first.manifest["artifacts"][0], second.manifest["artifacts"][0]
    assert b["reused"] is True and b["sha256"] == a["sha256"] and b["parity"] == a["parity"]
    read_manifest(tmp_path / "again")  # sealed and complete


def test_damaged_entry_other_weights_and_fresh_lower_again(spec, tmp_path, monkeypatch):
    from dataclasses import replace

    import torch
    pipeline.export(spec)
    for entry in (tmp_path / "cache" / "artifacts").glob("*/file.bin"):
        entry.write_bytes(entry.read_bytes()[:100])  # truncated: its sha256 no longer matches
    again = pipeline.export(replace(spec, out=tmp_path / "b2"))
    assert [a["reused"] for a in again.manifest["artifacts"]] == [False]
    fresh = pipeline.export(replace(spec, out=tmp_path / "b3", reuse=False))
    assert [a["reused"] for a in fresh.manifest["artifacts"]] == [False]

    ids = np.ones((2, 16), dtype=np.int32)
    lower = LowerSpec("fp32", 16, ids, ids)
    model = torch.nn.Linear(3, 2)
    key = lowering_key(model, lower, find_variant("executorch", "fp32"))
    with torch.no_grad():
        model.weight[0, 0] += 1e-6
    assert lowering_key(model, lower, find_variant("executorch", "fp32")) != key
    assert lowering_key(model, LowerSpec("fp32", 16, ids, 0 * ids), find_variant("executorch", "fp32")) != \
        lowering_key(model, lower, find_variant("executorch", "fp32"))


def test_a_stricter_gate_applies_to_cached_figures(spec, tmp_path, monkeypatch):
    import exporter.verify as verify
    from dataclasses import replace

    assert not pipeline.export(spec).failed
    monkeypatch.setitem(verify.THRESHOLDS, "fp32", verify.Thresholds(min_sqnr_db=1e9))
    result = pipeline.export(replace(spec, out=tmp_path / "strict"))
    assert result.failed and "SQNR" in result.failed[0]
    assert result.manifest["rejected"][0]["reused"] is True
