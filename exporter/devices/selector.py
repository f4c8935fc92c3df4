"""The budget selector: a pure function of (candidates, budget, size cap) -> Choice.

`choose` sees only numbers: each candidate is one sub-network x variant (backends' tables: backend,
precision, mode, storage) with its dev accuracy, predicted latency on one device, and size. Of the
candidates within budget (and size cap), those within the accuracy slack of the most accurate count
as equally accurate (preference.py) and the smallest file of them wins; ties go to the lower
predicted latency, then the higher accuracy, then the name, so the same table always gives the
same choice. `candidates` builds the list from a sub-network table, a profile and a latency fit
(pure data too).
"""

from dataclasses import dataclass

from backends.variant import Variant
from exporter.devices.budget import Budget
from exporter.devices.features import estimated_bytes, shaped_work, work
from exporter.devices.fit import LatencyFit
from exporter.devices.latency import predict_work
from exporter.devices.preference import Preference
from exporter.devices.profile import DeviceProfile
from exporter.errors import UserError
from exporter.model.config import EncoderConfig
from exporter.model.subnet import SubnetSpec, model_name

@dataclass(frozen=True)
class Candidate:
    width: float
    depth: float
    variant: Variant
    dev_accuracy: float
    predicted_ms: float
    bytes: int
    length: int | None = None  # tokens the prediction is at: the budget's length, or seq_len for a fixed-length file
    size_mb: float | None = None  # a mixed-precision model: the size it was searched to (which run)

    @property
    def precision(self) -> str:
        return self.variant.precision

    @property
    def backend(self) -> str:
        return self.variant.backend

    @property
    def model(self) -> str:
        return model_name(SubnetSpec(self.width, self.depth), self.size_mb)

    @property
    def file_name(self) -> str:
        return self.variant.file_name(self.model)

    @property
    def name(self) -> str:
        return f"{self.model}-{self.variant.name}-{self.backend}"

    def rank(self) -> tuple:
        """Among equally accurate candidates: smaller, then faster, then more accurate, then by name."""
        return (self.bytes, self.predicted_ms, -self.dev_accuracy, self.name)

    def to_dict(self) -> dict:
        subnet = {"width": self.width, "depth": self.depth, "precision": self.precision}
        if self.size_mb is not None:
            subnet["size_mb"] = self.size_mb
        return {"subnet": subnet,
                "backend": self.backend, "variant": self.variant.name, "runtime": self.variant.runtime,
                "path": self.file_name, "predicted_ms": round(self.predicted_ms, 3), "predicted_at_length": self.length,
                "dev_accuracy": self.dev_accuracy, "bytes": self.bytes}


@dataclass(frozen=True)
class Choice:
    device: str
    budget: Budget
    chosen: Candidate
    reason: str
    runner_up: Candidate | None
    preference: Preference = Preference()

    def to_dict(self) -> dict:
        """Shaped like the manifest's "choices" entries (the Android Selector reads these keys)."""
        return {"device": self.device, "family": self.chosen.variant.family, "budget_ms": self.budget.ms,
                "budget_length": self.budget.length, "preference": self.preference.to_dict(),
                **self.chosen.to_dict(), "reason": self.reason,
                "runner_up": self.runner_up.to_dict() if self.runner_up else None}


class InfeasibleBudget(UserError):
    """No candidate fits the budget on one device; names the fastest one."""

    def __init__(self, message: str, device: str, fastest: "Candidate"):
        super().__init__(message)
        self.device, self.fastest = device, fastest


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def choose(candidates: list[Candidate], budget: Budget, device: str = "",
           preference: Preference = Preference()) -> Choice:
    if not candidates:
        raise UserError(f"no sub-network to choose from for {device or 'this device'}: the table is empty")
    cap = preference.max_bytes
    allowed = [c for c in candidates if cap is None or c.bytes <= cap]
    if not allowed:
        smallest = min(candidates, key=lambda c: (c.bytes, c.name))
        raise UserError(f"no sub-network fits the size cap of {cap / 1e6:g} MB ({cap} bytes); the smallest is "
                        f"{smallest.name} at {smallest.bytes} bytes")
    feasible = [c for c in allowed if c.predicted_ms <= budget.ms]
    if not feasible:
        fastest = min(allowed, key=lambda c: (c.predicted_ms, c.bytes, c.name))
        raise InfeasibleBudget(f"no sub-network fits {budget} on {device or 'this device'}: the fastest is "
                               f"{fastest.name} at {fastest.predicted_ms:.2f} ms predicted{_fixed(fastest, budget)}; use --budget "
                               f"{_ceil2(fastest.predicted_ms)}ms or more", device, fastest)
    chosen = _best(feasible, preference)
    # The runner-up is the best option of *another variant*: what the user would get if this kind
    # of file were ruled out (another sub-network of the same variant says little).
    others = [c for c in feasible if c.variant != chosen.variant]
    runner_up = _best(others, preference) if others else None
    return Choice(device, budget, chosen, _reason(chosen, runner_up, feasible, allowed, budget, device, preference),
                  runner_up, preference)


def _most_accurate(cands: list[Candidate]) -> Candidate:
    return min(cands, key=lambda c: (-c.dev_accuracy, c.bytes, c.predicted_ms, c.name))


def _best(feasible: list[Candidate], preference: Preference) -> Candidate:
    """The smallest (Candidate.rank) of those within the slack of the most accurate."""
    top = _most_accurate(feasible).dev_accuracy
    return min((c for c in feasible if c.dev_accuracy >= top - preference.slack - 1e-12), key=Candidate.rank)


def _fixed(c: Candidate, budget: Budget) -> str:
    """Why a prediction is not at the budget's length: the file pads the sentence (to seq_len or its bucket)."""
    if budget.length is None or c.length == budget.length:
        return ""
    if c.variant.lengths == "buckets":
        return f" (padded to its {c.length}-token bucket)"
    return f" (a fixed-length file: every sentence runs at {c.length} tokens)"


def _ceil2(ms: float) -> str:
    return f"{-(-ms * 100 // 1) / 100:.2f}"


def _mb(c: Candidate) -> str:
    return f"{c.bytes / 1e6:.1f} MB"


def _reason(chosen: Candidate, runner_up: Candidate | None, feasible: list[Candidate], allowed: list[Candidate],
            budget: Budget, device: str, preference: Preference) -> str:
    parts = [f"chosen within {budget} on {device}: dev accuracy {_pct(chosen.dev_accuracy)}, {_mb(chosen)}, "
             f"{chosen.predicted_ms:.2f} ms predicted{_fixed(chosen, budget)}"]
    top = _most_accurate(feasible)
    if top.dev_accuracy > chosen.dev_accuracy:
        parts.append(f"within {100 * preference.slack:g} accuracy points of the most accurate that fits, "
                     f"{top.name} ({_pct(top.dev_accuracy)}, {_mb(top)}), and smaller "
                     f"(--accuracy-slack 0 for the most accurate)")
    better = [c for c in allowed if c.dev_accuracy > top.dev_accuracy]
    if better:
        best = _most_accurate(better)
        parts.append(f"the more accurate {best.name} ({_pct(best.dev_accuracy)}) is predicted at "
                     f"{best.predicted_ms:.2f} ms, over budget")
    if runner_up:
        parts.append(f"runner-up of another variant {runner_up.name} ({_pct(runner_up.dev_accuracy)}, "
                     f"{_mb(runner_up)}, {runner_up.predicted_ms:.2f} ms)")
    return "; ".join(parts)


def candidates(rows: list[dict], profile: DeviceProfile, fit: LatencyFit, cfg: EncoderConfig, seq_len: int,
               variants: tuple[Variant, ...], length: int | None = None) -> list[Candidate]:
    """One candidate per slice x variant of a row's precision that has a latency fit, predicted
    for one sentence of `length` tokens (None: seq_len), at the length the file runs it at
    (Variant.run_length: its own, its bucket's, or seq_len).

    A slice may have two rows of one precision: one for files with trained (static) activation
    scales and one marked "activations": "dynamic" for files that quantize activations per token
    at run time (compress/ptq.py); each variant takes the row of its kind (`_row_for`). The row's
    dev accuracy stands for every variant it serves (each passes its export gate, or its artifact
    is not written); a variant whose file of this slice failed its gate is listed in the row's
    "failed_variants" (export marks it) and is no candidate. The size is the file's, estimated
    from the shape and the variant's bytes per weight and per word-table entry; a mixed-precision
    model's row carries its own bytes and kept units ("shape", compress/mixed_models.py).
    """
    fitted = set(fit.keys())
    slices: dict[tuple, list[dict]] = {}
    for row in rows:
        slices.setdefault(row_key(row), []).append(row)
    out = []
    for (width, depth, precision, size_mb), same in slices.items():
        subnet = SubnetSpec(width, depth)
        for variant in variants:
            if variant.precision != precision or any((variant.backend, f) not in fitted for f in variant.fit_names):
                continue
            row = _row_for(same, variant)
            if variant.key in row.get("failed_variants", {}):
                continue
            runs_at = variant.run_length(seq_len, length)
            if "shape" in row:  # a mixed-precision model: its own kept units and stored bytes
                done, size = shaped_work(cfg, row["shape"], runs_at), int(row["bytes"])
            else:
                done, size = work(cfg, subnet, runs_at, variant.linear_bytes), estimated_bytes(cfg, subnet, variant)
            out.append(Candidate(width, depth, variant, float(row["dev_accuracy"]),
                                 predict_work(fit, profile, variant, done).ms, size, runs_at, size_mb))
    return out


def row_key(row: dict) -> tuple:
    """(width, depth, precision, size_mb): which model a table row or artifact entry is (size_mb: None
    but for mixed-precision models, one per size)."""
    size = row.get("size_mb")
    return float(row["width"]), float(row["depth"]), row["precision"], None if size is None else float(size)


def _row_for(same: list[dict], variant: Variant) -> dict:
    """The row whose activations match the variant's, else the slice's other row."""
    kind = "dynamic" if variant.dynamic_activations else None
    return next((r for r in same if r.get("activations") == kind), same[0])


def select(rows: list[dict], profile: DeviceProfile, budget: Budget, fit: LatencyFit, cfg: EncoderConfig,
           seq_len: int, variants: tuple[Variant, ...], preference: Preference = Preference()) -> Choice:
    found = candidates(rows, profile, fit, cfg, seq_len, variants, budget.length)
    if not found:
        have = ", ".join(f"{b}/{v}" for b, v in fit.keys()) or "none"
        raise UserError(f"no table row can be predicted on {profile.name}: variants "
                        f"{', '.join(v.key for v in variants) or 'none'}, precisions "
                        f"{sorted({r['precision'] for r in rows})}, latency fits: {have}")
    return choose(found, budget, profile.name, preference)
