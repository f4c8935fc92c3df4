"""The one small protocol every runtime implements: lower a model, load an artifact, run it.

Backends import exporter.model and these specs only, never the pipeline or the CLI.
Heavy runtimes (executorch, tensorflow, litert_torch) are imported inside the methods.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from backends.lengths import MIN_LENGTH  # noqa: F401  (re-exported: backends and the pipeline read it here)


@dataclass(frozen=True)
class LowerSpec:
    precision: str                 # a backends.variant.PRECISIONS key the backend supports
    seq_len: int                   # batch 1 x at most seq_len tokens (exactly seq_len for fixed-length files)
    calibration_ids: np.ndarray    # int32 [n, seq_len] real training sentences for int8 calibration
    calibration_mask: np.ndarray
    options: tuple[tuple[str, str], ...] = ()  # backend-specific switches, e.g. (("int8_mode", "dynamic"),)

    def option(self, key: str, default: str) -> str:
        return dict(self.options).get(key, default)

    def example_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.from_numpy(self.calibration_ids[:1].copy()), torch.from_numpy(self.calibration_mask[:1].copy()))


@dataclass(frozen=True)
class Lowered:
    """A lowered model in memory, not yet verified or written."""

    data: bytes
    backend: str
    precision: str
    quantization: str                       # human-readable scheme, e.g. "static per-channel int8"
    delegates: dict[str, int] = field(default_factory=dict)  # op counts per delegate / runtime
    fallbacks: tuple[str, ...] = ()          # anything not lowered as asked, and why
    output_scale: float | None = None        # quantized int8 outputs are dequantized by the runner
    max_len: int | None = None               # accepts any length MIN_LENGTH..max_len; None: exactly seq_len
    buckets: tuple[int, ...] = ()            # a length runs padded to the first bucket >= it (one graph each)


class Runner(Protocol):
    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """int32 [1, seq_len] ids and mask -> float32 [1, num_labels] logits. A runner of a
        length-adaptive file runs the sentence at its own length (`at_own_length`)."""


class Backend(Protocol):
    name: str
    suffix: str
    precisions: tuple[str, ...]

    def lower(self, model: torch.nn.Module, spec: LowerSpec) -> Lowered: ...

    def load(self, path: Path, threads: int = 2) -> Runner: ...


def calibrate(module, spec: LowerSpec, limit: int = 256, desc: str = "calibrate", own_length: bool = False) -> None:
    """Run real sentences through an observed (prepare_pt2e) module, with a progress bar;
    `own_length`: each at its own length, as a length-adaptive file will run it (else padded)."""
    from tqdm import tqdm

    n = min(limit, len(spec.calibration_ids))
    for i in tqdm(range(n), desc=desc, unit="sent", leave=False):
        ids, mask = spec.calibration_ids[i:i + 1], spec.calibration_mask[i:i + 1]
        if own_length:
            ids, mask = at_own_length(ids, mask)
        module(torch.from_numpy(ids.copy()), torch.from_numpy(mask.copy()))


def length_dims(seq_len: int) -> dict:
    """`dynamic_shapes` for torch.export of forward(ids, mask): dim 1 of both is the length,
    MIN_LENGTH..seq_len (the files of both backends that take any length are exported with it)."""
    seq = torch.export.Dim("seq", min=MIN_LENGTH, max=seq_len)
    return {"ids": {1: seq}, "mask": {1: seq}}


def is_split_linear(module) -> bool:
    """A frozen mixed model's Linear (exporter/compress/freeze_mixed.SplitLinear), known by its
    interface: backends import nothing from exporter.compress."""
    return isinstance(getattr(module, "storages", None), list) and hasattr(module, "part_weight")


def at_own_length(ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One sentence [1, seq_len] without its padding (tokens are left-aligned)."""
    n = max(MIN_LENGTH, int(mask.sum()))
    return ids[:, :n], mask[:, :n]
