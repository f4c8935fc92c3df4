"""Lower trained mixed-precision models (`dynaedge train --recipe mixed --size-mb S`) to stock-runtime
.pte files and verify each on every dev sentence, until `export` takes mixed models itself (#22).

    python scripts/export_mixed.py --size-mb 10 14 --out /tmp/mixed    [--recipe mixed] [--threads 2]

Per size: the fixed mixed model of the run's "mixed" phase -> freeze_mixed -> ExecuTorch (XNNPACK int8 /
4-bit parts, dynamic int8 activations) -> w1-d1-mixed-<S>mb.pte, run in the ExecuTorch runtime on every
dev sentence at its own length and compared with the frozen PyTorch model (SQNR, max diff, label
agreement, accuracy; gate: 30 dB and 0.2 points, the stock-runtime ternary one's accuracy bound), and
the file's bytes against the search's target. Prints one JSON document (also written to --out/mixed.json).
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GATE = {"min_sqnr_db": 30.0, "max_accuracy_drop": 0.002}


def export_one(size_mb: float, recipe: str, inputs, out: Path, threads: int) -> dict:
    import numpy as np
    import torch

    from backends.base import LowerSpec
    from backends.registry import get_backend
    from exporter.compress.freeze_mixed import freeze_mixed, stored_bytes
    from exporter.compress.mixed_size import model_bytes
    from exporter.compress.supernet import load_phase, supernet_run_dir
    from exporter.evaluate import accuracy, torch_logits
    from exporter.verify import Thresholds, compare, run_runner

    run = supernet_run_dir(inputs, recipe, size_mb=size_mb)
    model, _ = load_phase(run / "mixed")
    frozen = freeze_mixed(model)
    dev, test = inputs.splits.dev, inputs.splits.test
    with torch.no_grad():
        reference = torch_logits(frozen, dev.ids, dev.mask)
        test_acc = accuracy(torch_logits(frozen, test.ids, test.mask), test.labels)
    train = inputs.splits.train
    spec = LowerSpec("mixed", inputs.seq_len, train.ids[:1], train.mask[:1])
    backend = get_backend("executorch")
    lowered = backend.lower(frozen, spec)
    path = out / f"w1-d1-mixed-{size_mb:g}mb.pte"
    path.write_bytes(lowered.data)
    got = run_runner(backend.load(path, threads), dev.ids, dev.mask, desc=f"verify {path.name}")
    parity = compare(np.asarray(reference), got, dev.labels)
    failures = Thresholds(**GATE).failures(parity)
    return {"size_target_mb": size_mb, "file": str(path), "bytes": len(lowered.data),
            "bit_map_bytes": round(float(model_bytes(model))), "frozen_bytes": stored_bytes(frozen),
            "size_error": round(len(lowered.data) / (size_mb * 1e6) - 1, 4),
            "pytorch_test_accuracy": test_acc, "parity": parity.to_dict(), "gate": GATE, "passed": not failures,
            "failures": failures, "delegates": lowered.delegates, "fallbacks": list(lowered.fallbacks),
            "quantization": lowered.quantization}


def main() -> int:
    from exporter.compress.supernet_recipe import load_supernet_recipe
    from exporter.inputs import prepare
    from exporter.quiet import silence_libraries

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, nargs="+", required=True)
    parser.add_argument("--recipe", default="mixed")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    silence_libraries()
    args.out.mkdir(parents=True, exist_ok=True)
    inputs = prepare(None, None, load_supernet_recipe(args.recipe).seq_len)
    rows = [export_one(s, args.recipe, inputs, args.out, args.threads) for s in args.size_mb]
    result = {"recipe": args.recipe, "rows": rows}
    (args.out / "mixed.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
