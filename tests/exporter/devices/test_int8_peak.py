"""The measured int8 peak: the loops really run one dot-product instruction (sequence) per
accumulator per iteration, the figure is positive and cached per host, and a machine that cannot
build or run them gets a note instead of a number."""

import shutil
import subprocess

import pytest

from exporter.devices import int8_peak
from exporter.devices.int8_peak import KERNELS, best_kernel, host_int8_peak, measure


def _loop_body(lib, function: str) -> list[str]:
    """The instructions between the loop label and its backward jump in `function`'s disassembly."""
    text = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(lib)], capture_output=True, text=True).stdout
    body = text[text.index(f"<{function}>:"):].split("\n\n")[0].splitlines()
    jump = next(i for i, line in enumerate(body) if "\tjne" in line)
    target = body[jump].split()[-2]
    start = next(i for i, line in enumerate(body) if line.strip().startswith(f"{target}:"))
    return body[start:jump + 1]


@pytest.mark.skipif(shutil.which("objdump") is None, reason="objdump (binutils) not installed")
def test_each_loop_runs_one_step_per_accumulator_and_touches_no_memory(tmp_path):
    lib = int8_peak._library(tmp_path)._name
    for kernel, (_, _, accumulators) in KERNELS.items():
        body = _loop_body(lib, f"peak_{kernel}")
        steps = sum(("vpmaddubsw" in line) or ("vpdpbusd" in line) for line in body)
        memory = [line for line in body if "(%" in line]
        print(f"{kernel}: {len(body)} instructions per iteration, {steps} dot-product steps")
        assert steps == accumulators and not memory, body


def test_measure_on_this_cpu_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DYNAEDGE_CACHE", str(tmp_path))
    kernel = best_kernel(int8_peak._cpu()[1])
    if kernel is None:
        peak, note = host_int8_peak(1)
        assert peak is None and "not measured" in note
        return
    ops = measure(kernel, 1, iterations=20_000, passes=2, cache=tmp_path)
    print(f"{kernel}: {ops / 1e9:.1f} GOP/s on one thread (20,000 iterations, a busy machine reads lower)")
    assert ops > 1e9
    monkeypatch.setattr(int8_peak, "ITERATIONS", 20_000)
    peak, note = host_int8_peak(1)
    assert peak.kernel == kernel and peak.threads == 1 and "measured on this machine" in note
    monkeypatch.setattr(int8_peak, "measure", lambda *a, **k: pytest.fail("cached: must not measure again"))
    assert host_int8_peak(1)[0] == peak


def test_kernel_choice_and_the_no_compiler_note(tmp_path, monkeypatch):
    assert best_kernel({"avx2", "avx512f", "avx512_vnni"}) == "vnni512"
    assert best_kernel({"avx2", "avx_vnni"}) == "vnni256"
    assert best_kernel({"avx2"}) == "avx2" and best_kernel({"asimd", "asimddp"}) is None
    monkeypatch.setenv("DYNAEDGE_CACHE", str(tmp_path))
    monkeypatch.setattr(int8_peak, "_cpu", lambda: ("Test CPU", {"avx2"}))
    monkeypatch.setattr(int8_peak.shutil, "which", lambda name: None)
    peak, note = host_int8_peak(2)
    assert peak is None and note == "int8 peak not measured: no C compiler (cc / gcc) on PATH"
