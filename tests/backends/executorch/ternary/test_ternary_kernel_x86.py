"""Host kernels against the numpy reference: exact int32 accumulators and
bit-identical fp32 outputs on every path this CPU supports, plus the C++
unit-test binary."""

import platform
import subprocess

import numpy as np
import pytest

from backends.executorch.ternary import blob as B
from backends.executorch.ternary.build import RuntimeBuild, build_runtime
from backends.executorch.ternary.kernel_api import KernelPath, path_available, run_linear
from backends.executorch.ternary.reference import reference_acc, reference_linear

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 host kernels")

# (64, 1536, 384) is large enough to run on the thread pool.
SHAPES = [(1, 1, 1), (3, 5, 63), (4, 64, 64), (7, 33, 130), (16, 384, 384), (5, 1536, 384), (2, 384, 1536),
          (64, 1536, 384)]


def spec_for(n, k, static, seed):
    rng = np.random.default_rng(seed)
    values, scales = B.twn_ternarize(rng.normal(size=(n, k)))
    act = B.ActivationQuant(B.ActMode.STATIC_PER_TENSOR, 0.02, -128, 127) if static else B.ActivationQuant()
    return B.TernaryLinearSpec(values, scales, rng.normal(size=n).astype(np.float32), act)


def _cpu_flags() -> set[str]:
    """The kernel's CPU features as /proc/cpuinfo names them (read apart from the kernel's own check)."""
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _best_path(flags: set[str]) -> str:
    if {"avx512f", "avx512bw", "avx512_vnni"} <= flags:
        return "avx512vnni"
    return "avx2" if "avx2" in flags else "scalar"


def test_kernel_sees_every_simd_path_this_cpu_has():
    # A build that silently fell back to scalar would make the speed numbers meaningless. The
    # design's machine is a Zen 4 (AVX-512 VNNI); hosts without it (a Zen 3 ran this suite) must
    # still get AVX2.
    flags = _cpu_flags()
    assert path_available(KernelPath.AVX2) == ("avx2" in flags)
    assert path_available(KernelPath.AVX512_VNNI) == (_best_path(flags) == "avx512vnni")


@pytest.mark.parametrize("path", [KernelPath.SCALAR, KernelPath.AVX2, KernelPath.AVX512_VNNI])
@pytest.mark.parametrize("static", [False, True])
@pytest.mark.parametrize("m,n,k", SHAPES)
def test_kernel_matches_reference_exactly(path, static, m, n, k):
    if not path_available(path):
        pytest.skip(f"{path.name} not supported by this CPU")
    spec = spec_for(n, k, static, seed=m * 1000 + n + k)
    x = np.random.default_rng(k).normal(scale=3.0, size=(m, k)).astype(np.float32)
    x[0, 0] = 1e3  # saturates in static mode, dominates absmax in dynamic mode
    blob = B.pack_blob(spec)
    acc, _ = run_linear(blob, x, path, accumulators=True)
    want = reference_acc(spec, x)
    mismatches = int((acc != want).sum())
    assert mismatches == 0, f"{path.name}: {mismatches} of {acc.size} int32 accumulators differ"
    y, _ = run_linear(blob, x, path)
    y_ref = reference_linear(spec, x)
    assert np.array_equal(y, y_ref), f"{path.name}: fp32 max abs diff {np.abs(y - y_ref).max()}"


def test_cpp_unit_tests_pass_on_host():
    build = build_runtime(RuntimeBuild(with_executorch=False))
    proc = subprocess.run([str(build / "test_ternary_kernel")], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ALL PASS" in proc.stdout and f"best={_best_path(_cpu_flags())}," in proc.stdout, proc.stdout
