"""Shared fixtures: tiny random BERT configs (fast unit tests) and the offline default model."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from exporter.model.config import EncoderConfig
from exporter.model.encoder import Encoder

TINY = EncoderConfig(vocab_size=120, hidden=32, layers=4, heads=4, ffn=64, max_positions=64, num_labels=2)
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(115)]


@pytest.fixture
def tiny_model() -> Encoder:
    torch.manual_seed(0)
    model = Encoder(TINY).eval()
    # Random LayerNorm affine params, so tests notice a mixed-up norm.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.fixture
def tiny_inputs():
    rng = np.random.default_rng(0)
    ids = rng.integers(5, TINY.vocab_size, (24, 16)).astype(np.int32)
    ids[:, 0] = 2
    mask = np.ones_like(ids)
    for row, length in enumerate(rng.integers(4, 17, len(ids))):
        ids[row, length:] = 0
        mask[row, length:] = 0
    return ids, mask


@pytest.fixture
def tiny_hf_dir(tmp_path) -> Path:
    """A random transformers BertModel saved as safetensors + config.json + vocab.txt."""
    from transformers import BertConfig, BertModel

    cfg = BertConfig(vocab_size=TINY.vocab_size, hidden_size=TINY.hidden, num_hidden_layers=TINY.layers,
                     num_attention_heads=TINY.heads, intermediate_size=TINY.ffn,
                     max_position_embeddings=TINY.max_positions)
    torch.manual_seed(1)
    model = BertModel(cfg).eval()
    out = tmp_path / "tiny-bert"
    model.save_pretrained(out, safe_serialization=True)
    (out / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return out


@pytest.fixture(scope="session")
def default_model_dir() -> Path:
    from exporter.model.default import default_model_dir as find
    return find()


@pytest.fixture(scope="session")
def real_bundle(tmp_path_factory) -> tuple[Path, dict]:
    """`dynaedge export --target android` on the offline default model and data, run once per session.

    Slow on a fresh machine (fine-tuning ~10 min on 2 cores, then cached by hash in
    ~/.cache/dynaedge); the e2e and APK tests share it.
    """
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("bundle")
    done = subprocess.run([sys.executable, "-m", "exporter.cli", "export", "--target", "android", "--out", str(out),
                           "--json"], capture_output=True, text=True, timeout=3600)
    assert done.returncode == 0, done.stderr[-4000:]
    return out, json.loads(done.stdout)


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path
