"""Model checkpoints: weights as safetensors + metadata as JSON, both written atomically."""

import json
from pathlib import Path

import torch

from exporter.atomic import crash_point, write_bytes, write_json
from exporter.errors import UserError
from exporter.model.config import EncoderConfig
from exporter.model.encoder import Encoder
from exporter.model.subnet import SubnetSpec

WEIGHTS, META = "model.safetensors", "checkpoint.json"


def save_checkpoint(directory: Path, model: Encoder, meta: dict) -> None:
    from safetensors.torch import save

    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    write_bytes(directory / WEIGHTS, save(state))
    crash_point(f"checkpoint:{Path(directory).name}")
    # Metadata last: a checkpoint without its JSON is treated as absent.
    write_json(directory / META, {"config": model.cfg.to_dict(),
                                  "built": {"width": model.built.width, "depth": model.built.depth}, **meta})


def read_meta(directory: Path) -> dict | None:
    path = Path(directory) / META
    return json.loads(path.read_text()) if path.exists() else None


def load_checkpoint(directory: Path) -> tuple[Encoder, dict]:
    from safetensors.torch import load_file

    meta = read_meta(directory)
    if meta is None or not (Path(directory) / WEIGHTS).exists():
        raise UserError(f"{directory} is not a dynaedge checkpoint (no {META} / {WEIGHTS})")
    model = Encoder(EncoderConfig.from_dict(meta["config"]), SubnetSpec(**meta["built"]))
    model.load_state_dict(load_file(str(Path(directory) / WEIGHTS)))
    return model.eval(), meta
