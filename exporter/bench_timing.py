"""Latency the way a shared machine allows it to be compared: every system in its own fresh
process, the systems interleaved round-robin over several rounds (drift hits all of them alike),
and each system's figure the median over rounds of that process's median.

A system is one file (.pte, .tflite, .onnx, or a pickled torch module .pt) plus its inputs (.npz
with ids and mask). `python -m exporter.bench_timing FILE INPUT` is the child: it loads the file
with the runtime its suffix names, warms up, times, and prints one JSON line. One input row: the
same call `runs` times (fixed length). Several rows (real lengths): each sentence once, in order;
a runner that accepts any length runs each at its own, the others pad it (their runners say which).
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Timed:
    """One system to time: `name` is its row label."""

    name: str
    file: Path
    inputs: Path          # .npz with `ids` and `mask`
    amx: bool = True      # False: the child may not enable Intel AMX tiles (see deny_amx)


@dataclass(frozen=True)
class TimingSpec:
    threads: int = 2
    runs: int = 50        # timed calls per process
    warmup: int = 5
    rounds: int = 5       # fresh processes per system, interleaved


def time_systems(systems: list[Timed], spec: TimingSpec) -> dict[str, dict]:
    """name -> {median_ms (median over rounds), p90_ms and mean_ms (medians over rounds of each
    process's p90 and mean), rounds: [per-round medians], cpu_ms}."""
    per_round = {s.name: [] for s in systems}
    bar = tqdm(total=spec.rounds * len(systems), desc="time (fresh process per system and round)", leave=False)
    for _ in range(spec.rounds):
        for system in systems:
            per_round[system.name].append(_child(system, spec))
            bar.update()
    bar.close()
    out = {}
    for name, rows in per_round.items():
        out[name] = {"median_ms": round(statistics.median(r["median_ms"] for r in rows), 3),
                     "p90_ms": round(statistics.median(r["p90_ms"] for r in rows), 3),
                     "mean_ms": round(statistics.median(r["mean_ms"] for r in rows), 3),
                     "cpu_ms": round(statistics.median(r["cpu_ms"] for r in rows), 3),
                     "rounds": [round(r["median_ms"], 3) for r in rows]}
    return out


def _child(system: Timed, spec: TimingSpec) -> dict:
    cmd = [sys.executable, "-m", "exporter.bench_timing", str(system.file), str(system.inputs),
           "--threads", str(spec.threads), "--runs", str(spec.runs), "--warmup", str(spec.warmup)]
    done = subprocess.run(cmd + ([] if system.amx else ["--no-amx"]), capture_output=True, text=True, cwd=ROOT)
    if done.returncode:
        from exporter.errors import UserError

        raise UserError(f"timing {system.name} ({system.file}) failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_runner(path: Path, threads: int):
    """A callable (ids, mask) -> logits for a file, by its suffix."""
    if path.suffix == ".onnx":
        return OnnxRunner(path, threads)
    if path.suffix == ".pt":
        import torch

        torch.set_num_threads(threads)
        return TorchRunner(torch.load(path, weights_only=False))
    from backends.registry import get_backend

    backend = {".pte": "executorch", ".tflite": "tflite"}.get(path.suffix)
    if backend is None:
        from exporter.errors import UserError

        raise UserError(f"cannot time {path}: suffix {path.suffix!r} is not one of .pte, .tflite, .onnx, .pt")
    return get_backend(backend).load(path, threads=threads)


class TorchRunner:
    """PyTorch eager, each sentence unpadded (as its users run it; the logits are the padded ones)."""

    def __init__(self, model):
        from backends.base import at_own_length

        self.model, self.own_length = model.eval(), at_own_length  # imported once, not in the timed call

    def __call__(self, ids, mask):
        import torch

        with torch.no_grad():
            return self.model(*(torch.from_numpy(a) for a in self.own_length(ids, mask))).numpy()


class OnnxRunner:
    """ONNX Runtime; a graph exported with a dynamic sequence axis gets each sentence at its own
    length (ONNX Runtime users export with dynamic axes), a static one padded."""

    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.dynamic_length = not isinstance(self.session.get_inputs()[0].shape[1], int)
        from backends.base import at_own_length

        self.own_length = at_own_length  # imported once, not in the timed call

    def __call__(self, ids, mask):
        import numpy as np

        if self.dynamic_length:
            ids, mask = self.own_length(ids, mask)
        return self.session.run(["logits"], {"ids": ids.astype(np.int32), "mask": mask.astype(np.int32)})[0]


def deny_amx() -> None:
    """Make arch_prctl(ARCH_REQ_XCOMP_PERM, ...) fail with EPERM in this process (before any thread
    starts), so XNNPACK falls back from AMX to AVX-512 VNNI: LiteRT's XNNPACK has AMX int8 kernels,
    the executorch wheel's has none, and phones have neither."""
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


def _main() -> None:
    parser = argparse.ArgumentParser(description="time one file (child of time_systems)")
    parser.add_argument("file", type=Path)
    parser.add_argument("inputs", type=Path)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--no-amx", action="store_true")
    args = parser.parse_args()
    if args.no_amx:
        deny_amx()
    import numpy as np

    runner = load_runner(args.file, args.threads)
    data = np.load(args.inputs)
    ids, mask = data["ids"], data["mask"]
    calls = [(ids, mask)] * args.runs if len(ids) == 1 else [(ids[i:i + 1], mask[i:i + 1]) for i in range(len(ids))]
    for i in range(args.warmup):
        runner(*calls[i % len(calls)])
    times, cpu0 = [], time.process_time()
    for call in calls:
        t0 = time.perf_counter()
        runner(*call)
        times.append((time.perf_counter() - t0) * 1e3)
    # CPU time per call (all threads): at one thread a load-independent proxy on a shared machine
    cpu_ms = (time.process_time() - cpu0) * 1e3 / len(calls)
    mean_ms = statistics.fmean(times)
    times.sort()
    print(json.dumps({"median_ms": statistics.median(times), "p90_ms": times[min(len(times) - 1, int(0.9 * len(times)))],
                      "mean_ms": mean_ms, "cpu_ms": cpu_ms}))


if __name__ == "__main__":
    _main()
