"""How far a full-integer .tflite of the fine-tuned teacher gets: dev accuracy, SQNR, ops left in float.

Variants (`--variants`, comma list):
  pt2e-linear      what `dynaedge export` ships: PT2EQuantizer on the Linear layers, FFN outputs float
  pt2e-linear-ffn  the same with the FFN output projections static int8 too
  pt2e-all         PT2EQuantizer int8_scope=all (every op pattern it knows), FFN outputs float
  pt2e-all-ffn     int8_scope=all with the FFN outputs static int8 too
  aeq-a8           ai-edge-quantizer static_wi8_ai8 on the fp32 .tflite: every op int8
  aeq-a16          ai-edge-quantizer static_wi8_ai16 (int16 activations; slow reference kernels)
  full             what `--tflite-int8 full` ships: backends/tflite/full_integer.RULES
  mm-<mix>         the per-op study: ai-edge-quantizer with the rules of _mixes()[<mix>] (below)

    .venv/bin/python scripts/tflite_full_integer.py --variants pt2e-linear,full,mm-matmuls
"""

import argparse
import json
import time


PT2E = {
    "pt2e-linear": (),
    "pt2e-linear-ffn": (("int8_float_modules", ""),),
    "pt2e-all": (("int8_scope", "all"),),
    "pt2e-all-ffn": (("int8_scope", "all"), ("int8_float_modules", "")),
}
AEQ = ("aeq-a8", "aeq-a16")


def _mixes():
    """The per-op study: which op classes can take 8 / 16 bits (backends/tflite/full_integer.py)."""
    from backends.tflite.full_integer import EMBED_POOL, LAYER_NORM, MATMULS, RESIDUAL, SOFTMAX

    return {
        "matmuls": MATMULS,
        "matmuls-embed16": MATMULS + (EMBED_POOL,),
        "matmuls-softmax16": MATMULS + (SOFTMAX,),
        "matmuls-ln16": MATMULS + (LAYER_NORM,),
        "matmuls-res16": MATMULS + (RESIDUAL,),
        "matmuls-ln16-res16": MATMULS + (LAYER_NORM, RESIDUAL),
    }


def _aeq_recipe(variant: str):
    from ai_edge_quantizer import recipe

    return recipe.static_wi8_ai8() if variant == "aeq-a8" else recipe.static_wi8_ai16()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default="pt2e-linear,pt2e-linear-ffn,pt2e-all,pt2e-all-ffn,aeq-a8")
    parser.add_argument("--calibration", type=int, default=64, help="training sentences for aeq-* calibration")
    parser.add_argument("--out", default="/tmp/dynaedge-full-integer")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    known = (*PT2E, *AEQ, "full", *(f"mm-{m}" for m in _mixes()))
    for v in variants:
        if v not in known:
            parser.error(f"unknown variant {v!r}; choose from: {', '.join(known)}")

    import torch
    from pathlib import Path

    from backends.base import LowerSpec
    from backends.registry import get_backend
    from backends.tflite.full_integer import quantize_static
    from backends.tflite.full_integer import recipe as aeq_recipe
    from backends.tflite.inspect import float_ops, int16_ops
    from exporter.compress.finetune import finetune_teacher
    from exporter.compress.recipe import load_recipe
    from exporter.evaluate import torch_logits
    from exporter.inputs import prepare
    from exporter.verify import compare, run_runner

    torch.set_num_threads(2)
    recipe = load_recipe("finetune")
    inputs = prepare(None, None, recipe.seq_len)
    teacher, _ = finetune_teacher(inputs.model, inputs.source, inputs.task, inputs.splits, recipe)
    train, dev, test = inputs.splits.train, inputs.splits.dev, inputs.splits.test
    reference = torch_logits(teacher, dev.ids, dev.mask)
    backend, out = get_backend("tflite"), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    fp32 = None
    for variant in variants:
        start = time.time()
        if variant in PT2E or variant == "full":
            options = PT2E.get(variant, (("int8_mode", "full"),))
            spec = LowerSpec("int8", recipe.seq_len, train.ids[:256], train.mask[:256], options)
            data = backend.lower(teacher, spec).data
        else:  # ai-edge-quantizer on the fp32 .tflite, converted once
            if fp32 is None:
                fp32 = backend.lower(teacher, LowerSpec("fp32", recipe.seq_len, train.ids[:1], train.mask[:1])).data
            spec = LowerSpec("int8", recipe.seq_len, train.ids[:args.calibration], train.mask[:args.calibration])
            rules = aeq_recipe(_mixes()[variant[3:]]) if variant.startswith("mm-") else _aeq_recipe(variant)
            data = quantize_static(fp32, spec, rules, args.calibration)
        path = out / f"{variant}.tflite"
        path.write_bytes(data)
        runner = backend.load(path, 2)
        # An int16 output (aeq-a16) is not dequantized by the runner: its SQNR is meaningless,
        # its argmax (accuracy) is not.
        parity = compare(reference, run_runner(runner, dev.ids, dev.mask, desc=variant), dev.labels)
        test_logits = run_runner(runner, test.ids, test.mask, desc=f"{variant} test")
        test_acc = float((test_logits.argmax(-1) == test.labels).mean())
        print(json.dumps({"variant": variant, "mb": round(len(data) / 1e6, 2),
                          "dev": round(parity.dev_accuracy, 4), "test": round(test_acc, 4), "fp32_dev": round(parity.reference_accuracy, 4),
                          "sqnr_db": round(parity.sqnr_db, 1), "float_ops": float_ops(data), "int16_ops": int16_ops(data),
                          "seconds": round(time.time() - start, 1)}), flush=True)


if __name__ == "__main__":
    main()
