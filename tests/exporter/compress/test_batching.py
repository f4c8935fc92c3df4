"""Length-grouped batches: every sentence once per epoch, reproducible, shorter steps; trimmed
evaluation gives the padded input's logits."""

import numpy as np
import pytest
import torch

from exporter.compress.batching import batches_per_epoch, epoch_batches, sorted_batches, trim
from exporter.compress.recipe import TrainSpec
from exporter.errors import UserError
from exporter.evaluate import torch_logits


def _lengths(n=1000, seed=0):
    # shaped like the movie sentences: mean ~27 of 64
    return torch.from_numpy(np.clip(np.random.default_rng(seed).normal(27, 10, n), 3, 64).astype(np.int64))


@pytest.mark.parametrize("batching", ["length-grouped", "padded", "trimmed"])
def test_every_sentence_once_per_epoch_and_reproducible(batching):
    lengths = _lengths(1003)
    batches = epoch_batches(lengths, 32, seed=7, epoch=3, batching=batching)
    assert len(batches) == batches_per_epoch(1003, 32)
    assert sorted(torch.cat(batches).tolist()) == list(range(1003))
    again = epoch_batches(lengths, 32, seed=7, epoch=3, batching=batching)
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    other = epoch_batches(lengths, 32, seed=7, epoch=4, batching=batching)
    assert not all(torch.equal(a, b) for a, b in zip(batches, other))


def test_grouped_batches_compute_less_padding():
    lengths = _lengths(4000)
    def padded_tokens(batching):
        return sum(len(b) * int(lengths[b].max()) for b in epoch_batches(lengths, 32, 1, 0, batching))
    grouped, random = padded_tokens("length-grouped"), padded_tokens("padded")
    real = int(lengths.sum())
    print(f"tokens computed per epoch: grouped {grouped}, random {random}, real {real}")
    assert grouped < 0.8 * random
    assert grouped < 1.15 * real


def test_trimmed_steps_draw_the_padded_batches():
    """"trimmed" changes how much of a batch is computed, never which sentences are in it."""
    lengths = _lengths(500)
    padded = epoch_batches(lengths, 32, seed=3, epoch=1, batching="padded")
    trimmed = epoch_batches(lengths, 32, seed=3, epoch=1, batching="trimmed")
    assert all(torch.equal(a, b) for a, b in zip(padded, trimmed))


def test_trim_drops_only_unused_columns():
    mask = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0]])
    ids, trimmed = trim(mask * 5, mask)
    assert trimmed.shape == (2, 3) and torch.equal(trimmed, mask[:, :3]) and torch.equal(ids, 5 * mask[:, :3])


def test_sorted_batches_cover_all_in_length_order():
    lengths = np.array([5, 1, 9, 3, 7])
    batches = sorted_batches(lengths, 2)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(5)) and list(lengths[flat]) == sorted(lengths)


def test_trimmed_evaluation_equals_padded(tiny_model, tiny_inputs):
    ids, mask = tiny_inputs
    got = torch_logits(tiny_model, ids, mask, batch=5)
    with torch.no_grad():
        want = tiny_model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    error = float(np.abs(got - want).max())
    print(f"max |trimmed - padded| logit = {error:.2e}")
    assert error < 1e-5


def test_unknown_batching_names_the_choices():
    with pytest.raises(UserError, match="length-grouped"):
        TrainSpec(name="x", batching="bucketed")
