"""Latency budgets: "5ms", "5 ms", "0.005s", "5000us" -> Budget(ms=5.0)."""

import re
from dataclasses import dataclass

from exporter.errors import UserError

ACCEPTED = '"5ms", "5 ms", "0.005s", "5000us"'
_UNIT_MS = {"ms": 1.0, "s": 1000.0, "us": 1e-3, "µs": 1e-3}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|us|µs)\s*$")


@dataclass(frozen=True, order=True)
class Budget:
    ms: float

    def __post_init__(self):
        if not self.ms > 0:
            raise UserError(f"latency budget {self.ms!r} ms must be positive")

    def __str__(self) -> str:
        return f"{self.ms:g} ms"


def parse_budget(text: object) -> Budget:
    """A unit is required: a bare "5" is ambiguous (ms? s?), so it is refused, not guessed."""
    if isinstance(text, Budget):
        return text
    match = _PATTERN.match(text) if isinstance(text, str) else None
    if not match:
        raise UserError(f"latency budget {text!r} is not understood; use a number and a unit, "
                        f"e.g. {ACCEPTED}")
    value = float(match.group(1)) * _UNIT_MS[match.group(2)]
    if value <= 0:
        raise UserError(f"latency budget {text!r} must be greater than zero; e.g. {ACCEPTED}")
    return Budget(round(value, 9))
