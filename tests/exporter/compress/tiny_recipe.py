"""A supernet recipe and a learnable task small enough for unit tests (seconds on 2 cores)."""

import numpy as np

from exporter.compress.finetune import Splits
from exporter.data.tokenize import EncodedSplit

TINY_RECIPE = {
    "name": "tiny", "teacher": "finetune", "seq_len": 16, "seed": 7, "importance_batches": 2,
    "eval_widths": [0.5, 1.0], "eval_depths": [0.5, 1.0],
    "phase": [
        {"name": "width", "report": "none", "widths": [1.0, 0.5], "steps": 4, "batch_size": 8, "learning_rate": 1e-3,
         "checkpoint_every": 2, "loss": {"logits": 1.0, "hidden": 1.0, "embedding": 1.0, "attention": 1.0}},
        {"name": "width_depth", "start": "width", "teacher": "width", "teacher_slice": "width",
         "widths": [1.0, 0.5], "depths": [1.0, 0.5], "steps": 4, "batch_size": 8, "learning_rate": 1e-3,
         "checkpoint_every": 2, "loss": {"logits": 1.0, "hidden": 1.0}},
        {"name": "ternary", "start": "width_depth", "teacher": "width_depth", "teacher_slice": "same", "precision": "ternary", "lat": True,
         "widths": [1.0, 0.5], "depths": [1.0, 0.5], "steps": 4, "batch_size": 8, "learning_rate": 1e-3,
         "checkpoint_every": 2, "loss": {"logits": 1.0, "hidden": 1.0}},
        {"name": "no_distill", "start": "width_depth", "precision": "ternary", "widths": [0.5],
         "steps": 3, "batch_size": 8, "learning_rate": 1e-3, "report": "own", "variant": "no-distill",
         "loss": {"logits": 0.0, "hard": 1.0}},
        {"name": "xtc", "kind": "xtc", "student_layers": 2, "steps": 3, "batch_size": 8, "learning_rate": 1e-3,
         "report": "own", "variant": "xtc", "loss": {"logits": 1.0, "hidden": 1.0}},
    ],
}


def tiny_splits(vocab: int = 120, seq: int = 16, n: int = 48, seed: int = 0) -> Splits:
    """Label = whether token 7 occurs: learnable, so a few steps move the accuracy."""
    rng = np.random.default_rng(seed)

    def split(m):
        ids = rng.integers(5, vocab, (m, seq)).astype(np.int32)
        ids[:, 0] = 2
        mask = np.ones_like(ids)
        labels = rng.integers(0, 2, m)
        ids[labels == 1, 3] = 7
        ids[labels == 0] = np.where(ids[labels == 0] == 7, 8, ids[labels == 0])
        return EncodedSplit(ids, mask, labels.astype(np.int64), tuple("" for _ in range(m)))

    return Splits(split(n), split(16), split(16))
