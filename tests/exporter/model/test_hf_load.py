"""Bad model inputs give one clear UserError naming the problem."""

import json
import shutil

import pytest

from exporter.errors import UserError
from exporter.model.hf_load import load_encoder


def test_missing_path(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_encoder(str(tmp_path / "nope"))


def test_directory_without_weights(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(UserError, match="no model.safetensors .*pytorch_model.bin"):
        load_encoder(str(tmp_path))


def test_non_bert_architecture_names_supported(tiny_hf_dir):
    cfg = json.loads((tiny_hf_dir / "config.json").read_text())
    cfg.update(model_type="gpt2", architectures=["GPT2LMHeadModel"])
    (tiny_hf_dir / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(UserError, match="GPT2LMHeadModel.*not supported.*BertModel"):
        load_encoder(str(tiny_hf_dir))


@pytest.mark.parametrize("cut", [0.5, 0.99])
def test_truncated_safetensors(tiny_hf_dir, cut):
    weights = tiny_hf_dir / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[:int(len(data) * cut)])
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_encoder(str(tiny_hf_dir))


def test_garbage_safetensors(tiny_hf_dir):
    (tiny_hf_dir / "model.safetensors").write_bytes(b"\xff" * 64)
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_encoder(str(tiny_hf_dir))


def test_pickle_file_refused(tmp_path):
    f = tmp_path / "model.bin"
    f.write_bytes(b"x")
    with pytest.raises(UserError, match="not a .safetensors"):
        load_encoder(str(f))


def test_safetensors_file_path_and_shape_mismatch(tiny_hf_dir, tmp_path):
    enc, source = load_encoder(str(tiny_hf_dir / "model.safetensors"))
    assert source.sha256 and enc.cfg.layers == 4
    cfg = json.loads((tiny_hf_dir / "config.json").read_text())
    cfg["intermediate_size"] = 96
    other = tmp_path / "mismatch"
    shutil.copytree(tiny_hf_dir, other)
    (other / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(UserError, match="has shape"):
        load_encoder(str(other))
