"""Sentence-length statistics and the length a budget applies at."""

import numpy as np
import pytest

from exporter.data.lengths import LengthStats, budget_length
from exporter.errors import UserError


def _mask(lengths, seq_len=16):
    mask = np.zeros((len(lengths), seq_len), np.int32)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1
    return mask


def test_stats_are_real_lengths_clipped_at_seq_len():
    stats = LengthStats.of_mask(_mask([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16]), 16)
    assert (stats.n, stats.mean, stats.median, stats.p90, stats.max) == (11, 8.27, 8, 12, 16)
    assert stats.p99 == 16 and LengthStats(**stats.to_dict()) == stats
    assert "p90 12" in stats.describe()
    with pytest.raises(UserError, match="training split is empty"):
        LengthStats.of_mask(np.zeros((0, 16), np.int32), 16)


def test_budget_length_defaults_to_p90_and_checks_a_requested_one():
    stats = LengthStats.of_mask(_mask([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 16]), 16)
    assert budget_length(stats, None, 16).tokens == 12
    assert budget_length(stats, None, 16).source == "p90 of 11 training sentences"
    assert budget_length(stats, 5, 16).to_dict() == {"tokens": 5, "source": "--budget-length"}
    assert budget_length(None, None, 16).tokens == 16  # an old bundle with no lengths: its seq_len
    for bad in (1, 17):
        with pytest.raises(UserError, match=f"--budget-length {bad} is out of range; the files take 2..16 tokens"):
            budget_length(stats, bad, 16)
