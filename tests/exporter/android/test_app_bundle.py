"""What a bundle puts into the APK: its ExecuTorch choices only, with a manifest listing just those."""

import hashlib
import json

import pytest

from exporter.android.app_bundle import app_bundle
from exporter.bundle import write_manifest
from exporter.errors import UserError


def _artifact(path, backend, precision, runtime, width=1.0):
    data = path.encode()
    return {"path": path, "backend": backend, "precision": precision, "runtime": runtime, "width": width,
            "depth": 1.0, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def _choice(device, family, path, backend):
    return {"device": device, "family": family, "backend": backend, "path": path, "budget_ms": 5.0,
            "subnet": {"width": 1.0, "depth": 1.0, "precision": "int8"}, "predicted_ms": 4.0, "reason": ""}


def _bundle(tmp_path, artifacts, choices):
    tmp_path.mkdir(parents=True)
    for a in artifacts:
        (tmp_path / a["path"]).write_bytes(a["path"].encode())
    (tmp_path / "vocab.txt").write_text("[PAD]\n")
    vocab = {"path": "vocab.txt", "bytes": 6, "sha256": hashlib.sha256(b"[PAD]\n").hexdigest()}
    write_manifest(tmp_path, {"schema": 1, "seq_len": 16, "artifacts": artifacts, "choices": choices, "vocab": vocab})
    return tmp_path


ARTIFACTS = [_artifact("w1-d1-int8-dynamic.pte", "executorch", "int8", "executorch"),
             _artifact("w0.5-d1-int8.pte", "executorch", "int8", "executorch", 0.5),
             _artifact("w1-d1-int8-dynamic.tflite", "tflite", "int8", "litert"),
             _artifact("w1-d1-ternary.pte", "executorch", "ternary", "executorch+ternary")]


def test_packs_exactly_the_executorch_choices(tmp_path):
    choices = [_choice("pixel-8", "executorch", "w1-d1-int8-dynamic.pte", "executorch"),
               _choice("pixel-8", "litert", "w1-d1-int8-dynamic.tflite", "tflite")]
    app = app_bundle(_bundle(tmp_path / "b", ARTIFACTS, choices), tmp_path / "work")
    assert app.packed == ("w1-d1-int8-dynamic.pte",)
    assert [f.name for f in app.files] == ["manifest.json", "manifest.sha256", "vocab.txt", "w1-d1-int8-dynamic.pte"]
    written = json.loads(app.files[0].read_text())
    assert [a["path"] for a in written["artifacts"]] == ["w1-d1-int8-dynamic.pte"]
    assert [c["family"] for c in written["choices"]] == ["executorch"]
    assert sorted(app.left_out) == ["w0.5-d1-int8.pte: no device's ExecuTorch choice",
                                    "w1-d1-int8-dynamic.tflite: runs on litert",
                                    "w1-d1-ternary.pte: runs on executorch+ternary"]


def test_without_choices_every_stock_pte_is_packed(tmp_path):
    app = app_bundle(_bundle(tmp_path / "b", ARTIFACTS, []), tmp_path / "work")
    assert app.packed == ("w1-d1-int8-dynamic.pte", "w0.5-d1-int8.pte")


def test_a_bundle_the_app_cannot_run_is_refused(tmp_path):
    only_lite = [_choice("pixel-8", "litert", "w1-d1-int8-dynamic.tflite", "tflite")]
    with pytest.raises(UserError, match="no ExecuTorch choice"):
        app_bundle(_bundle(tmp_path / "b", ARTIFACTS, only_lite), tmp_path / "w1")
    with pytest.raises(UserError, match="no file the app's stock ExecuTorch runtime runs"):
        app_bundle(_bundle(tmp_path / "c", ARTIFACTS[2:], []), tmp_path / "w2")
    custom = [_choice("pixel-8", "executorch", "w1-d1-ternary.pte", "executorch")]
    with pytest.raises(UserError, match="choices name w1-d1-ternary.pte, which the bundle does not hold as a stock"):
        app_bundle(_bundle(tmp_path / "d", ARTIFACTS, custom), tmp_path / "w3")
