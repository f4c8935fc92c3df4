"""Where one inference of a .pte spends its time: an ETDump of --runs calls, summed per run by
delegate (each delegate call) and by portable operator.

    .venv/bin/python scripts/profile_pte.py FILE.pte [--seq-len 64] [--runs 10] [--threads 2] [--each]

The input is one sentence of --seq-len real tokens (the bench's fixed-length input: random ids,
mask all ones). A cell is the sum over the events of one run of each event's median over the
runs. Loads the 2-bit delegate first when the file needs it.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402


def record(pte: Path, seq_len: int, runs: int, threads: int, etdump: Path) -> None:
    from executorch.extension.pybindings import _C

    from backends.executorch.backend import TERNARY_BACKEND_ID

    if TERNARY_BACKEND_ID in pte.read_bytes():
        from backends.executorch.ternary.build import load_backend

        load_backend()
    _C._unsafe_reset_threadpool(threads)
    program = _C._load_program(str(pte), enable_etdump=True)
    method = program.load_method("forward")
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 20000, (1, seq_len), dtype=torch.int32, generator=generator)
    mask = torch.ones((1, seq_len), dtype=torch.int32)
    for _ in range(runs):
        method([ids, mask])
    program.write_etdump_result_to_file(str(etdump))


def per_run(pte: Path, etdump: Path, each: bool = False) -> dict[str, tuple[int, float]]:
    """name -> (events per run, ms per run); delegate calls are named by their backend. `each`:
    one row per event of a run, in program order ("003 call XnnpackBackend")."""
    from executorch.devtools import Inspector
    from executorch.exir._serialize._program import deserialize_pte_binary

    plan = deserialize_pte_binary(pte.read_bytes()).program.execution_plan[0]
    instructions = [i for chain in plan.chains for i in chain.instructions]
    totals: dict[str, list] = collections.defaultdict(lambda: [0, 0.0])
    for block in Inspector(etdump_path=str(etdump)).event_blocks:
        if block.name != "Execute":
            continue
        for event in block.events:
            if event.perf_data is None or event.is_delegated_op:  # ops inside a delegate: no timings here
                continue
            name = event.name
            if name == "DELEGATE_CALL":
                call = instructions[event._instruction_id].instr_args
                name = f"call {plan.delegates[call.delegate_index].id}"
            if each:
                name = f"{len(totals):03d} {name}"
            totals[name][0] += 1
            totals[name][1] += statistics.median(event.perf_data.raw)
    return {name: (n, ms) for name, (n, ms) in totals.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pte", type=Path)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--each", action="store_true", help="one row per event, in program order")
    args = parser.parse_args()
    if not args.pte.is_file():
        parser.error(f"{args.pte} is not a file")
    with tempfile.TemporaryDirectory() as tmp:
        etdump = Path(tmp) / "run.etdump"
        record(args.pte, args.seq_len, args.runs, args.threads, etdump)
        rows = per_run(args.pte, etdump, args.each)
    print(f"{args.pte.name}: {args.seq_len} tokens, {args.threads} threads, median of {args.runs} runs")
    order = sorted(rows.items()) if args.each else sorted(rows.items(), key=lambda kv: -kv[1][1])
    for name, (n, ms) in order:
        print(f"  {name.removeprefix('native_call_'):40s} x{n:<4d} {ms:8.3f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
