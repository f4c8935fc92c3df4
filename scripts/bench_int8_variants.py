"""Build the full-size int8 files of both backends, then time them interleaved in fresh processes.

    # build with the tree on PYTHONPATH (run it from an older checkout to get a "before" set)
    python scripts/bench_int8_variants.py build --out /tmp/after --model teacher --seq 64,128 --verify
    # time: every round runs every file once, each in its own fresh process, in round-robin order;
    # the figure is the median over rounds of each process's median of --runs calls
    python scripts/bench_int8_variants.py time before=/tmp/before after=/tmp/after --rounds 7

Timing is exporter/bench_timing.py's (what `dynaedge bench` uses). --amx off|both also times each
file in processes that may not enable Intel AMX tiles (a seccomp filter fails
arch_prctl(ARCH_REQ_XCOMP_PERM), so XNNPACK falls back to AVX-512 VNNI): LiteRT's
XNNPACK has AMX int8 kernels, the executorch 1.5.1 wheel's XNNPACK has none, and phones have
neither, so on an AMX host "off" is the like-for-like kernel comparison.

`build` writes <variant>-s<seq>.pte/.tflite (--variants: keys of the backends' variant tables;
ternary ones lower the full-size ternary slice of the cached --supernet, as `dynaedge bench` does),
input-s<seq>.npz (--input full: seq real tokens, dev sentences joined, as `dynaedge bench` times a
fixed length; --input sentence: the first dev sentence, padded) and
build.json (bytes, quantization, fallbacks, and with --verify the dev parity against fp32 PyTorch:
the int8 gate is accuracy within 1 point). --model: "teacher" (the cached fine-tuned teacher,
~/.cache/dynaedge/runs/finetune-*/final), "default" (untrained head: fine for size and speed) or a
checkpoint directory. `time` loads every file with the current tree's runners.
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# variant keys of the backends' tables (backends/variant.py): the int8 files of both runtimes
DEFAULT_VARIANTS = "executorch/int8,executorch/int8-dynamic,tflite/int8,tflite/int8-dynamic"


def load_model(which: str):
    from exporter.compress.checkpoint import load_checkpoint
    from exporter.paths import cache_dir

    if which == "default":
        return None
    if which == "teacher":
        found = sorted(cache_dir("runs").glob("finetune-*/final/checkpoint.json"), key=lambda p: p.stat().st_mtime)
        if not found:
            raise SystemExit("no cached teacher under ~/.cache/dynaedge/runs/finetune-*/final; "
                             "use --model default or train one")
        return load_checkpoint(found[-1].parent)[0]
    return load_checkpoint(Path(which))[0]


def ternary_model(recipe: str):
    """The frozen full-size ternary slice of the cached supernet of `recipe` (what `dynaedge bench` times)."""
    from exporter.bench import _ternary_model

    model, note = _ternary_model({"model": {"path": None}}, None, recipe)  # the default model and data
    if model is None:
        raise SystemExit(note["ternary"])
    print(note["ternary"], file=sys.stderr)
    return model


def build(args) -> None:
    import numpy as np
    import torch

    from backends.base import LowerSpec
    from backends.registry import get_backend, get_variant
    from exporter.bench import full_length_input
    from exporter.evaluate import torch_logits
    from exporter.inputs import prepare
    from exporter.verify import compare, run_runner

    torch.set_num_threads(2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "build.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    variants = [get_variant(key) for key in args.variants.split(",")]
    trained = load_model(args.model)
    ternary = ternary_model(args.supernet) if any(v.precision == "ternary" for v in variants) else None
    for seq in [int(s) for s in args.seq.split(",")]:
        inputs = prepare(None, None, seq)
        train, dev = inputs.splits.train, inputs.splits.dev
        if args.input == "full":
            np.savez(out / f"input-s{seq}.npz", **full_length_input(dev.ids, dev.mask, seq))
        else:
            np.savez(out / f"input-s{seq}.npz", ids=dev.ids[:1], mask=dev.mask[:1])
        references = {}
        for variant in variants:
            model = (ternary if variant.precision == "ternary" else trained or inputs.model).eval()
            if args.verify and id(model) not in references:
                references[id(model)] = torch_logits(model, dev.ids, dev.mask)
            reference = references.get(id(model))
            backend = get_backend(variant.backend)
            t0 = time.time()
            lowered = backend.lower(model, LowerSpec(variant.precision, seq, train.ids[:256], train.mask[:256],
                                                     variant.options))
            path = out / f"{variant.name}-s{seq}{variant.suffix}"
            path.write_bytes(lowered.data)
            row = {"bytes": len(lowered.data), "quantization": lowered.quantization,
                   "fallbacks": list(lowered.fallbacks), "lower_s": round(time.time() - t0, 1)}
            if args.verify:
                logits = run_runner(backend.load(path, threads=2), dev.ids, dev.mask, desc=f"verify {path.name}")
                row["parity"] = compare(reference, logits, dev.labels).to_dict()
            report[path.name] = row
            report_path.write_text(json.dumps(report, indent=1))
            print(json.dumps({path.name: row}), file=sys.stderr, flush=True)


def time_all(args) -> None:
    from exporter.bench_timing import Timed, TimingSpec, time_systems

    systems = []
    amx = {"on": (True,), "off": (False,), "both": (True, False)}[args.amx]
    for item in args.sets:
        label, _, directory = item.partition("=")
        for path in sorted(Path(directory).glob("*-s*.*")):
            if path.suffix in (".pte", ".tflite") and (not args.only or path.name.rsplit("-s", 1)[0] in args.only):
                seq = path.stem.rsplit("-s", 1)[1]
                for allowed in amx:
                    systems.append(Timed(f"{label}:{path.name}{'' if allowed else ' (no AMX)'}", path,
                                         Path(directory) / f"input-s{seq}.npz", allowed))
    times = time_systems(systems, TimingSpec(args.threads, args.runs, args.warmup, args.rounds))
    rows = [{"system": name, **t} for name, t in times.items()]
    for row in rows:
        print(f"{row['system']:<40} {row['median_ms']:7.2f} ms  (rounds {min(row['rounds']):.2f}-"
              f"{max(row['rounds']):.2f}; cpu {row['cpu_ms']:.2f} ms/call)", file=sys.stderr)
    print(json.dumps({"host": host(), "threads": args.threads, "runs": args.runs, "rounds": args.rounds,
                      "rows": rows}, indent=1))


def host() -> str:
    """CPU model and whether it has AMX int8 (LiteRT uses it, executorch's XNNPACK wheel does not)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    return f"{model}, {info.count('processor')} cpus, amx_int8={'amx_int8' in info}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--out", required=True)
    b.add_argument("--model", default="teacher")
    b.add_argument("--seq", default="64,128")
    b.add_argument("--variants", default=DEFAULT_VARIANTS, help="backend/variant keys, comma-separated")
    b.add_argument("--supernet", default="quick",
                   help="recipe whose cached supernet's full-size ternary slice the ternary variants lower")
    b.add_argument("--input", choices=("full", "sentence"), default="full",
                   help="the timed input: seq real tokens (dev sentences joined, as `dynaedge bench`'s fixed "
                        "length) or the first dev sentence padded (length-adaptive files run at its length)")
    b.add_argument("--verify", action="store_true")
    t = sub.add_parser("time")
    t.add_argument("sets", nargs="+", help="label=DIR written by build")
    t.add_argument("--only", nargs="*", help="variant names to time (default: all found)")
    t.add_argument("--rounds", type=int, default=5)
    t.add_argument("--amx", choices=("on", "off", "both"), default="on")
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--runs", type=int, default=50)
    t.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    {"build": build, "time": time_all}[args.cmd](args)


if __name__ == "__main__":
    sys.path.append(str(ROOT))  # after PYTHONPATH, so an older checkout there builds the "before" files
    main()
