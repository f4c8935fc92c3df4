"""Logits and accuracy of a PyTorch model over a tokenized split."""

import numpy as np
import torch


@torch.no_grad()
def torch_logits(model: torch.nn.Module, ids: np.ndarray, mask: np.ndarray, batch: int = 128) -> np.ndarray:
    """Batches of similar length, each run up to its longest sentence (padding is masked, so the
    logits are those of the padded input), returned in the input's order."""
    from exporter.compress.batching import sorted_batches, trim

    model.eval()
    out = None
    for idx in sorted_batches(mask.sum(1), batch):
        logits = model(*trim(torch.from_numpy(ids[idx]), torch.from_numpy(mask[idx]))).float().numpy()
        out = np.zeros((len(ids), logits.shape[1]), np.float32) if out is None else out
        out[idx] = logits
    return out if out is not None else np.zeros((0, 0), np.float32)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(-1) == labels).mean())
