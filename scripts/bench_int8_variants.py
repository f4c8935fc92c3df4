"""Build the full-size int8 files of both backends, then time them interleaved in fresh processes.

    # build with the tree on PYTHONPATH (run it from an older checkout to get a "before" set)
    python scripts/bench_int8_variants.py build --out /tmp/after --model teacher --seq 64,128 --verify
    # time: every round runs every file once, each in its own fresh process, in round-robin order;
    # the figure is the median over rounds of each process's median of --runs calls
    python scripts/bench_int8_variants.py time before=/tmp/before after=/tmp/after --rounds 7

`build` writes <variant>-s<seq>.pte/.tflite, input-s<seq>.npz (a real dev sentence, padded) and
build.json (bytes, quantization, fallbacks, and with --verify the dev parity against fp32 PyTorch:
the int8 gate is accuracy within 1 point). --model: "teacher" (the cached fine-tuned teacher,
~/.cache/dynaedge/runs/finetune-*/final), "default" (untrained head: fine for size and speed) or a
checkpoint directory. `time` loads every file with the current tree's runners.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = {  # name -> (backend, LowerSpec options)
    "et-static": ("executorch", (("int8_mode", "static"),)),
    "et-dynamic": ("executorch", (("int8_mode", "dynamic"),)),
    "tfl-static": ("tflite", (("int8_mode", "static"),)),
    "tfl-dynamic": ("tflite", (("int8_mode", "dynamic"),)),
    "tfl-full": ("tflite", (("int8_mode", "full"),)),
}


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


def build(args) -> None:
    import numpy as np
    import torch

    from backends.base import LowerSpec
    from backends.registry import get_backend
    from exporter.evaluate import torch_logits
    from exporter.inputs import prepare
    from exporter.verify import compare, run_runner

    torch.set_num_threads(2)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report_path = out / "build.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    trained = load_model(args.model)
    for seq in [int(s) for s in args.seq.split(",")]:
        inputs = prepare(None, None, seq)
        model = (trained or inputs.model).eval()
        train, dev = inputs.splits.train, inputs.splits.dev
        np.savez(out / f"input-s{seq}.npz", ids=dev.ids[:1], mask=dev.mask[:1])
        reference = torch_logits(model, dev.ids, dev.mask) if args.verify else None
        for name in args.variants.split(","):
            backend_name, options = VARIANTS[name]
            backend = get_backend(backend_name)
            t0 = time.time()
            lowered = backend.lower(model, LowerSpec("int8", seq, train.ids[:256], train.mask[:256], options))
            path = out / f"{name}-s{seq}{backend.suffix}"
            path.write_bytes(lowered.data)
            row = {"bytes": len(lowered.data), "quantization": lowered.quantization,
                   "fallbacks": list(lowered.fallbacks), "lower_s": round(time.time() - t0, 1)}
            if args.verify:
                logits = run_runner(backend.load(path, threads=2), dev.ids, dev.mask, desc=f"verify {path.name}")
                row["parity"] = compare(reference, logits, dev.labels).to_dict()
            report[path.name] = row
            report_path.write_text(json.dumps(report, indent=1))
            print(json.dumps({path.name: row}), file=sys.stderr, flush=True)


def time_one(args) -> None:
    """Child process: load one file, warm up, print the median of --runs calls in ms."""
    import numpy as np

    from backends.registry import get_backend

    path = Path(args.file)
    backend = get_backend("executorch" if path.suffix == ".pte" else "tflite")
    runner = backend.load(path, threads=args.threads)
    data = np.load(args.input)
    ids, mask = data["ids"], data["mask"]
    for _ in range(args.warmup):
        runner(ids, mask)
    times = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        runner(ids, mask)
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"median_ms": statistics.median(times)}))


def time_all(args) -> None:
    systems = []  # (label, file, input)
    for item in args.sets:
        label, _, directory = item.partition("=")
        for path in sorted(Path(directory).glob("*-s*.*")):
            if path.suffix in (".pte", ".tflite") and (not args.only or path.name.split("-s")[0] in args.only):
                seq = path.stem.rsplit("-s", 1)[1]
                systems.append((f"{label}:{path.name}", path, Path(directory) / f"input-s{seq}.npz"))
    results = {name: [] for name, _, _ in systems}
    for r in range(args.rounds):
        for name, path, inputs in systems:
            done = subprocess.run([sys.executable, __file__, "_one", str(path), str(inputs), "--threads",
                                   str(args.threads), "--runs", str(args.runs), "--warmup", str(args.warmup)],
                                  capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                raise SystemExit(f"{name} failed:\n{done.stderr[-2000:]}")
            results[name].append(json.loads(done.stdout.strip().splitlines()[-1])["median_ms"])
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    rows = [{"system": name, "median_ms": round(statistics.median(v), 3), "min_ms": round(min(v), 3),
             "max_ms": round(max(v), 3), "rounds": [round(x, 3) for x in v]} for name, v in results.items()]
    for row in rows:
        print(f"{row['system']:<40} {row['median_ms']:7.2f} ms  (rounds {row['min_ms']:.2f}-{row['max_ms']:.2f})",
              file=sys.stderr)
    print(json.dumps({"threads": args.threads, "runs": args.runs, "rounds": args.rounds, "rows": rows}, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--out", required=True)
    b.add_argument("--model", default="teacher")
    b.add_argument("--seq", default="64,128")
    b.add_argument("--variants", default=",".join(VARIANTS))
    b.add_argument("--verify", action="store_true")
    t = sub.add_parser("time")
    t.add_argument("sets", nargs="+", help="label=DIR written by build")
    t.add_argument("--only", nargs="*", help="variant names to time (default: all found)")
    t.add_argument("--rounds", type=int, default=5)
    for p in (t, sub.add_parser("_one")):
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--runs", type=int, default=50)
        p.add_argument("--warmup", type=int, default=10)
    one = sub.choices["_one"]
    one.add_argument("file")
    one.add_argument("input")
    args = parser.parse_args()
    {"build": build, "time": time_all, "_one": time_one}[args.cmd](args)


if __name__ == "__main__":
    sys.path.append(str(ROOT))  # after PYTHONPATH, so an older checkout there builds the "before" files
    main()
