"""`dynaedge export`: teacher -> lower per backend and precision -> verify -> bundle.

Each artifact is lowered in memory, written to a hidden temp file in the bundle dir, run
by its own runtime over the whole dev split and compared with PyTorch. Only an artifact
that meets its thresholds is renamed into place; a failure is recorded with its figures.
"""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backends.base import LowerSpec
from backends.registry import get_backend
from exporter.atomic import copy_file, write_bytes
from exporter.bundle import Manifest, file_entry, write_manifest
from exporter.compress.finetune import finetune_teacher
from exporter.compress.recipe import load_recipe
from exporter.evaluate import accuracy, torch_logits
from exporter.inputs import prepare
from exporter.model.subnet import FULL
from exporter.spec import ExportSpec
from exporter.verify import THRESHOLDS, compare, run_runner
from exporter.versions import tool_versions

log = logging.getLogger("dynaedge")


@dataclass(frozen=True)
class ExportResult:
    bundle: Path
    manifest: dict
    failed: tuple[str, ...]  # names of artifacts that did not pass parity


def export(spec: ExportSpec) -> ExportResult:
    import torch

    torch.set_num_threads(spec.threads)
    recipe = load_recipe(spec.recipe)
    inputs = prepare(spec.model, spec.data, recipe.seq_len)
    teacher, meta = finetune_teacher(inputs.model, inputs.source, inputs.task, inputs.splits, recipe)
    out = Path(spec.out)
    out.mkdir(parents=True, exist_ok=True)
    dev = inputs.splits.dev
    reference = torch_logits(teacher, dev.ids, dev.mask)
    manifest = Manifest(
        model={**inputs.source.describe(), "config": teacher.cfg.to_dict()},
        data=inputs.describe_data(), recipe={"name": recipe.name, "sha256": recipe.sha256, **recipe.to_dict()},
        seq_len=recipe.seq_len, teacher=meta["metrics"], tools=tool_versions())
    manifest.subnets.append({"width": FULL.width, "depth": FULL.depth, "precision": "fp32",
                             "dev_accuracy": meta["metrics"]["dev_accuracy"],
                             "test_accuracy": meta["metrics"]["test_accuracy"], "params": teacher.num_params()})
    calibration = LowerSpec("fp32", recipe.seq_len, inputs.splits.train.ids[:spec.calibration_sentences],
                            inputs.splits.train.mask[:spec.calibration_sentences])
    failed = []
    for backend_name in spec.backends:
        backend = get_backend(backend_name)
        for precision in spec.precisions:
            name = f"{FULL.name}-{precision}{backend.suffix}"
            log.info("lowering %s", name)
            lowered = backend.lower(teacher, LowerSpec(precision, recipe.seq_len, calibration.calibration_ids,
                                                       calibration.calibration_mask))
            entry = _verify_and_place(backend, lowered, out, name, reference, dev, inputs.splits.test, spec.threads)
            if entry.get("failures"):
                manifest.rejected.append(entry)
                failed.append(f"{name}: {'; '.join(entry['failures'])}")
            else:
                manifest.artifacts.append(entry)
                manifest.fallbacks += [f"{name}: {f}" for f in lowered.fallbacks]
    vocab = out / "vocab.txt"
    copy_file(inputs.tokenizer.vocab_path, vocab)
    manifest.vocab = file_entry(vocab, out)
    write_manifest(out, manifest)
    return ExportResult(out, manifest.to_dict(), tuple(failed))


def _verify_and_place(backend, lowered, out: Path, name: str, reference: np.ndarray, dev, test, threads: int) -> dict:
    tmp = out / f".{name}.verify"
    write_bytes(tmp, lowered.data)
    try:
        runner = backend.load(tmp, threads=threads)
        logits = run_runner(runner, dev.ids, dev.mask, desc=f"verify {name}")
        parity = compare(reference, logits, dev.labels)
        failures = THRESHOLDS[lowered.precision].failures(parity)
        entry = {"path": name, "backend": lowered.backend, "precision": lowered.precision,
                 "width": FULL.width, "depth": FULL.depth, "quantization": lowered.quantization,
                 "delegates": lowered.delegates, "fallbacks": list(lowered.fallbacks),
                 "parity": parity.to_dict()}
        if failures:
            log.error("%s failed parity, not written: %s", name, "; ".join(failures))
            return {**entry, "failures": failures}
        test_logits = run_runner(runner, test.ids, test.mask, desc=f"test {name}")
        entry["parity"]["test_accuracy"] = round(accuracy(test_logits, test.labels), 6)
        del runner
        os.replace(tmp, out / name)
        return {**entry, **file_entry(out / name, out)}
    finally:
        tmp.unlink(missing_ok=True)
