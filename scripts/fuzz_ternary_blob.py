"""Long fuzz run of the ternary blob parser (the short one runs in pytest).

    .venv/bin/python scripts/fuzz_ternary_blob.py --cases 200000 --libfuzzer-runs 200000

Exits non-zero on the first sanitizer report; prints the case counts.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.executorch.ternary.fuzz import run_driver, run_libfuzzer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=200_000, help="mutation-driver cases (ASan/UBSan)")
    parser.add_argument("--libfuzzer-runs", type=int, default=200_000, help="libFuzzer runs; 0 to skip")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    start = time.time()
    driver = run_driver(args.cases, args.seed)
    print(f"driver:    {driver.cases:>9,} cases, {driver.valid:,} valid blobs run on every kernel path, "
          f"no sanitizer report ({time.time() - start:.0f} s)")
    if args.libfuzzer_runs > 0:
        if shutil.which("clang++") is None:
            print("libfuzzer: skipped, clang++ not installed (apt-get install -y clang libclang-rt-14-dev)")
            return 1
        start = time.time()
        fuzzed = run_libfuzzer(args.libfuzzer_runs, args.seed)
        print(f"libfuzzer: {fuzzed.cases:>9,} runs, no crash ({time.time() - start:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
