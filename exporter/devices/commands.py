"""What the CLI calls for `profile list|show|calibrate|import`, `query`, and what `export` calls.

Each function returns a JSON-able dict (or list) shaped as DESIGN.md's "Command surface"
says; the CLI prints it with --json or summarises it. UserError for anything the user can fix.
"""

from dataclasses import replace
from pathlib import Path

from exporter.devices.budget import Budget, parse_budget
from exporter.devices.fit import load_fit
from exporter.devices.profile import (NUMBERS, DeviceProfile, Sourced, load_profile, load_profiles, profile_names,
                                      user_profiles_dir, write_user_profile)
from exporter.devices.selector import InfeasibleBudget, select
from exporter.errors import UserError
from exporter.model.config import EncoderConfig
from exporter.spec import BACKENDS

DEFAULT_SEQ_LEN = 64


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


def profile_calibrate(backends: tuple[str, ...] = BACKENDS, precisions: tuple[str, ...] = ("fp32", "int8"),
                      widths: tuple[float, ...] | None = None, depths: tuple[float, ...] | None = None,
                      seq_lens: tuple[int, ...] = (DEFAULT_SEQ_LEN,), threads: int = 2, runs: int = 30,
                      fresh: bool = False) -> dict:
    """Time the grid on this machine (cached, resumable), fit, save the fit and the host profile."""
    from exporter.devices.calibrate import CalibrationSpec, calibrate

    extra = {k: v for k, v in (("widths", widths), ("depths", depths)) if v}
    spec = CalibrationSpec(backends=tuple(backends), precisions=tuple(precisions), seq_lens=tuple(seq_lens),
                           threads=threads, runs=runs, **extra)
    result = calibrate(spec, fresh=fresh)
    result["host_profile_path"] = str(write_user_profile(host_profile(result["host"])))
    return result


def profile_import(path: str | Path, profile: str | None = None) -> dict:
    from exporter.devices.importer import import_measurements

    return import_measurements(Path(path), profile=profile)


def _cfg(cfg) -> EncoderConfig:
    if cfg is None:
        return EncoderConfig()       # all-MiniLM-L6-v2's shape, the default model
    return cfg if isinstance(cfg, EncoderConfig) else EncoderConfig.from_dict(cfg)


def query(device: str, budget: str | Budget, table_rows: list[dict], seq_len: int = DEFAULT_SEQ_LEN,
          cfg: EncoderConfig | dict | None = None, backends: tuple[str, ...] = BACKENDS,
          size_cap: int | None = None) -> dict:
    """One entry shaped like the manifest's "choices" (device, budget_ms, subnet, backend, predicted_ms,
    reason, runner_up)."""
    profile = load_profile(device)  # unknown device -> UserError listing the profiles
    choice = select(table_rows, profile, parse_budget(budget), load_fit(), _cfg(cfg), seq_len, tuple(backends),
                    size_cap)
    return choice.to_dict()


def choose_for_target(target: str, budget: str | Budget, table_rows: list[dict], device: str | None = None,
                      seq_len: int = DEFAULT_SEQ_LEN, cfg: EncoderConfig | dict | None = None,
                      backends: tuple[str, ...] = BACKENDS, size_cap: int | None = None) -> list[dict]:
    """One choice per profile of `target` (or just `device`), computed exactly as `query` does, so
    the two agree. Every profile must fit: one that cannot is an error naming it."""
    if device is not None:
        profile = load_profile(device)
        if profile.target != target:
            raise UserError(f"device profile {device!r} is for target {profile.target!r}, not {target!r}; "
                            f"profiles for {target}: {', '.join(p.name for p in load_profiles(target))}")
        names = [device]
    else:
        names = [p.name for p in load_profiles(target)]
        if not names:
            raise UserError(f"no device profiles for target {target!r}; profiles: {', '.join(profile_names())}")
    return [query(n, budget, table_rows, seq_len, cfg, backends, size_cap) for n in names]


def plan_for_target(target: str, budget: str | Budget, table_rows: list[dict], device: str | None = None,
                    seq_len: int = DEFAULT_SEQ_LEN, cfg: EncoderConfig | dict | None = None,
                    backends: tuple[str, ...] = BACKENDS, size_cap: int | None = None) -> tuple[list[dict], list[dict]]:
    """What `export --budget` uses: (choices, infeasible). A profile whose fastest option is over
    budget is left out and listed in `infeasible` with that option (a budget phone must not cost
    every other phone its model); an error only when no profile fits, or the one --device does."""
    if device is not None:
        return choose_for_target(target, budget, table_rows, device, seq_len, cfg, backends, size_cap), []
    choices, infeasible = [], []
    for profile in load_profiles(target):
        try:
            choices.append(query(profile.name, budget, table_rows, seq_len, cfg, backends, size_cap))
        except InfeasibleBudget as err:
            infeasible.append({"device": profile.name, "budget_ms": parse_budget(budget).ms,
                               "fastest": err.fastest.to_dict(), "reason": str(err)})
    if not choices:
        raise UserError(f"no {target} profile fits {budget}: " + "; ".join(i["reason"] for i in infeasible))
    return choices, infeasible


def with_offline_companions(needed: list[dict]) -> list[dict]:
    """For Android: an ExecuTorch twin of every TFLite-only artifact. The offline demo APK runs .pte
    files only (no registry ships LiteRT's Android libraries), and its selector falls back to the
    same sub-network on ExecuTorch (android_demo Selector.java, rule 3)."""
    have = {(n["width"], n["depth"], n["precision"]) for n in needed if n["backend"] == "executorch"}
    extra = [{**n, "backend": "executorch", "companion": "offline APK twin of the TFLite choice"}
             for n in needed if n["backend"] == "tflite" and (n["width"], n["depth"], n["precision"]) not in have]
    return needed + extra


def needed_artifacts(choices: list[dict]) -> list[dict]:
    """The distinct (width, depth, precision, backend) artifacts the choices need, in first-use order."""
    seen, out = set(), []
    for c in choices:
        s = c["subnet"]
        key = (s["width"], s["depth"], s["precision"], c["backend"])
        if key not in seen:
            seen.add(key)
            out.append({"width": key[0], "depth": key[1], "precision": key[2], "backend": key[3],
                        "devices": [x["device"] for x in choices if (x["subnet"]["width"], x["subnet"]["depth"],
                                                                      x["subnet"]["precision"], x["backend"]) == key]})
    return out
