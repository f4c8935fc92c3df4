"""Build the full-size int8 files of both backends, then time them interleaved in fresh processes.

    # build with the tree on PYTHONPATH (run it from an older checkout to get a "before" set)
    python scripts/bench_int8_variants.py build --out /tmp/after --model teacher --seq 64,128 --verify
    # time: every round runs every file once, each in its own fresh process, in round-robin order;
    # the figure is the median over rounds of each process's median of --runs calls
    python scripts/bench_int8_variants.py time before=/tmp/before after=/tmp/after --rounds 7

--amx off|both also times each file in processes that may not enable Intel AMX tiles (a seccomp
filter fails arch_prctl(ARCH_REQ_XCOMP_PERM), so XNNPACK falls back to AVX-512 VNNI): LiteRT's
XNNPACK has AMX int8 kernels, the executorch 1.5.1 wheel's XNNPACK has none, and phones have
neither, so on an AMX host "off" is the like-for-like kernel comparison.

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


def deny_amx() -> None:
    """Make arch_prctl(ARCH_REQ_XCOMP_PERM, ...) fail with EPERM in this process (before any thread starts)."""
    import ctypes
    import struct

    ld, jeq, ret = 0x20, 0x15, 0x06  # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_RET|K over struct seccomp_data
    program = [(ld, 0, 0, 4), (jeq, 0, 5, 0xC000003E),   # arch == AUDIT_ARCH_X86_64, else allow
               (ld, 0, 0, 0), (jeq, 0, 3, 158),          # nr == arch_prctl, else allow
               (ld, 0, 0, 16), (jeq, 0, 1, 0x1023),      # args[0] == ARCH_REQ_XCOMP_PERM
               (ret, 0, 0, 0x00050000 | 1),              # SECCOMP_RET_ERRNO | EPERM
               (ret, 0, 0, 0x7FFF0000)]                  # SECCOMP_RET_ALLOW
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    fprog = SockFprog(len(program), ctypes.cast(code, ctypes.c_void_p))
    if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):  # NO_NEW_PRIVS, SECCOMP
        raise SystemExit(f"seccomp filter refused (errno {ctypes.get_errno()})")


def time_one(args) -> None:
    """Child process: load one file, warm up, print the median of --runs calls in ms."""
    if args.no_amx:
        deny_amx()
    import numpy as np

    from backends.registry import get_backend

    path = Path(args.file)
    backend = get_backend("executorch" if path.suffix == ".pte" else "tflite")
    runner = backend.load(path, threads=args.threads)
    data = np.load(args.input)
    ids, mask = data["ids"], data["mask"]
    for _ in range(args.warmup):
        runner(ids, mask)
    times, cpu0 = [], time.process_time()
    for _ in range(args.runs):
        t0 = time.perf_counter()
        runner(ids, mask)
        times.append((time.perf_counter() - t0) * 1e3)
    # CPU time per call (all threads): at 1 thread a load-independent proxy on a shared machine
    cpu_ms = (time.process_time() - cpu0) * 1e3 / args.runs
    print(json.dumps({"median_ms": statistics.median(times), "cpu_ms": cpu_ms}))


def time_all(args) -> None:
    systems = []  # (label, file, input, AMX allowed)
    amx = {"on": (True,), "off": (False,), "both": (True, False)}[args.amx]
    for item in args.sets:
        label, _, directory = item.partition("=")
        for path in sorted(Path(directory).glob("*-s*.*")):
            if path.suffix in (".pte", ".tflite") and (not args.only or path.name.split("-s")[0] in args.only):
                seq = path.stem.rsplit("-s", 1)[1]
                for allowed in amx:
                    systems.append((f"{label}:{path.name}{'' if allowed else ' (no AMX)'}", path,
                                    Path(directory) / f"input-s{seq}.npz", allowed))
    results = {name: [] for name, *_ in systems}
    cpu = {name: [] for name, *_ in systems}
    for r in range(args.rounds):
        for name, path, inputs, allowed in systems:
            done = subprocess.run([sys.executable, __file__, "_one", str(path), str(inputs), "--threads",
                                   str(args.threads), "--runs", str(args.runs), "--warmup", str(args.warmup)]
                                  + ([] if allowed else ["--no-amx"]), capture_output=True, text=True, cwd=ROOT)
            if done.returncode:
                raise SystemExit(f"{name} failed:\n{done.stderr[-2000:]}")
            out = json.loads(done.stdout.strip().splitlines()[-1])
            results[name].append(out["median_ms"])
            cpu[name].append(out["cpu_ms"])
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    rows = [{"system": name, "median_ms": round(statistics.median(v), 3), "min_ms": round(min(v), 3),
             "max_ms": round(max(v), 3), "rounds": [round(x, 3) for x in v],
             "cpu_ms": round(statistics.median(cpu[name]), 3)} for name, v in results.items()]
    for row in rows:
        print(f"{row['system']:<40} {row['median_ms']:7.2f} ms  (rounds {row['min_ms']:.2f}-{row['max_ms']:.2f}; "
              f"cpu {row['cpu_ms']:.2f} ms/call)", file=sys.stderr)
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
    b.add_argument("--variants", default=",".join(VARIANTS))
    b.add_argument("--verify", action="store_true")
    t = sub.add_parser("time")
    t.add_argument("sets", nargs="+", help="label=DIR written by build")
    t.add_argument("--only", nargs="*", help="variant names to time (default: all found)")
    t.add_argument("--rounds", type=int, default=5)
    t.add_argument("--amx", choices=("on", "off", "both"), default="on")
    for p in (t, sub.add_parser("_one")):
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--runs", type=int, default=50)
        p.add_argument("--warmup", type=int, default=10)
    one = sub.choices["_one"]
    one.add_argument("file")
    one.add_argument("input")
    one.add_argument("--no-amx", action="store_true")
    args = parser.parse_args()
    {"build": build, "time": time_all, "_one": time_one}[args.cmd](args)


if __name__ == "__main__":
    sys.path.append(str(ROOT))  # after PYTHONPATH, so an older checkout there builds the "before" files
    main()
