"""Manifest round trip and sha256 checks on read."""

import pytest

from exporter.atomic import write_bytes
from exporter.bundle import Manifest, file_entry, read_manifest, write_manifest
from exporter.errors import UserError


def _bundle(tmp_path):
    write_bytes(tmp_path / "m.pte", b"model bytes")
    write_bytes(tmp_path / "vocab.txt", b"[PAD]\n")
    m = Manifest(model={"name": "tiny", "sha256": "ab"}, data={"name": "d"}, recipe={"name": "r"}, seq_len=16,
                 teacher={"dev_accuracy": 0.5, "test_accuracy": 0.5})
    m.artifacts.append({**file_entry(tmp_path / "m.pte", tmp_path), "backend": "executorch", "precision": "fp32"})
    m.vocab = file_entry(tmp_path / "vocab.txt", tmp_path)
    write_manifest(tmp_path, m)
    return m


def test_round_trip(tmp_path):
    m = _bundle(tmp_path)
    assert read_manifest(tmp_path) == m.to_dict()
    assert read_manifest(tmp_path)["schema"] == 1


def test_modified_artifact_is_detected(tmp_path):
    _bundle(tmp_path)
    (tmp_path / "m.pte").write_bytes(b"tampered")
    with pytest.raises(UserError, match="m.pte: sha256 .* modified or is corrupt"):
        read_manifest(tmp_path)


def test_missing_manifest_and_file(tmp_path):
    with pytest.raises(UserError, match="no manifest.json"):
        read_manifest(tmp_path)
    _bundle(tmp_path)
    (tmp_path / "vocab.txt").unlink()
    with pytest.raises(UserError, match="vocab.txt listed in the manifest is missing"):
        read_manifest(tmp_path)


def _truncate(d):
    (d / "m.pte").write_bytes(b"model")


def _rename(d):
    (d / "m.pte").rename(d / "renamed.pte")


def _add(d):
    (d / "extra.tflite").write_bytes(b"x")


def _remove(d):
    (d / "m.pte").unlink()


def _edit_manifest(d):
    text = (d / "manifest.json").read_text()
    (d / "manifest.json").write_text(text.replace('"seq_len": 16', '"seq_len": 32'))


def _drop_seal(d):
    (d / "manifest.sha256").unlink()


@pytest.mark.parametrize("change, message", [
    (_truncate, "bundle file m.pte: sha256 .* modified or is corrupt"),
    (_rename, "bundle file m.pte listed in the manifest is missing"),
    (_add, "bundle file extra.tflite is not listed in the manifest"),
    (_remove, "bundle file m.pte listed in the manifest is missing"),
    (_edit_manifest, "bundle file manifest.json: sha256 .* the manifest was edited after export"),
    (_drop_seal, "bundle file manifest.sha256 is missing"),
])
def test_a_bundle_changed_after_export_is_refused_naming_the_file(tmp_path, change, message):
    _bundle(tmp_path)
    read_manifest(tmp_path)
    change(tmp_path)
    with pytest.raises(UserError, match=message) as err:
        read_manifest(tmp_path)
    assert "\n" not in str(err.value)


def test_seal_is_sha256sum_format(tmp_path):
    import hashlib

    _bundle(tmp_path)
    digest, name = (tmp_path / "manifest.sha256").read_text().split()
    assert name == "manifest.json" and digest == hashlib.sha256((tmp_path / "manifest.json").read_bytes()).hexdigest()


def test_optional_sentences_file_is_allowed(tmp_path):
    _bundle(tmp_path)
    (tmp_path / "sentences.txt").write_text("a fine film\n")
    read_manifest(tmp_path)


def test_missing_bundle_after_an_interrupted_fallback_swap_names_the_previous_one(tmp_path):
    from exporter.atomic import previous_dir

    target = tmp_path / "bundle"
    previous_dir(target).mkdir()
    with pytest.raises(UserError, match=r"killed while swapping.*\.bundle\.previous"):
        read_manifest(target)
