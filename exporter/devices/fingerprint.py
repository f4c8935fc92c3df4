"""Which machine a latency fit was measured on, and whether this one is like it.

A fit records the calibrating host's fingerprint: CPU model, the SIMD flags that decide which
kernels run (AVX2, AVX-512, VNNI, AMX; NEON dot product and i8mm on ARM), cores, and a short
reference timing (one MiniLM-shaped fp32 and int8 GEMM). Machines of "the same kind" differ
day to day (a re-timing on 2026-12-05 ran ExecuTorch int8 28-39 % faster than the packaged fit
predicted), so a `host` prediction on a machine whose fingerprint or reference timing differs
by more than 10 % says so, and names `profile calibrate --quick` as the fix.
"""

import os
import platform
import time
from dataclasses import asdict, dataclass

FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_int8", "asimddp", "i8mm")
TOLERANCE = 0.10


@dataclass(frozen=True)
class Fingerprint:
    cpu: str
    flags: tuple[str, ...]
    cores: int
    reference_ms: float    # median of the reference timing (reference_timing)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Fingerprint":
        return cls(d["cpu"], tuple(d["flags"]), int(d["cores"]), float(d["reference_ms"]))

    def differences(self, other: "Fingerprint") -> list[str]:
        """What makes `other` (this machine) unlike `self` (the fit's), in words; [] = alike."""
        out = []
        if other.cpu != self.cpu:
            out.append(f"CPU {other.cpu!r}, fitted on {self.cpu!r}")
        if other.flags != self.flags:
            out.append(f"SIMD flags {','.join(other.flags) or 'none'}, fitted with {','.join(self.flags) or 'none'}")
        ratio = other.reference_ms / self.reference_ms
        if abs(ratio - 1) > TOLERANCE:
            out.append(f"reference timing {other.reference_ms:.2f} ms vs {self.reference_ms:.2f} ms "
                       f"({100 * (ratio - 1):+.0f} %)")
        return out


def _cpuinfo() -> tuple[str, tuple[str, ...]]:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Hardware", "CPU part") and model in ("", platform.machine()):
                    model = value.strip()
                elif key in ("flags", "Features"):
                    flags.update(value.split())
    except OSError:
        pass
    return model, tuple(f for f in FLAGS if f in flags)


def reference_timing(threads: int, repeats: int = 30) -> float:
    """Median ms of one fp32 matmul of an FFN-up shape at seq 128 (128x384 @ 384x1536) plus the
    int8 one: about a millisecond, long enough to see a slower machine, short enough for a query."""
    import torch

    torch.set_num_threads(threads)
    a, w = torch.randn(128, 384), torch.randn(384, 1536)
    ai, wi = torch.randint(-128, 127, (128, 384), dtype=torch.int8), torch.randint(-128, 127, (384, 1536),
                                                                                   dtype=torch.int8)
    times = []
    for i in range(repeats + 5):
        t0 = time.perf_counter()
        torch.mm(a, w)
        torch._int_mm(ai, wi)
        if i >= 5:
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return round(times[len(times) // 2], 4)


def this_machine(threads: int = 2) -> Fingerprint:
    cpu, flags = _cpuinfo()
    return Fingerprint(cpu, flags, os.cpu_count() or 1, reference_timing(threads))
