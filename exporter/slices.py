"""Which PyTorch model each artifact is lowered from, and which it is verified against.

Without a budget, every artifact is the full-size fine-tuned teacher. With a budget, the
artifacts are slices of the trained supernet: fp32 and int8 from the fp32 supernet phase
(int8 = post-training quantization by the backend), ternary from the ternary QAT phase,
frozen for export. Each is verified against its own PyTorch slice; a ternary file that quantizes
its activations per token at run time (stock runtimes) against that slice computing the same
(compress/ptq.dynamic_reference). Mixed-precision models (--mixed-mb) are their own runs, one per size.
"""

from dataclasses import dataclass

import torch

from backends.registry import get_variant
from backends.variant import Variant
from exporter.errors import UserError
from exporter.model.encoder import extract
from exporter.model.subnet import FULL, SubnetSpec, model_name
from exporter.verify import THRESHOLDS


@dataclass(frozen=True)
class Job:
    """One file to write: a sub-network as one variant of the backends' tables."""

    subnet: SubnetSpec
    variant: Variant
    devices: tuple[str, ...] = ()
    size_mb: float | None = None   # a mixed-precision model: the size it was searched to (compress/mixed_models.py)

    @property
    def file_name(self) -> str:
        return self.variant.file_name(model_name(self.subnet, self.size_mb))


@dataclass(frozen=True)
class Slice:
    model: torch.nn.Module      # what the backend lowers
    reference: torch.nn.Module  # what the artifact must match (same slice, PyTorch)


class TeacherSlices:
    """Full-size artifacts of the fine-tuned teacher (export without --budget); ternary ones from
    `ternary`, the supernet whose QAT phase made them (a teacher has no ternary weights)."""

    def __init__(self, teacher, ternary: "SupernetSlices | None" = None):
        self.teacher, self.ternary = teacher, ternary

    def get(self, job: Job) -> Slice:
        if job.subnet == FULL and job.variant.precision == "ternary" and self.ternary is not None:
            return self.ternary.get(job)
        if job.subnet != FULL or job.variant.precision not in ("fp32", "int8"):
            raise UserError(f"without --budget only the full-size teacher (fp32, int8) and the supernet's "
                            f"full-size ternary slice are exported, not {job.subnet.name} {job.variant.precision}")
        return Slice(self.teacher, self.teacher)


class SupernetSlices:
    """Slices of a trained supernet run (exporter.compress.supernet)."""

    def __init__(self, run_dir, recipe):
        self.run_dir, self.recipe = run_dir, recipe
        self._cache: dict[str, torch.nn.Module] = {}

    def _phase(self, precision: str):
        from exporter.compress.supernet import load_phase

        grid = [p.name for p in self.recipe.phases if p.report == "grid" and p.precision == precision]
        if not grid:
            raise UserError(f"supernet recipe {self.recipe.name!r} trains no {precision} grid phase")
        if grid[-1] not in self._cache:
            self._cache[grid[-1]] = load_phase(self.run_dir / grid[-1])[0].eval()
        return self._cache[grid[-1]]

    def get(self, job: Job) -> Slice:
        if job.variant.precision == "ternary":
            from exporter.compress.freeze import freeze_ternary
            from exporter.compress.quant import extract_quantized

            frozen = freeze_ternary(extract_quantized(self._phase("ternary"), job.subnet))
            if job.variant.dynamic_activations:  # a stock-runtime file: verified against what it computes
                from exporter.compress.ptq import dynamic_reference

                return Slice(frozen, dynamic_reference(frozen))
            return Slice(frozen, frozen)
        small = extract(self._phase("fp32"), job.subnet)
        return Slice(small, small)


class MixedSlices:
    """Mixed-precision models (compress/mixed_models.py) by the size they were searched to, frozen for
    export, in front of `others` for every other job. The reference is the frozen model itself: it
    quantizes each Linear's input per token, as the file does."""

    def __init__(self, runs, others):
        self.runs, self.others = {r.size_mb: r for r in runs}, others

    def get(self, job: Job) -> Slice:
        if job.variant.precision != "mixed":
            return self.others.get(job)
        if job.size_mb not in self.runs:
            have = ", ".join(f"{s:g}" for s in self.runs) or "none"
            raise UserError(f"no mixed-precision model of {job.size_mb} MB in this export (--mixed-mb: {have})")
        frozen = self.runs[job.size_mb].frozen
        return Slice(frozen, frozen)


# An int8 artifact is the backend's post-training quantization of an fp32 slice, and export
# rejects one that loses more than this against its slice.
INT8_GATE = THRESHOLDS["int8"].max_accuracy_drop


def supernet_rows(table: dict) -> list[dict]:
    """The selectable rows: the supernet's own grid (not the ablation or XTC comparison rows), plus
    one int8 row per fp32 row unless the table has int8 rows itself.

    A supernet run adds int8 rows simulated on the fp32 slices (compress/ptq.py, "accuracy":
    "simulated"), so this bound is for tables that lack them (a run read before export reused it):
    the fp32 slice's dev accuracy minus INT8_GATE, a bound the export enforces, not a measurement,
    and marked as such ("accuracy": "bound"). Sizes are left to the selector's estimate.
    """
    rows = [r for r in table["rows"] if r.get("variant", "supernet") == "supernet"]
    measured = {(r["width"], r["depth"]) for r in rows if r["precision"] == "int8"}
    derived = [{"width": r["width"], "depth": r["depth"], "precision": "int8", "variant": "supernet",
                "phase": r.get("phase", ""), "dev_accuracy": round(r["dev_accuracy"] - INT8_GATE, 6),
                "accuracy": "bound", "bound_from": "fp32 dev accuracy minus the 1-point int8 export gate"}
               for r in rows if r["precision"] == "fp32" and (r["width"], r["depth"]) not in measured]
    return rows + derived


def jobs_from_choices(needed: list[dict]) -> list[Job]:
    return [Job(SubnetSpec(n["width"], n["depth"]), get_variant(n["variant"]), tuple(n["devices"]), n.get("size_mb"))
            for n in needed]
