"""The NEON path, cross-compiled with g++-aarch64-linux-gnu and run under
qemu-aarch64: the C++ unit tests compare it exactly with the scalar path and
with int32 sums from the unpacked weights. A missing toolchain fails loudly
unless DYNAEDGE_ALLOW_NO_ARM64=1 (then it skips, visibly)."""

import os
import shutil
import subprocess

import pytest

from backends.executorch.ternary.build import RuntimeBuild, build_runtime

SYSROOT = "/usr/aarch64-linux-gnu"
INSTALL_HINT = "apt-get install -y g++-aarch64-linux-gnu qemu-user"


def _require_toolchain():
    missing = [tool for tool in ("aarch64-linux-gnu-g++", "qemu-aarch64") if shutil.which(tool) is None]
    if missing:
        message = f"arm64 kernel tests need {missing}; install with `{INSTALL_HINT}`"
        if os.environ.get("DYNAEDGE_ALLOW_NO_ARM64") == "1":
            pytest.skip(message + " (skipped: DYNAEDGE_ALLOW_NO_ARM64=1)")
        pytest.fail(message + " (or set DYNAEDGE_ALLOW_NO_ARM64=1 to skip)")


@pytest.mark.parametrize("cpu,march", [("max", "armv8.2-a+dotprod"), ("cortex-a53", "armv8-a")])
def test_neon_kernel_under_qemu(cpu, march):
    _require_toolchain()
    # Two builds: SDOT (most phones since ~2018) on a CPU that has it, and
    # plain ARMv8.0 widening multiplies on a Cortex-A53 that does not.
    build = build_runtime(RuntimeBuild(target="aarch64", with_executorch=False, arm_march=march))
    binary = build / "test_ternary_kernel"
    proc = subprocess.run(["qemu-aarch64", "-cpu", cpu, "-L", SYSROOT, str(binary)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "best=neon" in proc.stdout and "ALL PASS" in proc.stdout, proc.stdout
