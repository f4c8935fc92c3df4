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
