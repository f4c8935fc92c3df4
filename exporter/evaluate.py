"""Logits and accuracy of a PyTorch model over a tokenized split."""

import numpy as np
import torch


@torch.no_grad()
def torch_logits(model: torch.nn.Module, ids: np.ndarray, mask: np.ndarray, batch: int = 128) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(ids), batch):
        out.append(model(torch.from_numpy(ids[i:i + batch]), torch.from_numpy(mask[i:i + batch])).float().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(-1) == labels).mean())
