"""Least-squares latency fit per variant (backend, variant name): ms = sum(coef_i * feature_i).

A variant is an entry of the backends' tables (backends/variant.py), e.g. executorch / int8-dynamic.

The fit minimises *relative* error (each row divided by its measured time), because the
acceptance test is relative (+-10%) and small sub-networks would otherwise count for nothing.
Coefficients are non-negative (NNLS): a negative ms-per-MAC has no physical meaning and
extrapolates badly to devices.
"""

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from exporter.atomic import write_json
from exporter.devices.features import FEATURES
from exporter.devices.profile import config_dir
from exporter.errors import UserError

PACKAGED_FIT = Path(__file__).parent / "fits" / "host.json"
HOST_NUMBERS = ("threads", "fp32_gflops", "int8_gops", "memory_gbs")


@dataclass(frozen=True)
class Coefficients:
    backend: str
    variant: str                 # the variant's name in its backend's table, e.g. "int8-dynamic"
    values: tuple[float, ...]    # ms per unit of each FEATURES entry
    n: int                       # rows fitted
    rms_rel_error: float         # on the fitted rows
    within_10pct: float          # share of fitted rows predicted within +-10%


@dataclass(frozen=True)
class LatencyFit:
    host: dict                   # the calibrating machine's HOST_NUMBERS: device ratios are against these
    model: dict                  # EncoderConfig of the timed sub-networks (features generalise by shape)
    coefficients: tuple[Coefficients, ...]
    created: str = ""
    note: str = ""
    machine: dict | None = None  # the calibrating host's fingerprint (fingerprint.Fingerprint); None in old fits

    def get(self, backend: str, variant: str) -> Coefficients:
        for c in self.coefficients:
            if (c.backend, c.variant) == (backend, variant):
                return c
        have = ", ".join(f"{c.backend}/{c.variant}" for c in self.coefficients) or "none"
        raise UserError(f"no latency fit for {backend}/{variant} (fitted: {have}); run "
                        f"`dynaedge profile calibrate` on a machine like the host")

    def keys(self) -> tuple[tuple[str, str], ...]:
        return tuple((c.backend, c.variant) for c in self.coefficients)

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "host": self.host, "model": self.model, "created": self.created,
                "note": self.note, "machine": self.machine, "coefficients": [asdict(c) for c in self.coefficients]}

    def origin(self) -> str:
        """Which host measurement a prediction scales from, in words."""
        where = self.machine["cpu"] if self.machine else "a host with no recorded fingerprint"
        return f"host fit of {self.created or 'unknown date'} on {where} ({self.note})"

    @classmethod
    def from_dict(cls, d: dict) -> "LatencyFit":
        if d.get("features") != list(FEATURES):
            raise UserError(f"latency fit has features {d.get('features')}, expected {list(FEATURES)}; "
                            "run `dynaedge profile calibrate` again")
        # Fits written before the variant table name the variant "precision" (fp32, int8: same names).
        coefs = tuple(Coefficients(c["backend"], c.get("variant", c.get("precision")), tuple(c["values"]), c["n"], c["rms_rel_error"],
                                   c["within_10pct"]) for c in d["coefficients"])
        return cls(d["host"], d["model"], coefs, d.get("created", ""), d.get("note", ""), d.get("machine"))


def solve(features: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Non-negative coefficients minimising sum(((X c - y) / y)^2)."""
    from scipy.optimize import nnls

    features, measured = np.asarray(features, float), np.asarray(measured, float)
    if len(measured) < 2:
        raise UserError(f"a latency fit needs at least 2 measured sub-networks, got {len(measured)}")
    weights = 1.0 / measured
    scaled = features * weights[:, None]
    # Columns span 1e-3..1e3; normalising them keeps NNLS well conditioned.
    norms = np.linalg.norm(scaled, axis=0)
    norms[norms == 0] = 1.0
    coef, _ = nnls(scaled / norms, np.ones_like(measured))
    return coef / norms


def relative_errors(features: np.ndarray, measured: np.ndarray, coef: np.ndarray) -> np.ndarray:
    return (np.asarray(features, float) @ coef) / np.asarray(measured, float) - 1.0


def fit_group(backend: str, variant: str, features: np.ndarray, measured: np.ndarray) -> Coefficients:
    coef = solve(features, measured)
    err = relative_errors(features, measured, coef)
    return Coefficients(backend, variant, tuple(float(c) for c in coef), len(measured),
                        float(math.sqrt(float(np.mean(err ** 2)))), float(np.mean(np.abs(err) <= 0.10)))


def user_fit_path() -> Path:
    return config_dir("latency_fit.json")


def load_fit(path: Path | None = None) -> LatencyFit:
    """The user's own calibration if there is one, else the fit shipped with dynaedge."""
    candidates = [Path(path)] if path else [user_fit_path(), PACKAGED_FIT]
    for p in candidates:
        if p.exists():
            try:
                return LatencyFit.from_dict(json.loads(p.read_text()))
            except (json.JSONDecodeError, KeyError) as err:
                raise UserError(f"{p}: not a latency fit ({err}); delete it or run `dynaedge profile calibrate`")
    raise UserError(f"no latency fit found (looked in {', '.join(map(str, candidates))}); "
                    "run `dynaedge profile calibrate`")


def save_fit(fit: LatencyFit, path: Path | None = None) -> Path:
    path = Path(path) if path else user_fit_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, fit.to_dict())
    return path


def leave_one_out(features: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Relative error of each row predicted by a fit on the other rows: the honest figure
    when there are few rows per coefficient."""
    features, measured = np.asarray(features, float), np.asarray(measured, float)
    errs = []
    for i in range(len(measured)):
        keep = np.arange(len(measured)) != i
        coef = solve(features[keep], measured[keep])
        errs.append(float(features[i] @ coef / measured[i] - 1.0))
    return np.array(errs)
