"""The training loop, readable top to bottom: seeded batches, AdamW, linear schedule, resume.

Determinism: the batch order of epoch e is a permutation seeded by (seed, e), and dropout is
reseeded from (seed, step) before every step, so a run resumed from a checkpoint at step s
computes exactly what the uninterrupted run would have from step s on.
"""

import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from exporter.atomic import write_bytes, write_json
from exporter.compress.recipe import TrainSpec

LossFn = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]


@dataclass(frozen=True)
class Batches:
    """Tokenized training data as tensors."""

    ids: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def lr_at(step: int, total: int, spec: TrainSpec) -> float:
    warmup = max(1, int(total * spec.warmup_fraction))
    if step < warmup:
        return spec.learning_rate * (step + 1) / warmup
    return spec.learning_rate * max(0.0, (total - step) / max(1, total - warmup))


def batch_indices(n: int, step: int, spec: TrainSpec) -> torch.Tensor:
    per_epoch = math.ceil(n / spec.batch_size)
    epoch, k = divmod(step, per_epoch)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(spec.seed * 1000 + epoch))
    return order[k * spec.batch_size:(k + 1) * spec.batch_size]


def _save_resume(directory: Path, model, optimizer, step: int) -> None:
    from safetensors.torch import save
    opt = optimizer.state_dict()
    tensors = {f"model.{k}": v.detach().contiguous() for k, v in model.state_dict().items()}
    for idx, slots in opt["state"].items():
        for slot, value in slots.items():
            tensors[f"opt.{idx}.{slot}"] = torch.as_tensor(value).contiguous()
    write_bytes(directory / "resume.safetensors", save(tensors))
    write_json(directory / "resume.json", {"step": step})  # last: marks the pair complete


def _load_resume(directory: Path, model, optimizer) -> int:
    from safetensors.torch import load_file
    meta = directory / "resume.json"
    if not meta.exists():
        return 0
    tensors = load_file(str(directory / "resume.safetensors"))
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    opt = optimizer.state_dict()
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, idx, slot = key.split(".", 2)
            state.setdefault(int(idx), {})[slot] = value
    opt["state"] = state
    optimizer.load_state_dict(opt)
    return json.loads(meta.read_text())["step"]


def train(model: torch.nn.Module, data: Batches, spec: TrainSpec, loss_fn: LossFn, work_dir: Path,
          desc: str = "train", params=None, max_steps: int | None = None) -> torch.nn.Module:
    """Train in place; checkpoints every `spec.checkpoint_every` steps into `work_dir` and resumes from them.

    `max_steps` stops early (tests use it to simulate an interrupted run).
    """
    from tqdm import tqdm

    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    params = list(params if params is not None else model.parameters())
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": spec.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=spec.learning_rate)
    total = spec.epochs * math.ceil(len(data) / spec.batch_size)
    start = _load_resume(work_dir, model, optimizer)
    stop = total if max_steps is None else min(total, max_steps)
    model.train()
    bar = tqdm(range(start, stop), total=total, initial=start, desc=desc, unit="step", dynamic_ncols=True)
    for step in bar:
        torch.manual_seed(spec.seed * 1_000_003 + step)
        idx = batch_indices(len(data), step, spec)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, total, spec)
        loss = loss_fn(model, data.ids[idx], data.mask[idx], data.labels[idx], step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        bar.set_postfix(loss=f"{loss.item():.4f}")
        if (step + 1) % spec.checkpoint_every == 0 and step + 1 < total:
            _save_resume(work_dir, model, optimizer, step + 1)
    bar.close()
    model.eval()
    if stop == total:
        for name in ("resume.json", "resume.safetensors"):
            (work_dir / name).unlink(missing_ok=True)
    return model


def clear(work_dir: Path) -> None:
    shutil.rmtree(work_dir, ignore_errors=True)
