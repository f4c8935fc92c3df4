"""Latency budgets: "5ms", "5 ms", "0.005s", "5000us" -> Budget(ms=5.0), optionally at a sentence length.

A budget with a `length` is met by a file when one sentence of that many tokens runs within it: a
length-adaptive file is predicted at the length, a fixed-length file at its seq_len (it pads).
"""

import re
from dataclasses import dataclass

from exporter.errors import UserError

ACCEPTED = '"5ms", "5 ms", "0.005s", "5000us"'
_UNIT_MS = {"ms": 1.0, "s": 1000.0, "us": 1e-3, "µs": 1e-3}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|us|µs)\s*$")


@dataclass(frozen=True, order=True)
class Budget:
    ms: float
    length: int | None = None   # tokens per sentence the budget applies at; None: the file's seq_len

    def __post_init__(self):
        if not self.ms > 0:
            raise UserError(f"latency budget {self.ms!r} ms must be positive")
        if self.length is not None and not self.length >= 1:
            raise UserError(f"budget length {self.length!r} must be at least 1 token")

    def __str__(self) -> str:
        return f"{self.ms:g} ms" + (f" at {self.length} tokens" if self.length is not None else "")


def parse_budget(text: object, length: int | None = None) -> Budget:
    """A unit is required: a bare "5" is ambiguous (ms? s?), so it is refused, not guessed.
    `length`: the sentence length it applies at (replaces a Budget's own when given)."""
    if isinstance(text, Budget):
        return text if length is None else Budget(text.ms, length)
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if not match:
        raise UserError(f"latency budget {text!r} is not understood; use a number and a unit, "
                        f"e.g. {ACCEPTED}")
    value = float(match.group(1)) * _UNIT_MS[match.group(2)]
    if value <= 0:
        raise UserError(f"latency budget {text!r} must be greater than zero; e.g. {ACCEPTED}")
    return Budget(round(value, 9), length)
