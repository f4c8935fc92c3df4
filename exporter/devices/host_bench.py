"""Micro-benchmarks of the calibrating machine: the host side of every device ratio.

Peak-style figures (large GEMMs, a large copy), so they compare like for like with the
spec-sheet peaks in the Android profiles: the latency model assumes a runtime reaches the
same share of peak on the host and on the device.
"""

import time

import numpy as np

GEMM_N = 2048


def _best_seconds(fn, repeats: int) -> float:
    # Best of several: on a shared machine the fastest run is the least disturbed one.
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure_host(threads: int, repeats: int = 10) -> dict[str, tuple[float, str]]:
    """{number: (value, source)} for threads, fp32_gflops, int8_gops, memory_gbs."""
    import torch

    torch.set_num_threads(threads)
    n = GEMM_N
    a, b = torch.randn(n, n), torch.randn(n, n)
    fp32 = 2 * n ** 3 / _best_seconds(lambda: torch.mm(a, b), repeats) / 1e9
    ai = torch.randint(-128, 127, (n, n), dtype=torch.int8)
    bi = torch.randint(-128, 127, (n, n), dtype=torch.int8)
    int8 = 2 * n ** 3 / _best_seconds(lambda: torch._int_mm(ai, bi), repeats) / 1e9
    src = np.ones(64 * 2 ** 20 // 8)   # 64 MB, well past any cache
    dst = np.empty_like(src)
    copy_s = _best_seconds(lambda: np.copyto(dst, src), repeats)
    memory = 2 * src.nbytes / copy_s / 1e9  # read + write
    how = f"best of {repeats}, {threads} threads"
    return {"threads": (float(threads), f"measured: threads the calibration ran with"),
            "fp32_gflops": (round(fp32, 1), f"measured: torch.mm fp32 {n}x{n}x{n}, {how}"),
            "int8_gops": (round(int8, 1), f"measured: torch._int_mm int8 {n}x{n}x{n}, {how}"),
            "memory_gbs": (round(memory, 1), f"measured: numpy copy of 64 MB (read+write), {how}")}
