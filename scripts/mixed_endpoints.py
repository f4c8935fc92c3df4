"""The two stock-runtime files a mixed-precision model is judged against (#22's line in (bytes, test
accuracy)): the full-size ternary-int4 file of the quick supernet and the teacher's int8-dynamic file
(the teacher every mixed run distills from), with their bytes, their dev accuracy in the runtime and
the test accuracy of what they compute in PyTorch (compress/ptq.py). --backend: executorch (.pte,
default) or tflite (.tflite).

    python scripts/mixed_endpoints.py --out /tmp/mixed         # prints one JSON document, also --out/mixed-<backend>.json

The mixed files themselves are written and verified by `dynaedge export --precision mixed --mixed-mb
9.5,13,17 --backend executorch,tflite --target host` (or chosen per device with --budget ... --mixed-mb).
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def endpoints(inputs, out: Path, threads: int, backend_name: str = "executorch") -> list[dict]:
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
    ternary = find_variant(backend_name, "ternary-int4")
    frozen = supernet.get(Job(FULL, ternary)).model
    backend, train, dev, test = get_backend(backend_name), inputs.splits.train, inputs.splits.dev, inputs.splits.test
    rows = []
    for name, variant, model, reference in (
            ("ternary-int4 (quick supernet, full size)", ternary, frozen, dynamic_reference(frozen)),
            ("int8-dynamic (teacher)", find_variant(backend_name, "int8-dynamic"), teacher, simulate_int8(teacher))):
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
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--backend", choices=("executorch", "tflite"), default="executorch")
    args = parser.parse_args()
    silence_libraries()
    args.out.mkdir(parents=True, exist_ok=True)
    inputs = prepare(None, None, load_supernet_recipe("quick").seq_len)
    result = {"endpoints": endpoints(inputs, args.out, args.threads, args.backend)}
    (args.out / f"mixed-{args.backend}.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
