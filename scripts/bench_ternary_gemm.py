"""GEMM microbenchmark for the MiniLM shapes: our ternary kernel against
XNNPACK int8 with static activations (what the static int8 files run),
XNNPACK int8 with dynamically quantized activations (both per-channel int8
weights) and XNNPACK fp32, in the same run.

    .venv/bin/python scripts/bench_ternary_gemm.py [--threads 1] [--repeats 200]

Columns (microseconds per Linear call, lower is better; the fastest of
--repeats calls, because on a shared machine the median mostly measures
other jobs' time slices: medians of exactly 8 or 12 ms were seen here):
  tern kernel   the C kernel alone (C API, no ExecuTorch overhead)
  tern .pte     one-Linear .pte through executorch.runtime (DynaedgeTernaryBackend)
  xnn s8 / xnn d8 / xnn fp32    the same Linear lowered to XNNPACK: static int8
                activations (calibrated on the input), dynamic int8, fp32
Each .pte column includes the same Python -> ExecuTorch call overhead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from backends.executorch.ternary.blob import TernaryLinearSpec, pack_blob, twn_ternarize  # noqa: E402
from backends.executorch.ternary.kernel_api import KernelPath, run_linear  # noqa: E402

M_VALUES = (16, 64, 128)
KN_SHAPES = ((384, 384), (384, 1536), (1536, 384))  # (K, N): attention proj, FFN up, FFN down


def ternary_linear(k: int, n: int, seed: int = 0) -> torch.nn.Linear:
    torch.manual_seed(seed)
    layer = torch.nn.Linear(k, n).eval()
    with torch.no_grad():
        values, scales = twn_ternarize(layer.weight.numpy())
        layer.weight.copy_(torch.from_numpy(values.astype(np.float32) * scales[:, None]))
    return layer


def lower(layer: torch.nn.Linear, x: torch.Tensor, kind: str) -> bytes:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    from backends.executorch.ternary.partitioner import TernaryPartitioner

    module = torch.nn.Sequential(layer).eval()
    if kind in ("xnn_static", "xnn_dynamic"):
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer, get_symmetric_quantization_config)
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        quantizer = XNNPACKQuantizer().set_global(
            get_symmetric_quantization_config(is_per_channel=True, is_dynamic=kind == "xnn_dynamic"))
        prepared = prepare_pt2e(torch.export.export(module, (x,)).module(), quantizer)
        prepared(x)
        module = convert_pt2e(prepared)
    partitioners = [TernaryPartitioner(), XnnpackPartitioner()] if kind == "ternary" else [XnnpackPartitioner()]
    edge = to_edge_transform_and_lower(torch.export.export(module, (x,)), partitioner=partitioners)
    return edge.to_executorch().buffer


def time_pte(pte: bytes, x: torch.Tensor, repeats: int) -> float:
    from executorch.runtime import Runtime

    method = Runtime.get().load_program(pte).load_method("forward")
    for _ in range(10):
        method.execute([x])
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        method.execute([x])
        samples.append(time.perf_counter() - start)
    return min(samples) * 1e6


def time_kernel(layer: torch.nn.Linear, x: torch.Tensor, repeats: int) -> float:
    w = layer.weight.detach().numpy()
    values, scales = np.sign(w).astype(np.int8), np.abs(w).max(axis=1).astype(np.float32)
    blob = pack_blob(TernaryLinearSpec(values, scales, layer.bias.detach().numpy()))
    samples = [run_linear(blob, x.numpy(), KernelPath.AUTO, repeats=5)[1] for _ in range(repeats // 5)]
    return min(samples) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="threads for XNNPACK and for our kernel")
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    # Read by each copy of the kernel (kernel-only and backend library) at first use.
    os.environ["DYNAEDGE_TERNARY_THREADS"] = str(args.threads)

    from executorch.extension.pybindings import portable_lib

    from backends.executorch.ternary.build import load_backend

    load_backend()
    portable_lib._unsafe_reset_threadpool(args.threads)
    print(f"threads: XNNPACK {portable_lib._threadpool_get_thread_count()}, ternary {args.threads}\n")
    header = f"{'M':>4} {'K':>5} {'N':>5} | {'tern kernel':>11} {'tern .pte':>10} {'xnn s8':>8} {'xnn d8':>8} " \
             f"{'xnn fp32':>8} | {'tern/s8':>7} {'tern/d8':>7} {'GOP/s tern':>10}"
    print(header)
    print("-" * len(header))
    for k, n in KN_SHAPES:
        for m in M_VALUES:
            x = torch.randn(m, k)
            layer = ternary_linear(k, n)
            kernel_us = time_kernel(layer, x, args.repeats)
            tern_us = time_pte(lower(layer, x, "ternary"), x, args.repeats)
            static_us = time_pte(lower(layer, x, "xnn_static"), x, args.repeats)
            dynamic_us = time_pte(lower(layer, x, "xnn_dynamic"), x, args.repeats)
            fp32_us = time_pte(lower(layer, x, "xnn_fp32"), x, args.repeats)
            gops = 2 * m * k * n / (kernel_us * 1e3)
            print(f"{m:>4} {k:>5} {n:>5} | {kernel_us:>11.1f} {tern_us:>10.1f} {static_us:>8.1f} {dynamic_us:>8.1f} "
                  f"{fp32_us:>8.1f} | {tern_us / static_us:>7.2f} {tern_us / dynamic_us:>7.2f} {gops:>10.1f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
