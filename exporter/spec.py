"""ExportSpec: everything `dynaedge export` needs, validated once, passed whole."""

from dataclasses import dataclass
from pathlib import Path

from exporter.errors import UserError, unknown_choice

TARGETS = ("android", "linux-arm64", "host")
BACKENDS = ("executorch", "tflite")
PRECISIONS = ("fp32", "int8", "ternary")
DEFAULT_PRECISIONS = ("fp32", "int8")   # ternary needs the supernet's QAT phase: asked for explicitly
# How a ternary .tflite stores its weights, as the user names it -> the TFLite backend's custom_ops
# option: the 2-bit DYNAEDGE_TERNARY_FC custom op (needs its kernel registered), or a fallback any
# stock LiteRT runs, int8 or int4 FULLY_CONNECTED weights.
TFLITE_TERNARY_STORAGE = {"custom-op": "on", "int8": "off", "int4": "int4"}
# How an int8 .tflite quantizes activations, passed as the TFLite backend's int8_mode option:
# static int8 calibrated on real training sentences (default), dynamic-range (int8 weights,
# float activations quantized at run time), or full-integer (integer ops, some on 16 bits, but
# LayerNorm's SQUARED_DIFFERENCE float).
TFLITE_INT8_MODES = ("static", "dynamic", "full")


def _check_all(kind: str, values: tuple[str, ...], choices: tuple[str, ...]) -> None:
    for value in values:
        if value not in choices:
            raise unknown_choice(kind, value, choices)


@dataclass(frozen=True)
class ExportSpec:
    target: str = "android"
    backends: tuple[str, ...] = BACKENDS
    precisions: tuple[str, ...] = DEFAULT_PRECISIONS
    model: str | None = None      # path or hub id; None = the offline default
    data: str | None = None       # file or name; None = the offline movie reviews
    recipe: str = "finetune"              # the teacher's recipe
    budget: str | None = None             # e.g. "5ms": choose per device from the supernet
    device: str | None = None             # one device profile instead of every profile of the target
    supernet_recipe: str = "quick"        # the supernet a --budget (or ternary) export takes slices from
    # Ternary .tflite storage: "custom-op" (2-bit DYNAEDGE_TERNARY_FC), "int8" / "int4" fallbacks
    # in standard FULLY_CONNECTED (`--no-custom-ops` = "int8"); each listed one is its own artifact.
    tflite_ternary: tuple[str, ...] = ("custom-op",)
    tflite_int8: tuple[str, ...] = ("static",)   # int8 .tflite modes, one artifact each
    out: Path = Path("bundle")
    threads: int = 2
    calibration_sentences: int = 256

    def __post_init__(self):
        if self.target not in TARGETS:
            raise unknown_choice("target", self.target, TARGETS)
        _check_all("backend", self.backends, BACKENDS)
        _check_all("precision", self.precisions, PRECISIONS)
        _check_all("TFLite ternary storage", self.tflite_ternary, TFLITE_TERNARY_STORAGE)
        _check_all("TFLite int8 mode", self.tflite_int8, TFLITE_INT8_MODES)
        if not self.tflite_ternary or not self.tflite_int8:
            raise UserError("--tflite-ternary / --tflite-int8 need at least one entry")
        if not self.backends or not self.precisions:
            raise unknown_choice("backend list", "", BACKENDS)
        # Bad budgets and devices fail here, before any training.
        if self.budget is not None:
            from exporter.devices.budget import parse_budget
            parse_budget(self.budget)
        if self.device is not None:
            from exporter.devices.profile import load_profile, load_profiles
            profile = load_profile(self.device)
            if self.budget is None:
                raise UserError(f"--device {self.device} needs --budget (the device's choice depends on it)")
            if profile.target != self.target:
                names = ", ".join(p.name for p in load_profiles(self.target))
                raise UserError(f"device {self.device!r} is a {profile.target} profile, not {self.target}; "
                                f"{self.target} profiles: {names}")


def split_list(text: str | None) -> tuple[str, ...] | None:
    """"executorch, tflite" -> ("executorch", "tflite"); None stays None (use the default)."""
    if text is None:
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())
