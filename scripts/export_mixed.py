"""Lower trained mixed-precision models (`dynaedge train --recipe mixed --size-mb S`) to stock-runtime
.pte files and verify each on every dev sentence, until `export` takes mixed models itself (#22).

    python scripts/export_mixed.py --size-mb 10 14 --out /tmp/mixed    [--recipe mixed] [--threads 2]
    python scripts/export_mixed.py --run ~/.cache/dynaedge/runs/supernet-mixed-<hash> --out /tmp/mixed
    python scripts/export_mixed.py --endpoints --out /tmp/mixed      # the line mixed models are judged by

Per size: the fixed mixed model of the run's "mixed" phase -> freeze_mixed -> ExecuTorch (XNNPACK int8 /
4-bit parts, dynamic int8 activations) -> w1-d1-mixed-<S>mb.pte, run in the ExecuTorch runtime on every
dev sentence at its own length and compared with the frozen PyTorch model (SQNR, max diff, label
agreement, accuracy; gate: 30 dB and 0.2 points, the stock-runtime ternary one's accuracy bound), the
file's bytes against the search's target, and its operators and delegates against what the demo app's
libexecutorch.so registers (the `android build` check; the runtime is fetched with npm once).
--endpoints: the two stock-runtime files a mixed model sits between, the full-size ternary-int4 .pte of
the quick supernet and the teacher's int8-dynamic .pte (the teacher every mixed run distills from),
with their bytes, their dev accuracy in the runtime and the test accuracy of what they compute in
PyTorch (compress/ptq.py). Prints one JSON document (also written to --out/mixed.json).
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GATE = {"min_sqnr_db": 30.0, "max_accuracy_drop": 0.002}


def export_one(run: Path, inputs, out: Path, threads: int) -> dict:
    import numpy as np
    import torch

    from backends.base import LowerSpec
    from backends.registry import get_backend
    from exporter.compress.freeze_mixed import freeze_mixed, stored_bytes
    from exporter.compress.mixed_size import model_bytes
    from exporter.compress.supernet import load_phase
    from exporter.evaluate import accuracy, torch_logits
    from exporter.android.deployable import check_programs
    from exporter.android.registry import runtime_registry
    from exporter.android.runtime import ensure_runtime
    from exporter.verify import Thresholds, compare, run_runner

    model, _ = load_phase(run / "mixed")
    size_mb = model.quant_spec.size_mb
    frozen = freeze_mixed(model)
    dev, test = inputs.splits.dev, inputs.splits.test
    with torch.no_grad():
        reference = torch_logits(frozen, dev.ids, dev.mask)
        test_acc = accuracy(torch_logits(frozen, test.ids, test.mask), test.labels)
    train = inputs.splits.train
    spec = LowerSpec("mixed", inputs.seq_len, train.ids[:1], train.mask[:1])
    backend = get_backend("executorch")
    lowered = backend.lower(frozen, spec)
    path = out / f"w1-d1-mixed-{model.quant_spec.pricing}-{size_mb:g}mb.pte"
    path.write_bytes(lowered.data)
    got = run_runner(backend.load(path, threads), dev.ids, dev.mask, desc=f"verify {path.name}")
    parity = compare(np.asarray(reference), got, dev.labels)
    failures = Thresholds(**GATE).failures(parity)
    deploy = check_programs((path,), runtime_registry(ensure_runtime().native_libs[-1])).files[0]
    return {"run": str(run), "pricing": model.quant_spec.pricing, "size_target_mb": size_mb, "file": str(path), "bytes": len(lowered.data),
            "bit_map_bytes": round(float(model_bytes(model))), "frozen_bytes": stored_bytes(frozen),
            "size_error": round(len(lowered.data) / (size_mb * 1e6) - 1, 4),
            "pytorch_test_accuracy": test_acc, "parity": parity.to_dict(), "gate": GATE, "passed": not failures,
            "failures": failures, "android_ops_checked": deploy.ops_checked, "delegates": lowered.delegates, "fallbacks": list(lowered.fallbacks),
            "quantization": lowered.quantization}


def endpoints(inputs, out: Path, threads: int) -> list[dict]:
    import numpy as np

    from backends.base import LowerSpec
    from backends.registry import find_variant, get_backend
    from exporter.compress.finetune import finetune_teacher
    from exporter.compress.ptq import dynamic_reference, simulate_int8
    from exporter.compress.recipe import load_recipe
    from exporter.compress.supernet import supernet_run_dir
    from exporter.compress.supernet_recipe import load_supernet_recipe
    from exporter.evaluate import accuracy, torch_logits
    from exporter.model.subnet import FULL
    from exporter.slices import Job, SupernetSlices
    from exporter.verify import run_runner

    teacher, _ = finetune_teacher(inputs.model, inputs.source, inputs.task, inputs.splits, load_recipe("finetune"))
    supernet = SupernetSlices(supernet_run_dir(inputs, "quick"), load_supernet_recipe("quick"))
    ternary = find_variant("executorch", "ternary-int4")
    frozen = supernet.get(Job(FULL, ternary)).model
    backend, train, dev, test = get_backend("executorch"), inputs.splits.train, inputs.splits.dev, inputs.splits.test
    rows = []
    for name, variant, model, reference in (
            ("ternary-int4 (quick supernet, full size)", ternary, frozen, dynamic_reference(frozen)),
            ("int8-dynamic (teacher)", find_variant("executorch", "int8-dynamic"), teacher, simulate_int8(teacher))):
        spec = LowerSpec(variant.precision, inputs.seq_len, train.ids[:16], train.mask[:16], variant.options)
        lowered = backend.lower(model, spec)
        path = out / variant.file_name("w1-d1")
        path.write_bytes(lowered.data)
        got = run_runner(backend.load(path, threads), dev.ids, dev.mask, desc=f"run {path.name}")
        rows.append({"file": str(path), "what": name, "bytes": len(lowered.data),
                     "dev_accuracy": accuracy(np.asarray(got), dev.labels),
                     "pytorch_test_accuracy": accuracy(torch_logits(reference, test.ids, test.mask), test.labels)})
    return rows


def main() -> int:
    from exporter.compress.supernet_recipe import load_supernet_recipe
    from exporter.inputs import prepare
    from exporter.quiet import silence_libraries

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=float, nargs="+", default=[], help="runs of --recipe at these targets")
    parser.add_argument("--run", type=Path, nargs="+", default=[], help="run directories (their phase 'mixed')")
    parser.add_argument("--recipe", default="mixed")
    parser.add_argument("--endpoints", action="store_true", help="also the ternary-int4 and int8-dynamic files")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    silence_libraries()
    args.out.mkdir(parents=True, exist_ok=True)
    from exporter.compress.supernet import supernet_run_dir

    inputs = prepare(None, None, load_supernet_recipe(args.recipe).seq_len)
    runs = [supernet_run_dir(inputs, args.recipe, size_mb=s) for s in args.size_mb] + args.run
    if not runs and not args.endpoints:
        parser.error("give --size-mb, --run or --endpoints")
    rows = [export_one(run, inputs, args.out, args.threads) for run in runs]
    result = {"recipe": args.recipe, "rows": rows}
    if args.endpoints:
        result["endpoints"] = endpoints(inputs, args.out, args.threads)
    (args.out / "mixed.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0 if all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
