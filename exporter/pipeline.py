"""`dynaedge export`: teacher (or supernet + device choices) -> lower -> verify -> bundle.

Without --budget: the full-size fine-tuned teacher, every backend x precision asked for
(ternary: the full-size slice of the supernet's ternary QAT phase, trained or reused).
With --budget: the supernet (trained or reused), per device profile of the target and runtime the
smallest file within the accuracy slack of the most accurate one that fits (exporter.devices),
deduplicated into the artifacts those choices need.

Each artifact is lowered in memory, written to a hidden temp file, run by its own runtime over
the whole dev split and compared with its PyTorch slice. A file lowered before from the same
weights, code, tools and calibration, and its parity figures from the same file, PyTorch model and
sentences, are taken from the artifact cache (exporter/artifact_cache.py; the gate is applied
again; `--fresh` skips the cache); the manifest marks such artifacts `"reused": true`. The whole bundle is built in a staging
directory beside --out and swapped in only when every artifact has passed (exporter.atomic), so
a kill at any moment leaves the previous complete bundle or the new one.

With --budget, a file that fails its gate stops being a candidate: its (slice, variant) is marked
failed in the table, the devices choose again (the next best candidate within budget),
and the bundle is written anew (files that passed come from the artifact cache); the manifest
lists the failed file under "rejected" and each replaced choice says so in its reason. Without
--budget (files asked for by name) or when nothing is left to choose, a failed artifact leaves
the previous bundle as it was and puts this run's files and figures in OUT.rejected.
"""

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backends.base import MIN_LENGTH, LowerSpec
from backends.registry import get_backend
from exporter.atomic import copy_file, crash_point, staging_dir, swap_dir, write_bytes
from exporter.bundle import Manifest, file_entry, write_manifest
from exporter.compress.finetune import finetune_teacher
from exporter.compress.recipe import load_recipe
from exporter.devices.selector import row_key
from exporter.errors import UserError
from exporter.evaluate import accuracy, torch_logits
from exporter.inputs import prepare
from exporter.model.subnet import FULL
from exporter.slices import Job, MixedSlices, SupernetSlices, TeacherSlices, jobs_from_choices, supernet_rows
from exporter.spec import ExportSpec
from exporter.verify import THRESHOLDS, Parity, compare, run_runner
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
    rejected_before: list[dict] = []
    if spec.budget is None:
        inputs = prepare(spec.model, spec.data, recipe.seq_len)
        teacher, meta = finetune_teacher(inputs.model, inputs.source, inputs.task, inputs.splits, recipe)
        rows = [{"width": FULL.width, "depth": FULL.depth, "precision": "fp32", "variant": "teacher",
                 "dev_accuracy": meta["metrics"]["dev_accuracy"], "test_accuracy": meta["metrics"]["test_accuracy"],
                 "params": teacher.num_params()}]
        jobs = [Job(FULL, v) for v in spec.file_variants()]
        jobs += [Job(FULL, v, (), size) for v in spec.mixed_variants() for size in spec.mixed_mb]
        slices, choices, infeasible, supernet = TeacherSlices(teacher), [], [], None
        if any(job.variant.precision == "ternary" for job in jobs):
            ternary, supernet, extra = _ternary_source(spec, inputs)
            slices, rows = TeacherSlices(teacher, ternary), rows + extra
        if spec.mixed_mb:
            slices, rows = _with_mixed(spec, inputs, slices, rows)
    else:
        inputs, teacher, meta, rows, choices, infeasible, jobs, slices, supernet = _budget_plan(spec)
    while True:
        manifest = _manifest(inputs, teacher, meta, recipe, rows, choices, infeasible, supernet)
        if spec.budget is not None:
            manifest.budget = {"ms": spec.budget.ms, "length": _budget_length(spec, inputs).to_dict()}
        result, failed_entries = _attempt(spec, inputs, manifest, jobs, slices, rejected_before)
        if not failed_entries or spec.budget is None:
            return result
        rejected_before += failed_entries
        rows = mark_failed(rows, failed_entries)
        try:
            before = {(i["device"], i["family"]) for i in infeasible}
            choices, infeasible, jobs = _choose(spec, rows, inputs, teacher)
        except UserError as err:
            log.warning("no candidate left after the failed files: %s", err)
            return result
        log.warning("choosing again without %s", ", ".join(e["path"] for e in failed_entries))
        _log_left_out(i for i in infeasible if (i["device"], i["family"]) not in before)
        _say_what_was_replaced(choices, rejected_before)


def _manifest(inputs, teacher, meta, recipe, rows, choices, infeasible, supernet) -> Manifest:
    manifest = Manifest(
        model={**inputs.source.describe(), "config": teacher.cfg.to_dict()},
        data=inputs.describe_data(), recipe={"name": recipe.name, "sha256": recipe.sha256, **recipe.to_dict()},
        seq_len=inputs.seq_len, teacher=meta["metrics"], subnets=rows, choices=choices, infeasible=infeasible,
        tools=tool_versions())
    if supernet is not None:
        manifest.recipe["supernet"] = supernet
    return manifest


def _attempt(spec: ExportSpec, inputs, manifest: Manifest, jobs, slices, rejected_before: list[dict]):
    """Write the bundle into a fresh staging directory: (ExportResult, the entries that failed).
    All passed: swapped in. Some failed: the staging directory becomes OUT.rejected."""
    target = Path(spec.out)
    out = staging_dir(target)
    manifest.rejected += rejected_before  # files of earlier attempts that failed: listed, not written
    try:
        failed = _write_bundle(spec, inputs, manifest, jobs, slices, out)
        if failed:
            rejected = rejected_dir(target)
            shutil.rmtree(rejected, ignore_errors=True)
            os.rename(out, rejected)
            return ExportResult(rejected, manifest.to_dict(), tuple(failed)), manifest.rejected[len(rejected_before):]
        swap_dir(out, target)
    finally:
        shutil.rmtree(out, ignore_errors=True)  # a run that stops early leaves the previous bundle as it was
    return ExportResult(target, manifest.to_dict(), ()), []


def _say_what_was_replaced(choices: list[dict], rejected: list[dict]) -> None:
    """A choice made again because its first pick failed its gate says so in its reason."""
    from backends.registry import get_variant

    for entry in rejected:
        family = get_variant(f"{entry['backend']}/{entry['variant']}").family
        for choice in choices:
            if choice["device"] in entry["devices"] and choice["family"] == family:
                choice["reason"] += f"; replaces {entry['path']}, which failed its gate ({'; '.join(entry['failures'])})"


def mark_failed(rows: list[dict], failed_entries: list[dict]) -> list[dict]:
    """The table rows with each failed file's variant listed under its slice's "failed_variants"
    (variant key -> the gate's verdict), which the selector skips (exporter.devices.selector)."""
    out = [dict(r) for r in rows]
    for entry in failed_entries:
        key = f"{entry['backend']}/{entry['variant']}"
        for row in out:
            if row_key(row) == row_key(entry):
                row["failed_variants"] = {**row.get("failed_variants", {}), key: "; ".join(entry["failures"])}
    return out


def rejected_dir(target: Path) -> Path:
    """Where a run whose artifacts failed parity leaves its files and manifest."""
    return target.parent / f"{target.name}.rejected"


class _References:
    """PyTorch dev logits per reference model (the teacher serves many jobs), computed on first use;
    the model is kept with them so its id cannot be reused by another."""

    def __init__(self, dev):
        self.dev, self._by_id = dev, {}

    def logits(self, model) -> np.ndarray:
        if id(model) not in self._by_id:
            self._by_id[id(model)] = (model, torch_logits(model, self.dev.ids, self.dev.mask))
        return self._by_id[id(model)][1]


def _write_bundle(spec: ExportSpec, inputs, manifest: Manifest, jobs, slices, out: Path) -> list[str]:
    """Lower, verify and write every job into `out`, then vocab and the sealed manifest; the
    names and reasons of the artifacts that failed parity."""
    dev = inputs.splits.dev
    failed = []
    references = _References(dev)
    for job in jobs:
        backend = get_backend(job.variant.backend)
        name = job.file_name
        piece = slices.get(job)
        lowered, reused = _lower(backend, piece.model, job, spec, inputs, name)
        made = "fixed" if lowered.max_len is None else "buckets" if lowered.buckets else "any"
        if made != job.variant.lengths:  # the selector predicted its latency for the other kind
            raise RuntimeError(f"{name}: the variant table says lengths={job.variant.lengths!r}, the lowered "
                               f"file's are {made!r}")
        crash_point(f"lowered:{name}")
        entry = _verify_and_place(backend, lowered, out, name, piece.reference, references, inputs.splits,
                                  spec.threads, job.variant.gate, spec.reuse)
        crash_point(f"verified:{name}")
        entry.update(width=job.subnet.width, depth=job.subnet.depth, variant=job.variant.name,
                     runtime=job.variant.runtime, devices=list(job.devices), reused=reused and entry["reused"])
        if job.size_mb is not None:
            entry["size_mb"] = job.size_mb
        if entry.get("failures"):
            manifest.rejected.append(entry)
            failed.append(f"{name}: {'; '.join(entry['failures'])}")
        else:
            manifest.artifacts.append(entry)
            manifest.fallbacks += [f"{name}: {f}" for f in lowered.fallbacks]
    vocab = out / "vocab.txt"
    copy_file(inputs.tokenizer.vocab_path, vocab)
    manifest.vocab = file_entry(vocab, out)
    crash_point("manifest")
    write_manifest(out, manifest)
    return failed


def _supernet(spec: ExportSpec, inputs):
    """The supernet of `spec.supernet_recipe`, trained or reused: (its slices, its table, how the
    manifest names it)."""
    from exporter.compress.supernet import train_supernet
    from exporter.compress.supernet_recipe import load_supernet_recipe

    recipe = load_supernet_recipe(spec.supernet_recipe)
    result = train_supernet(inputs, spec.supernet_recipe)
    described = {"name": recipe.name, "sha256": recipe.sha256, "run": result.checkpoint_dir.name}
    return SupernetSlices(result.checkpoint_dir, recipe), result.table, described


def _ternary_source(spec: ExportSpec, inputs):
    """Full-size ternary artifacts come from the supernet's ternary QAT phase (trained or reused)."""
    from exporter.compress.supernet_recipe import load_supernet_recipe

    recipe = load_supernet_recipe(spec.supernet_recipe)
    if recipe.seq_len != inputs.seq_len:
        raise UserError(f"--precision ternary takes the ternary slice of supernet recipe {recipe.name!r} "
                        f"(seq_len {recipe.seq_len}), but the teacher recipe runs at seq_len {inputs.seq_len}")
    slices, table, described = _supernet(spec, inputs)
    rows = [r for r in supernet_rows(table) if r["precision"] == "ternary" and
            (r["width"], r["depth"]) == (FULL.width, FULL.depth)]
    return slices, described, rows


def _budget_plan(spec: ExportSpec):
    """Train or reuse the supernet, choose per device, and list the artifacts the choices need."""
    from exporter.compress.supernet_recipe import load_supernet_recipe

    supernet_recipe = load_supernet_recipe(spec.supernet_recipe)
    inputs = prepare(spec.model, spec.data, supernet_recipe.seq_len)
    slices, table, described = _supernet(spec, inputs)
    teacher, meta = finetune_teacher(inputs.model, inputs.source, inputs.task, inputs.splits,
                                     load_recipe(supernet_recipe.teacher))
    rows = supernet_rows(table)
    if spec.mixed_mb:
        slices, rows = _with_mixed(spec, inputs, slices, rows)
    at = _budget_length(spec, inputs)
    log.info("budget %s applies to one sentence of %d tokens (%s; --budget-length N to change): %s",
             spec.budget, at.tokens, at.source, inputs.lengths.describe())
    choices, infeasible, jobs = _choose(spec, rows, inputs, teacher)
    _log_left_out(infeasible)
    return inputs, teacher, meta, rows, choices, infeasible, jobs, slices, described


def _with_mixed(spec: ExportSpec, inputs, slices, rows: list[dict]):
    """The --mixed-mb models, trained or reused: (slices that also lower them, rows with theirs)."""
    from exporter.compress.mixed_models import mixed_runs

    runs = mixed_runs(inputs, spec.mixed_mb)
    return MixedSlices(runs, slices), rows + [r.row for r in runs]


def _budget_length(spec: ExportSpec, inputs):
    """The sentence length the budget applies at: --budget-length, else p90 of the training sentences."""
    from exporter.data.lengths import budget_length

    return budget_length(inputs.lengths, spec.budget_length, inputs.seq_len)


def _choose(spec: ExportSpec, rows: list[dict], inputs, teacher):
    """Per device and runtime the best candidate within budget (selector.py: the smallest within the
    accuracy slack of the most accurate), for one sentence of the budget's length: (choices,
    infeasible, jobs)."""
    from exporter.devices.commands import needed_artifacts, plan_for_target

    choices, infeasible = plan_for_target(spec.target, spec.budget, rows, device=spec.device,
                                          seq_len=inputs.seq_len, cfg=teacher.cfg,
                                          variants=spec.candidate_variants(), preference=spec.preference,
                                          length=_budget_length(spec, inputs).tokens)
    return choices, infeasible, jobs_from_choices(needed_artifacts(choices))


def _log_left_out(infeasible) -> None:
    for item in infeasible:
        log.warning("left out: %s", item["reason"])


def _lower(backend, model, job, spec: ExportSpec, inputs, name: str):
    """(Lowered, reused): from the artifact cache when the same weights, code, tools and calibration
    were lowered before, else lowered now and kept there."""
    from exporter.artifact_cache import load_lowered, lowering_key, store_lowered

    train = inputs.splits.train
    lower_spec = LowerSpec(job.variant.precision, inputs.seq_len, train.ids[:spec.calibration_sentences],
                           train.mask[:spec.calibration_sentences], job.variant.options)
    key = lowering_key(model, lower_spec, job.variant)
    lowered = load_lowered(key) if spec.reuse else None
    devices = f" for {', '.join(job.devices)}" if job.devices else ""
    if lowered is not None:
        log.info("reusing %s%s (lowered before from the same weights, code and calibration)", name, devices)
        return lowered, True
    log.info("lowering %s%s", name, devices)
    return store_lowered(key, backend.lower(model, lower_spec)), False


def _verify_and_place(backend, lowered, out: Path, name: str, reference_model, references: _References, splits,
                      threads: int, gate: str, reuse: bool = True) -> dict:
    """Run the file over the dev split (and, if it passes, the test split) in its own runtime, or
    take those figures from an identical earlier run; apply the gate; place the file if it passed.
    The entry's "reused" says whether the figures came from the cache."""
    from exporter.artifact_cache import load_verified, store_verified, verification_key

    entry = {"path": name, "backend": lowered.backend, "precision": lowered.precision, "gate": gate,
             "quantization": lowered.quantization, "delegates": lowered.delegates,
             "fallbacks": list(lowered.fallbacks),
             # what the app may feed: any length up to max_len (the sentence unpadded), or exactly seq_len
             "input_lengths": "fixed" if lowered.max_len is None else f"{MIN_LENGTH}..{lowered.max_len}"}
    if lowered.buckets:  # each length runs padded to the first of these that holds it
        entry["length_buckets"] = list(lowered.buckets)
    key = verification_key(lowered.data, reference_model, splits)
    parity = load_verified(key) if reuse else None
    failures = None if parity is None else THRESHOLDS[gate].failures(Parity.from_dict(parity))
    reused = parity is not None and (bool(failures) or "test_accuracy" in parity)  # a pass needs its test figure
    if reused:
        log.info("reusing the verification of %s (same file, PyTorch model and sentences)", name)
    else:
        parity, failures = _measure(backend, lowered, out, name, reference_model, references, splits, threads, gate)
        store_verified(key, parity)
    entry.update(parity=parity, reused=reused)
    if failures:
        log.error("%s failed parity, not written: %s", name, "; ".join(failures))
        return {**entry, "bytes": len(lowered.data), "failures": failures}  # size: what it would have cost
    crash_point(f"verifying:{name}")
    write_bytes(out / name, lowered.data)
    return {**entry, **file_entry(out / name, out)}


def _measure(backend, lowered, out: Path, name: str, reference_model, references: _References, splits, threads: int,
             gate: str) -> tuple[dict, list[str]]:
    """Parity figures of the file run in its own runtime (test accuracy only when the dev gate passed)."""
    dev, test = splits.dev, splits.test
    tmp = out / f".{name}.verify"
    write_bytes(tmp, lowered.data)
    try:
        runner = backend.load(tmp, threads=threads)
        logits = run_runner(runner, dev.ids, dev.mask, desc=f"verify {name}")
        parity = compare(references.logits(reference_model), logits, dev.labels)
        failures = THRESHOLDS[gate].failures(parity)
        figures = parity.to_dict()
        if not failures:
            test_logits = run_runner(runner, test.ids, test.mask, desc=f"test {name}")
            figures["test_accuracy"] = round(accuracy(test_logits, test.labels), 6)
        del runner
        return figures, failures
    finally:
        tmp.unlink(missing_ok=True)
