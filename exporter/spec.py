"""ExportSpec: everything `dynaedge export` needs, validated once, passed whole.

What a file *is* (backend, precision, mode, storage, gate, runtime) lives in the backends'
variant tables (backends/variant.py, backends/*/variants.py); this spec only says which.
"""

from dataclasses import dataclass
from pathlib import Path

from backends.registry import backend_names, variant_names, variants
from backends.variant import PRECISIONS as PRECISION_FACTS
from backends.variant import Variant
from exporter.devices.budget import Budget, parse_budget
from exporter.devices.preference import Preference
from exporter.errors import UserError, unknown_choice

TARGETS = ("android", "linux-arm64", "host")
BACKENDS = backend_names()
PRECISIONS = tuple(PRECISION_FACTS)
DEFAULT_PRECISIONS = ("fp32", "int8")   # ternary needs the supernet's QAT phase: asked for explicitly


def _check_all(kind: str, values: tuple[str, ...], choices: tuple[str, ...]) -> None:
    for value in values:
        if value not in choices:
            raise unknown_choice(kind, value, choices)


@dataclass(frozen=True)
class ExportSpec:
    target: str = "android"
    backends: tuple[str, ...] = BACKENDS
    precisions: tuple[str, ...] = DEFAULT_PRECISIONS
    # Variant names (backends' tables, e.g. "int8-dynamic"); () = the default variants of `precisions`.
    # With --budget they narrow the selector's candidates; without, they are the files to write.
    variants: tuple[str, ...] = ()
    custom_ops: bool = False      # --budget: LiteRT choices may need our custom op (DYNAEDGE_TERNARY_FC)
    model: str | None = None      # path or hub id; None = the offline default
    data: str | None = None       # file or name; None = the offline movie reviews
    recipe: str = "finetune"              # the teacher's recipe
    budget: Budget | None = None          # choose per device from the supernet (a string is parsed once here)
    budget_length: int | None = None      # tokens per sentence the budget applies at; None: p90 of training
    preference: Preference = Preference() # --budget: accuracy slack and size cap of the choice
    device: str | None = None             # one device profile instead of every profile of the target
    supernet_recipe: str = "quick"        # the supernet a --budget (or ternary) export takes slices from
    out: Path = Path("bundle")
    threads: int = 2
    calibration_sentences: int = 256
    reuse: bool = True                    # take files lowered and verified before from the same inputs (--fresh: off)
    # Mixed-precision models searched to these sizes in MB (recipe mixed, trained or reused, one per
    # size): with --budget more candidates, without it files to write (compress/mixed_models.py).
    mixed_mb: tuple[float, ...] = ()

    def __post_init__(self):
        if self.target not in TARGETS:
            raise unknown_choice("target", self.target, TARGETS)
        if not self.backends or not self.precisions:
            raise UserError(f"--backend / --precision need at least one entry; backends: {', '.join(BACKENDS)}; "
                            f"precisions: {', '.join(PRECISIONS)}")
        _check_all("backend", self.backends, BACKENDS)
        _check_all("precision", self.precisions, PRECISIONS)
        _check_all("variant", self.variants, variant_names())
        for name in self.variants:
            if not any(v.name == name for b in self.backends for v in variants(b)):
                raise UserError(f"variant {name!r} exists on no backend of --backend {','.join(self.backends)}; "
                                f"it is a variant of {', '.join(v.backend for v in variants() if v.name == name)}")
        self._check_mixed()
        if isinstance(self.budget, str):  # bad budgets fail here, before any training
            object.__setattr__(self, "budget", parse_budget(self.budget))
        if self.preference != Preference() and self.budget is None:
            raise UserError("--accuracy-slack and --max-mb shape a --budget choice; add --budget, e.g. --budget 5ms")
        if self.budget_length is not None:
            from backends.lengths import MIN_LENGTH

            if self.budget is None:
                raise UserError(f"--budget-length {self.budget_length} needs --budget (the length a budget applies at)")
            if self.budget_length < MIN_LENGTH:  # the upper bound, seq_len, is the recipe's: checked once known
                raise UserError(f"--budget-length {self.budget_length} is too short; the files take at least "
                                f"{MIN_LENGTH} tokens")
        if self.device is not None:
            from exporter.devices.profile import load_profile, load_profiles
            profile = load_profile(self.device)
            if self.budget is None:
                raise UserError(f"--device {self.device} needs --budget (the device's choice depends on it)")
            if profile.target != self.target:
                names = ", ".join(p.name for p in load_profiles(self.target))
                raise UserError(f"device {self.device!r} is a {profile.target} profile, not {self.target}; "
                                f"{self.target} profiles: {names}")

    def _check_mixed(self) -> None:
        from exporter.compress.mixed_models import check_sizes

        check_sizes(self.mixed_mb)
        mixed = [v for b in self.backends for v in variants(b) if v.precision == "mixed"]
        asked = "mixed" in self.precisions or any(v.name in self.variants for v in mixed)
        if asked and not self.mixed_mb:
            raise UserError("mixed-precision files need --mixed-mb S[,S...]: the size(s) in MB to search the bit "
                            "widths to, e.g. --mixed-mb 9.5,13")
        if self.mixed_mb and not mixed:
            raise UserError(f"--mixed-mb: mixed-precision files are written by "
                            f"{', '.join(sorted({v.backend for v in variants() if v.precision == 'mixed'}))} only, "
                            f"not --backend {','.join(self.backends)}")
        if self.mixed_mb and self.variants and not any(v.name in self.variants for v in mixed):
            raise UserError(f"--mixed-mb asks for mixed-precision files, but --variant {','.join(self.variants)} "
                            f"leaves out every mixed-precision variant ({', '.join(sorted({v.name for v in mixed}))}); "
                            f"add one")

    def mixed_variants(self) -> tuple[Variant, ...]:
        """Without --budget: the mixed-precision variants to write, once per --mixed-mb size."""
        return tuple(v for b in self.backends for v in variants(b) if v.precision == "mixed"
                     and (v.name in self.variants if self.variants else v.default)) if self.mixed_mb else ()

    def file_variants(self) -> tuple[Variant, ...]:
        """Without --budget: the variants to write for the full-size model, per backend."""
        def wanted(v: Variant) -> bool:
            if v.precision == "mixed":  # one file per --mixed-mb size: mixed_variants
                return False
            return v.name in self.variants if self.variants else (v.precision in self.precisions and v.default)

        return tuple(v for b in self.backends for v in variants(b) if wanted(v))

    def candidate_variants(self) -> tuple[Variant, ...]:
        """With --budget: the variants the selector may choose (candidate_variants)."""
        return candidate_variants(self.backends, self.variants, self.custom_ops)


def candidate_variants(backends: tuple[str, ...] = BACKENDS, names: tuple[str, ...] = (),
                       custom_ops: bool = False) -> tuple[Variant, ...]:
    """The variants a budget choice may use: those named (all by default) of `backends`, without
    custom kernels unless `custom_ops`, and never a custom kernel for ExecuTorch, whose choice is
    what the demo app's stock runtime runs."""
    return tuple(v for b in backends for v in variants(b) if (not names or v.name in names)
                 and (not v.custom or (custom_ops and v.family != "executorch")))


def split_list(text: str | None) -> tuple[str, ...] | None:
    """"executorch, tflite" -> ("executorch", "tflite"); None stays None (use the default)."""
    if text is None:
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())
