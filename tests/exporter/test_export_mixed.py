"""`export --precision mixed --mixed-mb S` on a tiny model: the mixed recipe's run is trained once, its
frozen model lowered to a stock .pte and a stock .tflite named by its size, each run in its runtime on
every dev sentence and gated; the manifest's artifacts and row carry the size."""

import pytest

from exporter.bundle import read_manifest
from exporter.pipeline import export
from exporter.spec import ExportSpec
from tests.exporter.tiny_export import tiny_bert, tiny_data


def _few_steps(monkeypatch):
    """Recipe `mixed` with the tiny test's few steps (the real one trains 600 steps: ~50 s here)."""
    import exporter.compress.supernet as supernet
    from exporter.compress.supernet_recipe import parse_supernet_recipe
    from tests.exporter.compress.test_mixed import TINY_MIXED

    real = supernet.load_supernet_recipe
    tiny = {**TINY_MIXED, "name": "mixed", "seq_len": real("mixed").seq_len}
    monkeypatch.setattr(supernet, "load_supernet_recipe",
                        lambda name: parse_supernet_recipe(tiny, "mixed") if name == "mixed" else real(name))


def test_a_tiny_mixed_export_writes_and_verifies_one_file_per_size_and_backend(tmp_path, monkeypatch):
    monkeypatch.setenv("DYNAEDGE_CACHE", str(tmp_path / "cache"))
    _few_steps(monkeypatch)
    spec = ExportSpec(model=str(tiny_bert(tmp_path)), data=str(tiny_data(tmp_path / "data.tsv")),
                      backends=("executorch", "tflite"), precisions=("mixed",), mixed_mb=(0.06,),
                      out=tmp_path / "bundle", threads=1)
    result = export(spec)
    assert not result.failed
    artifacts = sorted(result.manifest["artifacts"], key=lambda a: a["path"])
    for artifact in artifacts:
        parity = artifact["parity"]
        print(f"\ntiny mixed {artifact['path']}: {artifact['bytes']} B, SQNR {parity['sqnr_db']:.1f} dB, agreement "
              f"{parity['label_agreement']:.3f}, dev {parity['dev_accuracy']:.3f} vs {parity['reference_accuracy']:.3f}")
        assert (tmp_path / "bundle" / artifact["path"]).stat().st_size == artifact["bytes"]
    assert [(a["path"], a["backend"], a["variant"], a["gate"], a["size_mb"]) for a in artifacts] == [
        ("w1-d1-0.06mb-mixed.pte", "executorch", "mixed", "mixed", 0.06),
        ("w1-d1-0.06mb-mixed.tflite", "tflite", "mixed", "mixed", 0.06)]
    (row,) = [r for r in result.manifest["subnets"] if r["precision"] == "mixed"]
    assert row["size_mb"] == 0.06 and set(row["shape"]) == {"heads", "neurons", "linear_bytes", "int4_weights"}
    read_manifest(tmp_path / "bundle")  # sealed and complete
