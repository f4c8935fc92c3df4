"""`dynaedge train --recipe finetune`: the fp32 teacher, cached by (model, data, recipe) hash."""

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from exporter.compress.checkpoint import load_checkpoint, read_meta, save_checkpoint
from exporter.compress.matmul import effective
from exporter.compress.recipe import TrainSpec
from exporter.compress.trainer import Batches, train
from exporter.data.dataset import TaskData
from exporter.data.tokenize import EncodedSplit
from exporter.evaluate import accuracy, torch_logits
from exporter.model.encoder import Encoder
from exporter.model.hf_load import ModelSource
from exporter.paths import cache_dir

log = logging.getLogger("dynaedge")


@dataclass(frozen=True)
class Splits:
    train: EncodedSplit
    dev: EncodedSplit
    test: EncodedSplit


def run_key(source: ModelSource, task: TaskData, spec: TrainSpec) -> str:
    return hashlib.sha256(f"{source.sha256}:{task.sha256}:{spec.sha256}".encode()).hexdigest()[:16]


def cross_entropy_loss(model, ids, mask, labels, step):
    return F.cross_entropy(model(ids, mask), labels)


def finetune_teacher(model: Encoder, source: ModelSource, task: TaskData, splits: Splits, spec: TrainSpec,
                     run_dir: Path | None = None) -> tuple[Encoder, dict]:
    """Fine-tune (or load the cached result); returns the model and its checkpoint metadata."""
    run_dir = Path(run_dir or cache_dir("runs", f"{spec.name}-{run_key(source, task, spec)}"))
    final = run_dir / "final"
    if read_meta(final) is not None:
        log.info("reusing fine-tuned teacher %s", final)
        return load_checkpoint(final)
    torch.manual_seed(spec.seed)
    torch.nn.init.normal_(model.classifier.weight, std=0.02)
    torch.nn.init.zeros_(model.classifier.bias)
    data = Batches(torch.from_numpy(splits.train.ids), torch.from_numpy(splits.train.mask),
                   torch.from_numpy(splits.train.labels))
    train(model, data, spec, cross_entropy_loss, run_dir / "work", desc=f"fine-tune ({spec.name})")
    dev = accuracy(torch_logits(model, splits.dev.ids, splits.dev.mask), splits.dev.labels)
    test = accuracy(torch_logits(model, splits.test.ids, splits.test.mask), splits.test.labels)
    meta = {"kind": "teacher", "recipe": spec.to_dict(), "recipe_sha256": spec.sha256, "matmul": effective(spec.matmul),
            "model": source.describe(), "data": task.describe(),
            "metrics": {"dev_accuracy": dev, "test_accuracy": test}}
    save_checkpoint(final, model, meta)
    return load_checkpoint(final)
