"""Logits and accuracy of a PyTorch model over a tokenized split."""

import numpy as np
import torch


@torch.no_grad()
def torch_logits(model: torch.nn.Module, ids: np.ndarray, mask: np.ndarray, batch: int = 128) -> np.ndarray:
    """Batches of similar length, each run up to its longest sentence (padding is masked, so the
    logits are those of the padded input), returned in the input's order."""
    model.eval()
    return _sorted_run(lambda i, m: [model(i, m)], 1, ids, mask, batch)[0]


@torch.no_grad()
def slice_logits(model, ids: np.ndarray, mask: np.ndarray, slices: list, batch: int = 128) -> list[np.ndarray]:
    """`torch_logits` of several slices of one supernet (Encoder.slice_logits: shared layer outputs
    computed once); the same values as setting each slice active in turn."""
    model.eval()
    return _sorted_run(lambda i, m: model.slice_logits(i, m, slices), len(slices), ids, mask, batch)


def _sorted_run(run, outputs: int, ids: np.ndarray, mask: np.ndarray, batch: int) -> list[np.ndarray]:
    from exporter.compress.batching import sorted_batches, trim

    out = [np.zeros((0, 0), np.float32)] * outputs
    for idx in sorted_batches(mask.sum(1), batch):
        for k, logits in enumerate(run(*trim(torch.from_numpy(ids[idx]), torch.from_numpy(mask[idx])))):
            logits = logits.float().numpy()
            if out[k].shape[0] != len(ids):
                out[k] = np.zeros((len(ids), logits.shape[1]), np.float32)
            out[k][idx] = logits
    return out


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(-1) == labels).mean())
