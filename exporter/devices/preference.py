"""What the selector weighs once a file fits the budget: accuracy, then size.

Accuracy differences smaller than `slack` are noise of the dev split (half a point is 5 of its
1,057 sentences on the default data), not a reason to ship a 69 MB fp32 file instead of its
17 MB int8 twin. So every candidate within `slack` of the most accurate one that fits counts as
equally accurate, and among those the smallest file wins (then the faster, the more accurate, the
name). `slack=0` restores "most accurate, whatever its size". `max_bytes` rules out larger files.
"""

from dataclasses import dataclass

from exporter.errors import UserError

DEFAULT_SLACK_POINTS = 0.5
SLACK_HELP = (f"accuracy points (default {DEFAULT_SLACK_POINTS:g}) within which candidates count as equally "
              "accurate; the smallest of them is chosen. 0: the most accurate, whatever its size")
MAX_MB_HELP = "largest model file a device may get, in MB (default: no limit)"


@dataclass(frozen=True)
class Preference:
    slack: float = DEFAULT_SLACK_POINTS / 100   # a fraction of the dev split, like dev_accuracy
    max_bytes: int | None = None

    def __post_init__(self):
        if not 0 <= self.slack < 1:
            raise UserError(f"accuracy slack {100 * self.slack:g} points must be between 0 and 100")
        if self.max_bytes is not None and self.max_bytes <= 0:
            raise UserError(f"size cap {self.max_bytes!r} bytes must be positive")

    @classmethod
    def of(cls, slack_points: float | None = None, max_mb: float | None = None) -> "Preference":
        """From the CLI's units: points and MB (None: the defaults)."""
        slack = DEFAULT_SLACK_POINTS if slack_points is None else slack_points
        if max_mb is not None and not max_mb > 0:
            raise UserError(f"--max-mb {max_mb!r} must be a positive number of MB, e.g. 30")
        return cls(slack / 100, None if max_mb is None else int(max_mb * 1e6))

    def to_dict(self) -> dict:
        return {"accuracy_slack_points": round(100 * self.slack, 6), "max_bytes": self.max_bytes}
