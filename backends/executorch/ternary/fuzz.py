"""Run the blob-parser fuzzers (ASan + UBSan builds) and report case counts.

Two engines, same target (runtime/fuzz/fuzz_target.h):
  driver     random / truncated / bit-flipped / field-overwritten blobs (g++ or clang++)
  libfuzzer  coverage-guided libFuzzer, seeded from the driver (clang++ only)
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .build import RuntimeBuild, build_runtime


@dataclass(frozen=True)
class FuzzResult:
    engine: str
    cases: int
    valid: int  # cases that parsed as a valid blob and ran every kernel path
    seconds_limit: int | None = None


def run_driver(cases: int, seed: int = 1, cxx: str | None = None, corpus: Path | None = None) -> FuzzResult:
    build = build_runtime(RuntimeBuild(with_executorch=False, fuzz=True, cxx=cxx))
    cmd = [str(build / "fuzz_ternary_driver"), str(cases), str(seed)] + ([str(corpus)] if corpus else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"fuzz driver crashed (seed {seed}):\n{proc.stdout}\n{proc.stderr[-4000:]}")
    match = re.search(r"cases=(\d+)", proc.stdout)
    valid = re.search(r" 0=(\d+)", proc.stdout)
    if match is None or int(match.group(1)) != cases:
        raise RuntimeError(f"fuzz driver did not report {cases} cases: {proc.stdout!r}")
    return FuzzResult("driver", cases, int(valid.group(1)) if valid else 0)


def run_libfuzzer(runs: int, seed: int = 1) -> FuzzResult:
    build = build_runtime(RuntimeBuild(with_executorch=False, fuzz=True, cxx="clang++"))
    with tempfile.TemporaryDirectory() as corpus:
        run_driver(64, seed, cxx="clang++", corpus=Path(corpus))  # seed corpus of valid-ish blobs
        cmd = [str(build / "fuzz_ternary_libfuzzer"), f"-runs={runs}", f"-seed={seed}", "-max_len=8192", corpus]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"libFuzzer found a crash (seed {seed}):\n{proc.stderr[-6000:]}")
    done = re.findall(r"Done (\d+) runs", proc.stderr)
    if not done:
        raise RuntimeError(f"libFuzzer did not report its run count:\n{proc.stderr[-2000:]}")
    return FuzzResult("libfuzzer", int(done[-1]), 0)
