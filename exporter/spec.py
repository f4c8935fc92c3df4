"""ExportSpec: everything `dynaedge export` needs, validated once, passed whole."""

from dataclasses import dataclass
from pathlib import Path

from exporter.errors import unknown_choice

TARGETS = ("android", "linux-arm64", "host")
BACKENDS = ("executorch", "tflite")
PRECISIONS = ("fp32", "int8")


def _check_all(kind: str, values: tuple[str, ...], choices: tuple[str, ...]) -> None:
    for value in values:
        if value not in choices:
            raise unknown_choice(kind, value, choices)


@dataclass(frozen=True)
class ExportSpec:
    target: str = "android"
    backends: tuple[str, ...] = BACKENDS
    precisions: tuple[str, ...] = PRECISIONS
    model: str | None = None      # path or hub id; None = the offline default
    data: str | None = None       # file or name; None = the offline movie reviews
    recipe: str = "finetune"
    out: Path = Path("bundle")
    threads: int = 2
    calibration_sentences: int = 256

    def __post_init__(self):
        if self.target not in TARGETS:
            raise unknown_choice("target", self.target, TARGETS)
        _check_all("backend", self.backends, BACKENDS)
        _check_all("precision", self.precisions, PRECISIONS)
        if not self.backends or not self.precisions:
            raise unknown_choice("backend list", "", BACKENDS)


def split_list(text: str | None) -> tuple[str, ...] | None:
    """"executorch, tflite" -> ("executorch", "tflite"); None stays None (use the default)."""
    if text is None:
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())
