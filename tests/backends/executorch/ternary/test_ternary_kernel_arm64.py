"""The arm64 paths (NEON, SDOT, i8mm), cross-compiled with g++-aarch64-linux-gnu and run under
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


PATHS = {"max": ["neon", "neon-dot", "i8mm"], "cortex-a76": ["neon", "neon-dot"], "cortex-a53": ["neon"]}


@pytest.mark.parametrize("cpu", list(PATHS))
def test_neon_kernel_under_qemu(cpu):
    _require_toolchain()
    # One baseline ARMv8.0 build; the kernel picks its path from the CPU's
    # features at run time: SMMLA where i8mm exists (qemu's "max" CPU), SDOT on
    # a Cortex-A76, widening multiplies on a Cortex-A53. Every path the CPU has
    # is compared exactly with the scalar one (and with int32 sums of the
    # unpacked weights) by the C++ test.
    build = build_runtime(RuntimeBuild(target="aarch64", with_executorch=False, arm_march="armv8-a"))
    binary = build / "test_ternary_kernel"
    proc = subprocess.run(["qemu-aarch64", "-cpu", cpu, "-L", SYSROOT, str(binary)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ALL PASS" in proc.stdout, proc.stdout
    line = next(x for x in proc.stdout.splitlines() if x.startswith("paths: best="))
    assert f"best={PATHS[cpu][-1]}," in line, line
    assert line.split("paths:")[-1].split() == ["scalar", *PATHS[cpu]], line
