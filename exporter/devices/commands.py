"""What the CLI calls for `profile list|show|calibrate|import`, `query`, and what `export` calls.

Each function returns a JSON-able dict (or list) shaped as DESIGN.md's "Command surface"
says; the CLI prints it with --json or summarises it. UserError for anything the user can fix.
"""

import functools
import logging
from dataclasses import replace
from pathlib import Path

from exporter.devices.budget import Budget, parse_budget
from exporter.devices.fit import load_fit
from exporter.devices.preference import Preference
from exporter.devices.profile import (NUMBERS, DeviceProfile, Sourced, load_profile, load_profiles, profile_names,
                                      user_profiles_dir, write_user_profile)
from exporter.devices.selector import InfeasibleBudget, select
from backends.variant import FAMILIES, Variant
from exporter.errors import UserError, unknown_choice
from exporter.model.config import EncoderConfig
from exporter.spec import BACKENDS, candidate_variants

DEFAULT_SEQ_LEN = 64
log = logging.getLogger("dynaedge")


def profile_list() -> dict:
    user = user_profiles_dir()
    rows = []
    for p in load_profiles():
        rows.append({"name": p.name, "target": p.target, "description": p.description, "soc": p.soc,
                     "origin": "user" if Path(p.path).parent == user else "packaged",
                     "imported": sorted(f"{b}/{q}" for (b, q), _ in p.scale), "path": p.path})
    return {"profiles": rows}


def profile_show(name: str) -> dict:
    profile = load_profile(name)
    out = profile.to_dict()
    try:
        fit = load_fit()
        out["latency_fits"] = [f"{b}/{q}" for b, q in fit.keys()]
    except UserError as err:
        out["latency_fits"] = []
        out["latency_fit_error"] = str(err)
    return out


def host_profile(host: dict, base: DeviceProfile | None = None) -> DeviceProfile:
    """The `host` profile from calibration's measured {number: {value, source}} (clock and overhead kept)."""
    base = base or load_profile("host")
    numbers = dict(base.numbers)
    for key, entry in host.items():
        if key in NUMBERS:
            numbers[key] = Sourced(float(entry["value"]), entry["source"])
    return replace(base, numbers=tuple((k, numbers[k]) for k in NUMBERS), scale=())


def profile_calibrate(backends: tuple[str, ...] = BACKENDS, variants: tuple[str, ...] | None = None,
                      widths: tuple[float, ...] | None = None, depths: tuple[float, ...] | None = None,
                      seq_lens: tuple[int, ...] = (DEFAULT_SEQ_LEN,), threads: int = 2, runs: int = 30,
                      fresh: bool = False, quick: bool = False) -> dict:
    """Time the grid on this machine (cached, resumable), fit, save the fit and the host profile.
    `quick`: a few configurations per variant rescale the packaged fit (minutes, not an hour)."""
    from exporter.devices.calibrate import CalibrationSpec, calibrate, calibrate_quick

    if quick:
        result = calibrate_quick(threads=threads)
        result["host_profile_path"] = str(write_user_profile(host_profile(result["host"])))
        return result

    extra = {k: v for k, v in (("widths", widths), ("depths", depths), ("variants", variants)) if v}
    spec = CalibrationSpec(backends=tuple(backends), seq_lens=tuple(seq_lens),
                           threads=threads, runs=runs, **extra)
    result = calibrate(spec, fresh=fresh, keep=load_fit())  # variants not timed here keep their fit
    result["host_profile_path"] = str(write_user_profile(host_profile(result["host"])))
    return result


def profile_import(path: str | Path, profile: str | None = None, bundle: str | Path | None = None) -> dict:
    from exporter.devices.importer import bundle_shapes, import_measurements

    return import_measurements(Path(path), profile=profile, shapes=bundle_shapes(Path(bundle)) if bundle else None)


def _cfg(cfg) -> EncoderConfig:
    if cfg is None:
        return EncoderConfig()       # all-MiniLM-L6-v2's shape, the default model
    return cfg if isinstance(cfg, EncoderConfig) else EncoderConfig.from_dict(cfg)


def query(device: str, budget: str | Budget, table_rows: list[dict], seq_len: int = DEFAULT_SEQ_LEN,
          cfg: EncoderConfig | dict | None = None, variants: tuple[Variant, ...] | None = None,
          preference: Preference = Preference(), family: str = "executorch", length: int | None = None) -> dict:
    """One entry shaped like the manifest's "choices" (device, family, budget_ms, budget_length, subnet,
    backend, variant, path, predicted_ms, predicted_at_length, reason, runner_up): the best file of
    runtime `family` for `device`, for one sentence of `length` tokens (None: seq_len)."""
    if family not in FAMILIES:
        raise unknown_choice("runtime", family, FAMILIES)
    profile = load_profile(device)  # unknown device -> UserError listing the profiles
    mine = tuple(v for v in (candidate_variants() if variants is None else variants) if v.family == family)
    if not mine:
        raise UserError(f"no {family} variant among the candidates; runtimes: {', '.join(FAMILIES)}")
    fit = load_fit()
    budget = parse_budget(budget, length)
    choice = select(table_rows, profile, budget, fit, _cfg(cfg), seq_len, mine, preference).to_dict()
    choice["latency_fit"] = fit.origin()
    if profile.target == "host":
        warning = host_mismatch(fit.machine)
        if warning:
            choice["warning"] = warning
    return choice


@functools.cache
def _this_machine():
    from exporter.devices.fingerprint import this_machine

    return this_machine()


def host_mismatch(machine: dict | None) -> str | None:
    """Why a `host` prediction may be off on this machine, or None when it is like the fit's."""
    from exporter.devices.fingerprint import Fingerprint

    fix = "run `dynaedge profile calibrate --quick` (about 5 minutes) to refit this machine"
    if machine is None:
        return f"the latency fit records no machine fingerprint, so this host's predictions are unchecked; {fix}"
    differences = Fingerprint.from_dict(machine).differences(_this_machine())
    if differences:
        log.warning("host predictions may be off: %s; %s", "; ".join(differences), fix)
        return f"this machine differs from the fit's: {'; '.join(differences)}; {fix}"
    return None


def _profiles(target: str, device: str | None) -> list[str]:
    if device is None:
        names = [p.name for p in load_profiles(target)]
        if not names:
            raise UserError(f"no device profiles for target {target!r}; profiles: {', '.join(profile_names())}")
        return names
    profile = load_profile(device)
    if profile.target != target:
        raise UserError(f"device profile {device!r} is for target {profile.target!r}, not {target!r}; "
                        f"profiles for {target}: {', '.join(p.name for p in load_profiles(target))}")
    return [device]


def plan_for_target(target: str, budget: str | Budget, table_rows: list[dict], device: str | None = None,
                    seq_len: int = DEFAULT_SEQ_LEN, cfg: EncoderConfig | dict | None = None,
                    variants: tuple[Variant, ...] | None = None,
                    preference: Preference = Preference(), length: int | None = None) -> tuple[list[dict], list[dict]]:
    """What `export --budget` uses: (choices, infeasible), one choice per profile and runtime family
    (ExecuTorch, LiteRT), each computed exactly as `query` does, so the two agree. A (profile,
    family) whose fastest option is over budget is left out and listed in `infeasible` with that
    option (a budget phone must not cost every other phone its model); an error only when nothing
    fits at all, or --device's profile fits in no family."""
    budget, variants = parse_budget(budget, length), candidate_variants() if variants is None else variants
    families = [f for f in FAMILIES if any(v.family == f for v in variants)]
    choices, infeasible = [], []
    for name in _profiles(target, device):
        for family in families:
            try:
                choices.append(query(name, budget, table_rows, seq_len, cfg, variants, preference, family))
            except InfeasibleBudget as err:
                infeasible.append({"device": name, "family": family, "budget_ms": budget.ms,
                                   "budget_length": budget.length,
                                   "fastest": err.fastest.to_dict(), "reason": f"{family}: {err}"})
    if not choices or (device is not None and not any(c["device"] == device for c in choices)):
        raise UserError(f"no {target} profile fits {budget}: " + "; ".join(i["reason"] for i in infeasible))
    return choices, infeasible


def needed_artifacts(choices: list[dict]) -> list[dict]:
    """The distinct files the choices name (sub-network x variant), in first-use order, with the
    devices that run each."""
    out: dict[tuple, dict] = {}
    for c in choices:
        size = c["subnet"].get("size_mb")  # a mixed-precision model: one per size
        key = (c["subnet"]["width"], c["subnet"]["depth"], size, c["backend"], c["variant"])
        entry = out.setdefault(key, {"width": key[0], "depth": key[1], "size_mb": size, "variant": f"{key[3]}/{key[4]}",
                                     "path": c["path"], "devices": []})
        entry["devices"].append(c["device"])
    return list(out.values())
