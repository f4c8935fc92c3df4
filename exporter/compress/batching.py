"""Which sentences go into a training step, and how much of their padding the step computes.

"length-grouped" (default): each epoch's seeded permutation is cut into chunks of
GROUP_BATCHES batches, each chunk sorted by sentence length and cut into batches, and the batches
shuffled (seeded too): a batch holds sentences of similar length, and the step runs only up to its
longest one (`trim`). The movie sentences average 27 tokens against seq_len 64, so a random batch
of 32 spends about half its compute on padding. "padded": a plain seeded permutation at the
full seq_len (what recipes did before).

The order depends only on (seed, epoch, lengths), so a resumed run and every DDP rank (which shards
the same global batch) see the same batches. Evaluation sorts by length (`sorted_batches`).
"""

import math

import torch

BATCHING = ("length-grouped", "padded")
GROUP_BATCHES = 50   # batches per sorted chunk: large enough to group lengths, small enough to stay random


def epoch_batches(lengths: torch.Tensor, batch_size: int, seed: int, epoch: int, batching: str) -> list[torch.Tensor]:
    """The batches (index tensors) of one epoch, in training order."""
    n = len(lengths)
    g = torch.Generator().manual_seed(seed * 1000 + epoch)
    order = torch.randperm(n, generator=g)
    if batching == "padded":
        return list(order.split(batch_size))
    chunk = batch_size * GROUP_BATCHES
    batches = []
    for part in order.split(chunk):
        ranked = part[torch.sort(lengths[part], descending=True, stable=True).indices]
        batches += list(ranked.split(batch_size))
    return [batches[i] for i in torch.randperm(len(batches), generator=g)]


def batches_per_epoch(n: int, batch_size: int) -> int:
    """Equal for both modes: chunks are whole batches, so only the epoch's last chunk has a short one."""
    return math.ceil(n / batch_size)


def trim(ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Drop the padding columns no sentence of the batch uses (tokens are left-aligned)."""
    width = max(1, int(mask.sum(1).max()))
    return ids[:, :width], mask[:, :width]


def sorted_batches(lengths, batch_size: int) -> list:
    """Evaluation batches: indices sorted by length, cut into batches (callers restore the order)."""
    import numpy as np

    order = np.argsort(np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
