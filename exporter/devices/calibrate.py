"""`dynaedge profile calibrate`: time real lowered sub-networks on the host, fit the latency model.

Each configuration (backend, variant, width, depth, seq_len) is lowered from one
random-weight full-size encoder (timing does not depend on the weights' values), run with
the backend's own runtime in fresh processes, interleaved with its variant's other files over
several rounds, and timed (exporter/bench_timing.py). Results append to a JSONL cache keyed by everything
that changes the timing, and lowered artifacts are cached too: an interrupted run resumes
where it stopped, and a rerun only fits.
"""

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from exporter.devices.features import work
from exporter.devices.fit import LatencyFit, fit_group, save_fit
from exporter.errors import UserError, unknown_choice
from exporter.model.config import EncoderConfig
from exporter.model.subnet import DEPTHS, WIDTHS, SubnetSpec
from exporter.paths import cache_dir
from exporter.spec import BACKENDS

# Variants timed by default: the stock-runtime variants a budget may choose (full-integer int8 runs
# on reference kernels at ~4x the others: only with an explicit --variants). Random weights time
# like trained ones; ternary variants are lowered from a ternarized (TWN) copy of the same encoder.
DEFAULT_VARIANTS = ("fp32", "int8", "int8-dynamic", "executorch/ternary-int4", "tflite/ternary-int8")

CACHE_VERSION = 3   # 3: fresh-process, round-robin timing (2: in-process, right after lowering)
STATISTICS = ("median", "min")   # over the rounds' per-process medians


@dataclass(frozen=True)
class CalibrationSpec:
    backends: tuple[str, ...] = BACKENDS
    # names in the backends' variant tables ("int8-dynamic": on every backend that has it) or keys
    # ("tflite/ternary-int8": on that backend only)
    variants: tuple[str, ...] = DEFAULT_VARIANTS
    widths: tuple[float, ...] = WIDTHS
    depths: tuple[float, ...] = DEPTHS
    seq_lens: tuple[int, ...] = (64,)
    # Per-backend override of seq_lens, e.g. (("tflite", (64,)),): a backend whose lowering is slow
    # can be timed at fewer lengths (each (backend, precision) is fitted on its own rows).
    seq_lens_for: tuple[tuple[str, tuple[int, ...]], ...] = ()
    threads: int = 2
    runs: int = 30                   # timed calls per process
    rounds: int = 5                  # fresh processes per configuration, interleaved within its variant
    # Of the rounds' per-process medians. "min": a shared host only ever slows a run down, and the
    # fit wants the machine's own speed. Measured (AMD host, 2026-12-07, ExecuTorch int8-dynamic, 32
    # files): rounds of one file spread by a median 26 %; leave-one-out within +-10 %: 62 % for the
    # median of 3 rounds, 84 % for the min of 3, 91 % for the min of 5.
    statistic: str = "min"
    warmup: int = 5
    calibration_sentences: int = 8  # int8 ranges from random tokens: enough for timing
    seed: int = 0
    cfg: EncoderConfig = field(default_factory=EncoderConfig)  # all-MiniLM-L6-v2's shape

    def __post_init__(self):
        from exporter.spec import _check_all

        _check_all("backend", self.backends, BACKENDS)
        from backends.registry import variant_names, variants

        _check_all("variant", self.variants, variant_names() + tuple(v.key for v in variants()))
        mixed = [v.key for v in variants() if v.precision == "mixed" and (v.name in self.variants or v.key in self.variants)]
        if mixed:  # a random encoder has no bit map to lower
            raise UserError(f"{', '.join(mixed)} is not calibrated on its own: a mixed-precision file is predicted "
                            f"with the int8-dynamic fit on the heads and neurons it keeps (backends/executorch/variants.py)")
        _check_all("backend", tuple(b for b, _ in self.seq_lens_for), BACKENDS)
        for s in self.seq_lens + tuple(x for _, lens in self.seq_lens_for for x in lens):
            if not 8 <= s <= self.cfg.max_positions:
                raise UserError(f"sequence length {s} out of range; choose 8..{self.cfg.max_positions}")
        for w in self.widths + self.depths:
            SubnetSpec(w, 1.0)  # validates the range
        if self.statistic not in STATISTICS:
            raise unknown_choice("timing statistic", self.statistic, STATISTICS)
        if self.runs < 5 or self.rounds < 1:
            raise UserError(f"--runs {self.runs} / rounds {self.rounds}: use at least 5 runs and 1 round")

    def grid(self) -> list[tuple[str, str, float, float, int]]:
        """(backend, variant name, width, depth, seq_len) for every variant a backend has."""
        from backends.registry import variants

        lens = dict(self.seq_lens_for)
        return [(b, v.name, w, d, s) for b in self.backends for v in variants(b)
                if v.name in self.variants or v.key in self.variants
                for s in lens.get(b, self.seq_lens) for w in self.widths for d in self.depths]


def _artifact_key(spec: CalibrationSpec, config: tuple) -> str:
    """What changes the lowered file (not the timing settings): reruns with other threads reuse it;
    a change to the lowering code re-lowers and so re-times."""
    from exporter.bench_systems import lowering_code_hash

    what = {"cfg": spec.cfg.to_dict(), "seed": spec.seed, "config": list(config),
            "calibration_sentences": spec.calibration_sentences, "code": lowering_code_hash()}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def _key(spec: CalibrationSpec, config: tuple) -> str:
    """What changes a measurement: the artifact, the threads, the timing code's version."""
    what = {"v": CACHE_VERSION, "artifact": _artifact_key(spec, config), "threads": spec.threads}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def measurements_path() -> Path:
    return cache_dir("latency") / "measurements.jsonl"


def _cached(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    rows = {}
    for line in path.read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["key"]] = row
    return rows


def _random_inputs(spec: CalibrationSpec, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(spec.seed)
    n = max(1, spec.calibration_sentences)
    ids = rng.integers(1000, spec.cfg.vocab_size, (n, seq_len)).astype(np.int32)
    ids[:, 0] = 101
    return ids, np.ones_like(ids)


def _input_file(spec: CalibrationSpec, seq_len: int) -> Path:
    """The one input every timing child of this length runs (random tokens, no padding)."""
    import io

    from exporter.atomic import write_bytes

    path = cache_dir("latency") / f"input-{spec.seed}-s{seq_len}.npz"
    if not path.exists():
        ids, mask = _random_inputs(spec, seq_len)
        buffer = io.BytesIO()
        np.savez(buffer, ids=ids[:1], mask=mask[:1])
        write_bytes(path, buffer.getvalue())
    return path


def measure(spec: CalibrationSpec, fresh: bool = False, progress: bool = True) -> list[dict]:
    """Measured rows for every configuration of `spec`, from the cache where present.

    First every missing file is lowered (cached as an artifact); then each (backend, variant)
    group is timed the way systems are compared here (exporter/bench_timing.py): every file in its
    own fresh process, the group's files interleaved round-robin over `spec.rounds` rounds, the
    row the `statistic` (default: the minimum) of the rounds' medians. A group's rows are cached
    once its rounds are done."""
    import torch
    from tqdm import tqdm

    from backends.base import LowerSpec
    from backends.registry import find_variant, get_backend
    from exporter.atomic import write_bytes
    from exporter.bench_timing import Timed, TimingSpec, time_systems
    from exporter.model.encoder import Encoder, extract

    torch.set_num_threads(spec.threads)
    path = measurements_path()
    cached = {} if fresh else _cached(path)
    torch.manual_seed(spec.seed)
    full = Encoder(spec.cfg).eval()
    ternary = None  # a ternary QAT copy of `full`, built when a ternary variant is first lowered
    artifacts = cache_dir("latency", "artifacts")
    todo = {}  # (backend, variant) -> [(config, key, artifact, lower_s)]
    for config in tqdm(spec.grid(), desc="lower for calibration", unit="config", disable=not progress):
        key = _key(spec, config)
        if key in cached:
            continue
        backend_name, name, width, depth, seq_len = config
        backend, variant = get_backend(backend_name), find_variant(backend_name, name)
        artifact = artifacts / f"{_artifact_key(spec, config)}{backend.suffix}"
        ids, mask = _random_inputs(spec, seq_len)
        t0 = time.perf_counter()
        if not artifact.exists():
            if variant.precision == "ternary":
                ternary = ternary or _ternary_qat(full, ids, mask)
                small = _frozen(ternary, SubnetSpec(width, depth))
            else:
                small = extract(full, SubnetSpec(width, depth))
            write_bytes(artifact, backend.lower(small, LowerSpec(variant.precision, seq_len, ids, mask,
                                                                 variant.options)).data)
        todo.setdefault((backend_name, name), []).append((config, key, artifact, round(time.perf_counter() - t0, 1)))
    timing = TimingSpec(threads=spec.threads, runs=spec.runs, warmup=spec.warmup, rounds=spec.rounds)
    for (backend_name, name), group in todo.items():
        precision = find_variant(backend_name, name).precision
        times = time_systems([Timed(key, artifact, _input_file(spec, config[4])) for config, key, artifact, _ in group],
                             timing)
        with path.open("a") as f:  # one line per configuration, written when its group is timed: the resume point
            for (_, _, width, depth, seq_len), key, artifact, lower_s in group:
                t = times[key]
                row = {"key": key, "backend": backend_name, "variant": name,
                       "precision": precision, "width": width, "depth": depth,
                       "seq_len": seq_len, "threads": spec.threads, "median_ms": t["median_ms"],
                       "min_ms": min(t["rounds"]), "p90_ms": t["p90_ms"], "rounds_ms": t["rounds"],
                       "bytes": artifact.stat().st_size, "lower_s": lower_s}
                f.write(json.dumps(row) + "\n")
                cached[key] = row
    rows = []
    for config in spec.grid():
        row = cached[_key(spec, config)]
        rows.append(row | {"measured_ms": row[f"{spec.statistic}_ms"], "statistic": spec.statistic})
    return rows


def row_variant(row: dict) -> str:
    """A measured row's variant name (rows cached before the variant table carry only "precision")."""
    return row.get("variant", row["precision"])


def row_work(cfg: EncoderConfig, row: dict):
    from backends.registry import find_variant

    variant = find_variant(row["backend"], row_variant(row))
    return work(cfg, SubnetSpec(row["width"], row["depth"]), row["seq_len"], variant.linear_bytes)


def _ternary_qat(full, ids: np.ndarray, mask: np.ndarray):
    """Ternary weights (TWN) and activation ranges from the random inputs: times like a trained one."""
    import copy

    import torch

    from exporter.compress.quant import QuantSpec, quantize_model

    model = quantize_model(copy.deepcopy(full), QuantSpec(weights="ternary"))
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(ids), torch.from_numpy(mask))
    return model.eval()


def _frozen(qat, subnet: SubnetSpec):
    from exporter.compress.freeze import freeze_ternary
    from exporter.compress.quant import extract_quantized

    return freeze_ternary(extract_quantized(qat, subnet))


def fit_rows(rows: list[dict], cfg: EncoderConfig, host: dict, note: str = "", machine: dict | None = None,
             keep: LatencyFit | None = None) -> LatencyFit:
    """One fit per measured variant; `keep`'s coefficients stay for variants not measured here."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["backend"], row_variant(row)), []).append(row)
    coefs = []
    for (backend, name), group in sorted(groups.items()):
        x = np.array([row_work(cfg, r).vector() for r in group])
        y = np.array([r["measured_ms"] for r in group])
        coefs.append(fit_group(backend, name, x, y))
    kept = [c for c in (keep.coefficients if keep else ()) if (c.backend, c.variant) not in groups]
    if kept:
        note += f"; kept from the previous fit: {', '.join(f'{c.backend}/{c.variant}' for c in kept)}"
    return LatencyFit(host, cfg.to_dict(), tuple(coefs) + tuple(kept), time.strftime("%Y-%m-%dT%H:%M:%S"), note,
                      machine)


def calibrate(spec: CalibrationSpec, fresh: bool = False, save: bool = True, fit_path: Path | None = None,
              progress: bool = True, keep: LatencyFit | None = None) -> dict:
    """Measure, fit, save; rows carry measured and predicted ms (host profile = the fit itself).
    `keep`: a fit whose variants not measured here are carried over (same host numbers assumed)."""
    from exporter.devices.fingerprint import this_machine
    from exporter.devices.host_bench import measure_host

    host = measure_host(spec.threads)
    machine = this_machine(spec.threads).to_dict() | {"int8_gops": host["int8_gops"][0],
                                                      "fp32_gflops": host["fp32_gflops"][0]}
    rows = measure(spec, fresh=fresh, progress=progress)
    fit = fit_rows(rows, spec.cfg, {k: v for k, (v, _) in host.items()},
                   note=f"{len(rows)} configurations, {spec.threads} threads, seq {list(spec.seq_lens)}"
                        + "".join(f", {b} seq {list(lens)}" for b, lens in spec.seq_lens_for),
                   machine=machine, keep=keep)
    out = []
    for r in rows:
        coef = np.array(fit.get(r["backend"], row_variant(r)).values)
        x = np.array(row_work(spec.cfg, r).vector())
        out.append({k: r[k] for k in ("backend", "precision", "width", "depth", "seq_len", "measured_ms")}
                   | {"variant": row_variant(r)}
                   | {"predicted_ms": round(float(x @ coef), 4),
                      "error_pct": round(100 * (float(x @ coef) / r["measured_ms"] - 1), 2)})
    within = float(np.mean([abs(r["error_pct"]) <= 10 for r in out])) if out else 0.0
    result = {"rows": out, "within_10pct": round(within, 4), "fit": fit.to_dict(),
              "host": {k: {"value": v, "source": s} for k, (v, s) in host.items()}, "spec": _spec_dict(spec)}
    if save:
        result["fit_path"] = str(save_fit(fit, fit_path))
    return result


def _spec_dict(spec: CalibrationSpec) -> dict:
    d = asdict(spec)
    d["cfg"] = spec.cfg.to_dict()
    return d


# `profile calibrate --quick`: a few configurations per variant scale the packaged fit to this machine.
QUICK_WIDTHS, QUICK_DEPTHS, QUICK_SEQ_LENS = (1.0,), (0.5, 1.0), (64,)


def calibrate_quick(threads: int = 2, runs: int = 20, base: LatencyFit | None = None, save: bool = True,
                    progress: bool = True) -> dict:
    """Refit this host in minutes: time QUICK_* configurations of every fitted variant that lowers
    from fp32 weights, and scale each variant's coefficients by the median measured / predicted
    (the shape of the fit is kept, its level follows this machine). Ternary variants keep theirs."""
    from dataclasses import replace

    from exporter.devices.fingerprint import this_machine
    from exporter.devices.fit import PACKAGED_FIT, load_fit
    from exporter.devices.host_bench import measure_host

    base = base or load_fit(PACKAGED_FIT)
    timed = [(b, v) for b, v in base.keys() if not v.startswith("ternary")]
    cfg = EncoderConfig.from_dict(base.model)
    spec = CalibrationSpec(backends=tuple(dict.fromkeys(b for b, _ in timed)),
                           variants=tuple(dict.fromkeys(v for _, v in timed)), widths=QUICK_WIDTHS,
                           depths=QUICK_DEPTHS, seq_lens=QUICK_SEQ_LENS, threads=threads, runs=runs, rounds=2,
                           cfg=cfg)
    host = measure_host(threads)
    rows = [r for r in measure(spec, progress=progress) if (r["backend"], row_variant(r)) in timed]
    coefs, out = [], []
    for c in base.coefficients:
        group = [r for r in rows if (r["backend"], row_variant(r)) == (c.backend, c.variant)]
        if not group:
            coefs.append(c)
            continue
        predicted = [float(np.dot(row_work(cfg, r).vector(), c.values)) for r in group]
        scale = float(np.median([r["measured_ms"] / p for r, p in zip(group, predicted)]))
        coefs.append(replace(c, values=tuple(v * scale for v in c.values)))
        out += [{k: r[k] for k in ("backend", "width", "depth", "seq_len", "measured_ms")}
                | {"variant": c.variant, "scale": round(scale, 4), "predicted_ms": round(p * scale, 4),
                   "error_pct": round(100 * (p * scale / r["measured_ms"] - 1), 2)} for r, p in zip(group, predicted)]
    machine = this_machine(threads).to_dict() | {"int8_gops": host["int8_gops"][0],
                                                 "fp32_gflops": host["fp32_gflops"][0]}
    fit = LatencyFit({k: v for k, (v, _) in host.items()}, base.model, tuple(coefs),
                     time.strftime("%Y-%m-%dT%H:%M:%S"),
                     f"quick refit: {base.note} scaled per variant by measured / predicted over {len(rows)} "
                     f"configurations on this machine", machine)
    result = {"rows": out, "fit": fit.to_dict(), "quick": True,
              "host": {k: {"value": v, "source": s} for k, (v, s) in host.items()}}
    if save:
        result["fit_path"] = str(save_fit(fit))
    return result
