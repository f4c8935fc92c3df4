"""This machine's int8 peak, measured: what `dynaedge bench` divides each file's int8 work rate by
(a row's `peak_share`).

    peak = host_int8_peak(threads=2)   # Int8Peak(ops_per_s=..., kernel="avx2", ...), cached per host

int8_peak.c holds one loop per instruction set (AVX-512 VNNI, AVX-VNNI, AVX2 maddubs); the best
one the CPU has runs on `threads` threads at once (ctypes releases the GIL), five times, and the
fastest pass is the peak: ops = 2 x multiply-accumulates. It is compiled with the machine's C
compiler on first use and the figure cached by (CPU, flags, threads); with no compiler or on a CPU
none of the loops fits (ARM), there is no figure and bench says so instead of dividing by a guess.
"""

import ctypes
import hashlib
import json
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

SOURCE = Path(__file__).with_name("int8_peak.c")
# kernel: (cpuinfo flags it needs, multiply-accumulates per step, accumulators: int8_peak.c's)
KERNELS = {"vnni512": (("avx512f", "avx512_vnni"), 64, 12), "vnni256": (("avx2", "avx_vnni"), 32, 12),
           "avx2": (("avx2",), 32, 10)}
ITERATIONS = 2_000_000
PASSES = 5


@dataclass(frozen=True)
class Int8Peak:
    ops_per_s: float      # int8 ops (2 per multiply-accumulate) per second, all threads
    kernel: str           # KERNELS key
    threads: int
    cpu: str

    def to_dict(self) -> dict:
        return asdict(self)


def _cpu() -> tuple[str, set[str]]:
    model, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model == "unknown":
                model = value.strip()
            elif key.strip() == "flags":
                flags.update(value.split())
    except OSError:
        pass
    return model, flags


def best_kernel(flags: set[str]) -> str | None:
    return next((k for k, (needs, _, _) in KERNELS.items() if set(needs) <= flags), None)


def _library(cache: Path) -> ctypes.CDLL:
    """int8_peak.c compiled once per source into `cache` (raises OSError without a C compiler)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise OSError("no C compiler (cc / gcc) on PATH")
    lib = cache / f"int8_peak-{hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]}.so"
    if not lib.exists():
        tmp = lib.with_suffix(".tmp.so")
        done = subprocess.run([cc, "-O2", "-shared", "-fPIC", str(SOURCE), "-o", str(tmp)], capture_output=True,
                              text=True)
        if done.returncode:
            error = next((line for line in done.stderr.splitlines() if "error" in line), done.stderr.strip()[:200])
            raise OSError(f"{cc} could not compile {SOURCE.name}: {error}")
        tmp.replace(lib)
    return ctypes.CDLL(str(lib))


def measure(kernel: str, threads: int, iterations: int = ITERATIONS, passes: int = PASSES,
            cache: Path | None = None) -> float:
    """Best int8 ops per second over `passes` passes of `threads` concurrent loops of `kernel`."""
    from exporter.paths import cache_dir

    fn = getattr(_library(Path(cache or cache_dir("bench"))), f"peak_{kernel}")
    fn.argtypes, fn.restype = [ctypes.c_int64], ctypes.c_int64
    fn(1000)  # warm up: page in the code, wake the cores
    best = 0.0
    for _ in range(passes):
        workers = [threading.Thread(target=fn, args=(iterations,)) for _ in range(threads)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        seconds = time.perf_counter() - start
        _, macs, accumulators = KERNELS[kernel]
        best = max(best, 2 * macs * accumulators * iterations * threads / seconds)
    return best


def host_int8_peak(threads: int) -> tuple[Int8Peak | None, str]:
    """(the peak, a note): measured once per (CPU, flags, threads), then read from the cache."""
    from exporter.paths import cache_dir

    cpu, flags = _cpu()
    kernel = best_kernel(flags)
    if kernel is None:
        return None, "int8 peak not measured: no loop in int8_peak.c fits this CPU (x86 AVX2 or newer)"
    path = Path(cache_dir("bench")) / "int8-peak.json"
    key = f"{cpu}|{kernel}|{threads}"
    known = json.loads(path.read_text()) if path.exists() else {}
    if key not in known:
        try:
            ops = measure(kernel, threads)
        except OSError as err:
            return None, f"int8 peak not measured: {err}"
        from exporter.atomic import write_json

        known[key] = Int8Peak(round(ops), kernel, threads, cpu).to_dict()
        write_json(path, known)
    peak = Int8Peak(**known[key])
    return peak, (f"int8 peak {peak.ops_per_s / 1e9:.0f} GOP/s measured on this machine ({peak.kernel} loop, "
                  f"{threads} threads, exporter/devices/int8_peak.py)")
