"""Load Hugging Face BERT weights (safetensors only: no pickle) into our Encoder.

Accepted: a directory with config.json + model.safetensors (+ vocab.txt / tokenizer.json),
a path to a .safetensors file with config.json beside it, or a hub id (needs a reachable hub).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import torch

from exporter.atomic import sha256_file
from exporter.errors import UserError
from exporter.model.config import EncoderConfig
from exporter.model.encoder import Encoder

# Our parameter name -> Hugging Face BertModel name (without any "bert." prefix).
_TOP = {
    "word.weight": "embeddings.word_embeddings.weight",
    "position.weight": "embeddings.position_embeddings.weight",
    "token_type.weight": "embeddings.token_type_embeddings.weight",
    "emb_norm.weight": "embeddings.LayerNorm.weight",
    "emb_norm.bias": "embeddings.LayerNorm.bias",
}
_LAYER = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "attn_out": "attention.output.dense", "attn_norm": "attention.output.LayerNorm",
    "ffn_in": "intermediate.dense", "ffn_out": "output.dense", "ffn_norm": "output.LayerNorm",
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model came from, for the manifest."""

    model_dir: Path
    weights: Path
    name: str
    sha256: str

    def describe(self) -> dict:
        return {"name": self.name, "path": str(self.weights), "sha256": self.sha256}


def hf_name(ours: str) -> str:
    if ours in _TOP:
        return _TOP[ours]
    _, index, module, kind = ours.split(".")
    return f"encoder.layer.{index}.{_LAYER[module]}.{kind}"


def _legacy(name: str) -> str:
    # Old TF-converted checkpoints call LayerNorm parameters gamma/beta.
    return name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")


def resolve(model: str) -> tuple[Path, Path]:
    """(model_dir, weights file) for a path or hub id; UserError naming what is missing."""
    path = Path(model)
    if path.is_file():
        if path.suffix != ".safetensors":
            raise UserError(f"model file {str(path)!r} is not a .safetensors file (pickled .bin/.pt "
                            "checkpoints are not loaded: convert them to safetensors)")
        return path.parent, path
    if path.is_dir():
        weights = path / "model.safetensors"
        if not weights.exists():
            others = sorted(p.name for p in path.iterdir() if p.suffix in (".bin", ".pt", ".h5", ".safetensors"))
            hint = f" (found {', '.join(others)}; only safetensors is loaded)" if others else ""
            raise UserError(f"model directory {str(path)!r} has no model.safetensors{hint}")
        return path, weights
    if model.count("/") == 1 and not model.startswith((".", "/")):
        return _download_hub(model)
    raise UserError(f"model path {model!r} does not exist (give a directory with config.json + "
                    "model.safetensors, a .safetensors file, or a hub id like org/name)")


def _download_hub(repo_id: str) -> tuple[Path, Path]:
    try:
        from huggingface_hub import snapshot_download
        local = Path(snapshot_download(repo_id, allow_patterns=["config.json", "model.safetensors", "vocab.txt",
                                                                  "tokenizer.json", "tokenizer_config.json"]))
    except Exception as err:  # offline, unknown repo, auth: all are the user's to fix
        raise UserError(f"could not fetch model {repo_id!r} from the Hugging Face hub "
                        f"({type(err).__name__}); pass a local directory with --model") from None
    return resolve(str(local))


def read_config(model_dir: Path, num_labels: int) -> EncoderConfig:
    path = model_dir / "config.json"
    if not path.exists():
        raise UserError(f"{model_dir}: no config.json next to the weights")
    try:
        cfg = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    try:
        return EncoderConfig.from_hf(cfg, num_labels=num_labels, where=str(path))
    except KeyError as err:
        raise UserError(f"{path}: missing field {err.args[0]!r}") from None


def read_tensors(weights: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        return load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise UserError(f"{weights}: corrupt or truncated safetensors file ({err})") from None


def load_encoder(model: str, num_labels: int = 2) -> tuple[Encoder, ModelSource]:
    """Our Encoder with the BERT weights of `model`; the head is new unless the file has one."""
    model_dir, weights = resolve(model)
    cfg = read_config(model_dir, num_labels)
    tensors = read_tensors(weights)
    prefix = "bert." if any(k.startswith("bert.") for k in tensors) else ""
    enc = Encoder(cfg)
    state = enc.state_dict()
    for ours in state:
        if ours.startswith("classifier."):
            continue
        name = prefix + hf_name(ours)
        src = tensors.get(name, tensors.get(_legacy(name)))
        if src is None:
            raise UserError(f"{weights}: tensor {name!r} is missing; is this a BERT checkpoint?")
        if tuple(src.shape) != tuple(state[ours].shape):
            raise UserError(f"{weights}: tensor {name!r} has shape {tuple(src.shape)}, "
                            f"config.json implies {tuple(state[ours].shape)}")
        state[ours] = src.to(torch.float32)
    head = tensors.get("classifier.weight")
    if head is not None and head.shape == state["classifier.weight"].shape:
        state["classifier.weight"], state["classifier.bias"] = head.float(), tensors["classifier.bias"].float()
    enc.load_state_dict(state)
    name = model if not Path(model).exists() else model_dir.name
    return enc.eval(), ModelSource(model_dir, weights, name, sha256_file(weights))
