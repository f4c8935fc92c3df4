"""How long the sentences are, in model tokens: what a length-adaptive file costs on real text.

The budget of `export --budget` applies at one stated length (DEFAULT_QUANTILE of the training
sentences unless --budget-length says otherwise): a file that runs each sentence at its own length
costs less on a short sentence, and a budget met at the p90 length is met by 9 sentences in 10.
Lengths count [CLS] and [SEP] and are clipped at seq_len, as the files see them.
"""

import math
from dataclasses import asdict, dataclass

import numpy as np

from backends.lengths import MIN_LENGTH
from exporter.errors import UserError

DEFAULT_QUANTILE = "p90"


@dataclass(frozen=True)
class LengthStats:
    n: int
    mean: float
    median: int
    p90: int
    p99: int
    max: int
    seq_len: int     # lengths above it were cut to it (the tokenizer truncates)

    @classmethod
    def of_mask(cls, mask: np.ndarray, seq_len: int) -> "LengthStats":
        lengths = np.asarray(mask).sum(axis=1)
        if len(lengths) == 0:
            raise UserError("no sentences to measure lengths on: the training split is empty")
        # "higher": a real sentence length, never between two (a budget at 41.6 tokens means nothing)
        at = {q: int(np.percentile(lengths, q, method="higher")) for q in (50, 90, 99)}
        return cls(len(lengths), round(float(lengths.mean()), 2), at[50], at[90], at[99], int(lengths.max()), seq_len)

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return (f"{self.n} training sentences: mean {self.mean:g}, median {self.median}, p90 {self.p90}, "
                f"p99 {self.p99}, max {self.max} tokens (clipped at seq_len {self.seq_len})")


@dataclass(frozen=True)
class BudgetLength:
    """The sentence length a latency budget is applied at, and where that number came from."""

    tokens: int
    source: str

    def to_dict(self) -> dict:
        return {"tokens": self.tokens, "source": self.source}


def budget_length(stats: LengthStats | None, requested: int | None, seq_len: int) -> BudgetLength:
    """--budget-length if given (2..seq_len), else the p90 length of the training sentences."""
    if requested is not None:
        if not MIN_LENGTH <= requested <= seq_len:
            raise UserError(f"--budget-length {requested} is out of range; the files take {MIN_LENGTH}..{seq_len} "
                            f"tokens (seq_len {seq_len})")
        return BudgetLength(int(requested), "--budget-length")
    if stats is None:
        return BudgetLength(seq_len, "seq_len (no sentence lengths recorded)")
    return BudgetLength(max(MIN_LENGTH, min(stats.p90, seq_len)), f"{DEFAULT_QUANTILE} of {stats.n} training sentences")


def mean_over(lengths, predict) -> float:
    """The mean of predict(length) over sentence lengths (a real-length latency from a per-length model)."""
    values = [predict(int(n)) for n in lengths]
    if not values:
        raise UserError("no sentence lengths to predict over")
    return math.fsum(values) / len(values)
