"""A short fuzz run of the blob parser under ASan/UBSan (the long run is
scripts/fuzz_ternary_blob.py). A sanitizer report fails the test."""

import shutil

import pytest

from backends.executorch.ternary.fuzz import run_driver, run_libfuzzer


def test_fuzz_driver_short_run():
    result = run_driver(cases=20_000, seed=7)
    assert result.cases == 20_000
    # Every 10th case is an untouched valid blob; if none validate, the
    # mutator or the parser is broken and the run proves nothing.
    assert result.valid >= 2_000, f"only {result.valid} valid blobs reached the kernels"


@pytest.mark.skipif(shutil.which("clang++") is None, reason="libFuzzer needs clang++ (apt-get install clang)")
def test_libfuzzer_short_run():
    result = run_libfuzzer(runs=5_000, seed=7)
    assert result.cases >= 5_000
