"""Where two threads start to beat one for the ternary kernel: the measurement behind
kDefaultMinParallelMacs (backends/executorch/ternary/runtime/ternary_kernel.h).

    .venv/bin/python scripts/ternary_parallel_threshold.py [--rounds 5] [--repeats 60] [--calls 10]

For every Linear shape a DynaBERT slice of MiniLM has (K x N: attention projections at
widths 0.25..1, FFN up and down at those widths) and M = 1..128 rows, one Linear (activation
quantization + GEMM + epilogue, through the C API) is timed on the kernel's own pool at 1
and at 2 threads with the threshold off. A sample is the mean of --calls back-to-back calls inside
the C API: with 10, the pool's worker is still spinning from the call before, as between the
Linears of one inference; with 1, the Python work between samples (the C API parses and copies
the blob on every call) lets it fall asleep, so each call pays a wake-up. Rounds alternate the two
settings so that drift on a shared host hits both; each cell is the median over rounds of the
fastest of --repeats samples.
Prints the table (microseconds, 2-thread/1-thread ratio) and the smallest multiply-add count
from which two threads win in every measured cell.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from backends.executorch.ternary.blob import TernaryLinearSpec, pack_blob, twn_ternarize  # noqa: E402
from backends.executorch.ternary.kernel_api import (KernelPath, run_linear, set_min_parallel_macs,  # noqa: E402
                                                    set_threads)

HIDDEN, FFN = 384, 1536
WIDTHS = (0.25, 0.5, 0.75, 1.0)
M_VALUES = (1, 2, 4, 8, 16, 32, 64, 128)


def shapes() -> list[tuple[int, int]]:
    """(K, N) of every Linear in a width slice: Q/K/V/O are 384 x 384w (and 384w x 384), FFN
    384 x 1536w and 1536w x 384."""
    out = set()
    for w in WIDTHS:
        out |= {(HIDDEN, int(HIDDEN * w)), (int(HIDDEN * w), HIDDEN), (HIDDEN, int(FFN * w)), (int(FFN * w), HIDDEN)}
    return sorted(out)


def blob_for(k: int, n: int) -> bytes:
    rng = np.random.default_rng(k * 10000 + n)
    values, scales = twn_ternarize(rng.normal(size=(n, k)))
    return pack_blob(TernaryLinearSpec(values, scales, rng.normal(size=n).astype(np.float32)))


def macs(m: int, k: int, n: int) -> int:
    """What the kernel compares with the threshold: M x N_padded x K_padded."""
    return m * (-(-n // 16) * 16) * (-(-k // 64) * 64)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--calls", type=int, default=10, help="back-to-back calls per sample")
    args = parser.parse_args()
    set_min_parallel_macs(0)
    cells = [(m, k, n) for k, n in shapes() for m in M_VALUES]
    blobs = {(k, n): blob_for(k, n) for k, n in shapes()}
    inputs = {(m, k): np.random.default_rng(m + k).normal(size=(m, k)).astype(np.float32) for m, k, _ in cells}
    times: dict[tuple, list[float]] = {}
    for r in range(args.rounds):
        for threads in ((1, 2) if r % 2 == 0 else (2, 1)):
            set_threads(threads)
            for m, k, n in cells:
                blob, x = blobs[(k, n)], inputs[(m, k)]
                run_linear(blob, x, KernelPath.AUTO, repeats=3)  # wakes the pool, warms caches
                best = min(run_linear(blob, x, KernelPath.AUTO, repeats=args.calls)[1] for _ in range(args.repeats))
                times.setdefault((m, k, n, threads), []).append(best * 1e6)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    rows = []
    for m, k, n in cells:
        one = statistics.median(times[(m, k, n, 1)])
        two = statistics.median(times[(m, k, n, 2)])
        rows.append((macs(m, k, n), m, k, n, one, two, two / one))
    rows.sort()
    print(f"{'MACs':>10} {'M':>4} {'K':>5} {'N':>5} | {'1 thread us':>11} {'2 threads us':>12} | {'2t/1t':>6}")
    for mac, m, k, n, one, two, ratio in rows:
        print(f"{mac:>10} {m:>4} {k:>5} {n:>5} | {one:>11.1f} {two:>12.1f} | {ratio:>6.2f}")
    losing = [r[0] for r in rows if r[6] >= 0.95]  # two threads not at least 5 % faster
    threshold = next((r[0] for r in rows if r[0] > max(losing, default=0)), None)
    print(f"\ntwo threads at least 5 % faster in every cell from {threshold} multiply-adds "
          f"(largest cell where they are not: {max(losing, default=0)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
