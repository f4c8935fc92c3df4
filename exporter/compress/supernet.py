"""`dynaedge train --recipe quick|full`: fine-tuned teacher -> importance + rewiring -> the recipe's
phases (DynaBERT width, width+depth, ternary QAT, ablations, XTC) -> the accuracy table.

Every step checkpoints into its own folder of the run directory (safetensors + checkpoint.json
with the rewiring order, config, recipe, quantization, model and data hashes); a folder with
its JSON is finished, so a rerun (after a kill, too) skips finished phases and the trainer
resumes an unfinished one from its last step checkpoint. The run directory is keyed by the
hashes of model, data, teacher recipe and supernet recipe.

Under torchrun every rank trains (DDP, trainer.py); rank 0 alone writes checkpoints and the
table, the other ranks wait and read them.
"""

import copy
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from exporter.atomic import write_json
from exporter.compress import distributed
from exporter.compress.checkpoint import read_meta, save_checkpoint
from exporter.compress.matmul import effective
from exporter.compress.dynabert import AdaptiveLoss
from exporter.compress.finetune import Splits
from exporter.compress.importance import compute_importance
from exporter.compress.quant import QuantSpec, attach_lat, bake_lat, quantize_model
from exporter.compress.rewire import RewireOrder, order_from_importance, rewire
from exporter.compress.mixed import MixedSpec, fix_bits, is_mixed, make_mixed
from exporter.compress.mixed_search import SearchLoss, split_halves
from exporter.compress.supernet_recipe import (REWIRED, PhaseSpec, SupernetRecipe, load_supernet_recipe,
                                              with_size_mb, with_student_layers)
from exporter.compress.table import evaluate_rows
from exporter.compress.trainer import Batches, clear, total_steps, train
from exporter.compress.xtc import xtc_layers, xtc_student
from exporter.errors import UserError
from exporter.model.config import EncoderConfig
from exporter.model.encoder import Encoder
from exporter.model.subnet import SubnetSpec

log = logging.getLogger("dynaedge")
TABLE = "table.json"


@dataclass(frozen=True)
class SupernetResult:
    model: Encoder        # the last phase reported as a grid: the supernet export slices
    table: dict           # {"rows": [...]} (table.py)
    checkpoint_dir: Path  # the run directory; one sub-folder per phase


def train_supernet(inputs, recipe_name: str, student_layers: int | None = None,
                   size_mb: float | None = None) -> SupernetResult:
    """The public entry point: `inputs` from exporter.inputs.prepare at the recipe's seq_len;
    `student_layers` overrides the XTC student's depth (`--student-layers K`), `size_mb` the
    mixed-precision search's target (`--size-mb S`)."""
    from exporter.compress.finetune import finetune_teacher
    from exporter.compress.recipe import load_recipe

    recipe = _recipe(recipe_name, student_layers, size_mb)
    if inputs.seq_len != recipe.seq_len:
        raise UserError(f"recipe {recipe.name!r} trains at seq_len {recipe.seq_len}, inputs were tokenized at "
                        f"{inputs.seq_len}; prepare the inputs with seq_len={recipe.seq_len}")
    distributed.init_from_env()
    teacher_spec = load_recipe(recipe.teacher)
    teacher, teacher_meta = finetune_teacher(inputs.model, inputs.source, inputs.task, inputs.splits, teacher_spec)
    provenance = {"model": inputs.source.describe(), "data": inputs.describe_data(),
                  "teacher": {"recipe": teacher_spec.to_dict(), "metrics": teacher_meta.get("metrics")}}
    return run_supernet(teacher, inputs.splits, recipe,
                        supernet_run_dir(inputs, recipe_name, student_layers, size_mb), provenance)


def _recipe(name: str, student_layers: int | None, size_mb: float | None = None) -> SupernetRecipe:
    recipe = load_supernet_recipe(name)
    if student_layers is not None:
        recipe = with_student_layers(recipe, student_layers)
    return recipe if size_mb is None else with_size_mb(recipe, size_mb)


def supernet_run_dir(inputs, recipe_name: str, student_layers: int | None = None,
                     size_mb: float | None = None) -> Path:
    """Where `train_supernet(inputs, recipe_name, student_layers, size_mb)` keeps its checkpoints:
    keyed by model, data, teacher recipe and supernet recipe hashes. Cheap: trains nothing."""
    from exporter.compress.recipe import load_recipe
    from exporter.paths import cache_dir

    recipe = _recipe(recipe_name, student_layers, size_mb)
    teacher_spec = load_recipe(recipe.teacher)
    key = hashlib.sha256(f"{inputs.source.sha256}:{inputs.task.sha256}:{teacher_spec.sha256}:{recipe.sha256}"
                         .encode()).hexdigest()[:16]
    return Path(cache_dir("runs", f"supernet-{recipe.name}-{key}"))


def read_table(run_dir: Path) -> dict | None:
    """The accuracy table of a finished run (`dynaedge report`), or None if it has not finished."""
    path = Path(run_dir) / TABLE
    return json.loads(path.read_text()) if path.exists() else None


def load_phase(directory: Path) -> tuple[Encoder, dict]:
    """A phase checkpoint back as a model (quantization-aware if the phase was)."""
    from safetensors.torch import load_file

    meta = read_meta(directory)
    if meta is None:
        raise UserError(f"{directory} is not a finished phase (no checkpoint.json)")
    model = Encoder(EncoderConfig.from_dict(meta["config"]), SubnetSpec(**meta["built"]))
    quant = meta.get("quant")
    if quant and quant.get("weights") == "mixed":
        make_mixed(model, MixedSpec(**quant))
    elif quant:
        quantize_model(model, QuantSpec(**quant))
    model.load_state_dict(load_file(str(Path(directory) / "model.safetensors")))
    return model.eval(), meta


def _save_phase(directory: Path, model: Encoder, meta: dict) -> None:
    if distributed.current().is_main:
        spec = getattr(model, "quant_spec", None)
        save_checkpoint(directory, model, {**meta, "quant": spec.to_dict() if spec else None})
    distributed.barrier()


def _batches(split) -> Batches:
    return Batches(torch.from_numpy(split.ids), torch.from_numpy(split.mask), torch.from_numpy(split.labels))


def _rewired(teacher: Encoder, data: Batches, recipe: SupernetRecipe, run_dir: Path, meta: dict) -> Encoder:
    directory = run_dir / REWIRED
    if read_meta(directory) is None:
        if distributed.current().is_main:  # deterministic, but one rank is enough
            model = copy.deepcopy(teacher)
            order = order_from_importance(compute_importance(model, data, recipe.importance_batches,
                                                             seed=recipe.seed))
            rewire(model, order)
            save_checkpoint(directory, model, {**meta, "kind": "rewired", "order": order.to_dict(), "quant": None})
        distributed.barrier()
    model, phase_meta = load_phase(directory)
    RewireOrder.from_dict(phase_meta["order"]).check(model.cfg)
    return model


def _student(phase: PhaseSpec, start: Encoder) -> Encoder:
    """The model a phase trains: a copy of its start, layer-reduced (XTC), made searchable (mixed
    search), its bit map fixed (mixed) or quantization-aware as the phase asks."""
    if phase.kind == "xtc":
        if getattr(start, "quant_spec", None) is not None:
            raise UserError(f"phase {phase.name!r}: XTC starts from an fp32 model, not {phase.start!r}")
        return xtc_student(start, phase.student_layers)
    student = copy.deepcopy(start)
    if phase.kind == "mixed_search":
        return make_mixed(student, phase.mixed)
    if phase.precision == "mixed":
        return student if student.quant_spec.fixed else fix_bits(student)
    have = getattr(student, "quant_spec", None)
    if phase.quant is not None and have is None:
        quantize_model(student, phase.quant)
    elif have != phase.quant:
        raise UserError(f"phase {phase.name!r}: starts from {phase.start!r} quantized as {have}, "
                        f"but asks for precision {phase.precision!r}")
    return student


def _train_phase(phase: PhaseSpec, models: dict[str, Encoder], data: Batches, run_dir: Path) -> Encoder:
    student = _student(phase, models[phase.start])
    teacher = models[phase.teacher] if phase.loss.needs_teacher else None
    # Trimmed batches have less padding than padded ones: only a loss over real tokens is the same.
    real_tokens = phase.train.batching != "padded"
    # Architecture logits (mixed precision) move on their own optimizer, never on the weights' AdamW.
    params = [p for name, p in student.named_parameters() if not name.endswith("arch")]
    if phase.kind == "mixed_search":
        data, other = split_halves(data, phase.train.seed)
        loss = SearchLoss(teacher, phase.loss, other, phase.search, phase.mixed.size_mb, phase.train,
                          total_steps(len(data), phase.train), real_tokens)
    else:
        loss = AdaptiveLoss(teacher, phase.adaptive, phase.loss, real_tokens=real_tokens)
    hook = (lambda opt: attach_lat(student, opt)) if phase.lat else None
    train(student, data, phase.train, loss, run_dir / phase.name / "work", desc=phase.name, params=params,
          on_optimizer=hook)
    if phase.lat:
        bake_lat(student)
    return student


def _grid(recipe: SupernetRecipe) -> list[SubnetSpec]:
    return [SubnetSpec(w, d) for d in recipe.eval_depths for w in recipe.eval_widths]


def _phase_rows(phase: PhaseSpec, model: Encoder, recipe: SupernetRecipe, splits: Splits, teacher_layers: int):
    if phase.report == "grid":
        subnets = _grid(recipe)
    else:
        subnets = phase.adaptive.subnets()
    rows = evaluate_rows(model, splits, subnets, phase.precision, phase.variant or "supernet", phase.name,
                         teacher_layers)
    if is_mixed(model):
        from exporter.compress.mixed_map import bit_map, bit_summary
        rows = [{**row, "size_target_mb": model.quant_spec.size_mb, "bits": bit_summary(model),
                 "bit_map": bit_map(model)} for row in rows]
    return rows


def run_supernet(teacher: Encoder, splits: Splits, recipe: SupernetRecipe, run_dir: Path, provenance: dict,
                 stop_after: str | None = None) -> SupernetResult:
    """Run (or resume) every phase of `recipe` from the fine-tuned `teacher`; `stop_after` (a phase
    name) ends early, as an interrupted run would."""
    run_dir = Path(run_dir)
    data = _batches(splits.train)
    meta = {"recipe": recipe.to_dict(), "recipe_sha256": recipe.sha256, **provenance}
    models = {REWIRED: _rewired(teacher, data, recipe, run_dir, meta)}
    order = read_meta(run_dir / REWIRED)["order"]
    for phase in recipe.phases:
        directory = run_dir / phase.name
        if read_meta(directory) is None:
            model = _train_phase(phase, models, data, run_dir)
            extra = {"xtc_layers": list(xtc_layers(teacher.cfg.layers, phase.student_layers))} \
                if phase.kind == "xtc" else {}
            _save_phase(directory, model, {**meta, "kind": "phase", "phase": phase.name, "order": order,
                                           "matmul": effective(phase.train.matmul), **extra})
            if distributed.current().is_main:
                clear(directory / "work")
        else:
            log.info("phase %s already finished: %s", phase.name, directory)
        models[phase.name], _ = load_phase(directory)
        if stop_after == phase.name:
            return SupernetResult(models[phase.name], {"rows": []}, run_dir)
    if not (run_dir / TABLE).exists():
        if distributed.current().is_main:
            rows = []
            for phase in recipe.phases:
                if phase.report != "none":
                    rows += _phase_rows(phase, models[phase.name], recipe, splits, teacher.cfg.layers)
            write_json(run_dir / TABLE, {"recipe": recipe.name, "rows": rows})
        distributed.barrier()
    if distributed.current().is_main:
        _add_dynamic_rows(run_dir, recipe, models, splits, teacher.cfg.layers)
    distributed.barrier()
    table = read_table(run_dir)
    grid = [p.name for p in recipe.phases if p.report == "grid"]
    final = models[grid[-1]] if grid else models[recipe.phases[-1].name]
    return SupernetResult(final, table, run_dir)


def _add_dynamic_rows(run_dir: Path, recipe: SupernetRecipe, models: dict[str, Encoder], splits: Splits,
                      teacher_layers: int) -> None:
    """Rows for files whose activations are quantized per token at run time (ptq.py), simulated in
    PyTorch and marked "activations": "dynamic": int8 rows from the last fp32 grid phase (unless the
    table has int8 rows), ternary rows from the last ternary grid phase (the stock-runtime ternary
    files). Added to a finished table too (one written before they existed), so a reused run gains them.
    """
    from exporter.compress.ptq import INT8_HOW, TERNARY_HOW, simulate_dynamic_inputs, simulate_int8

    table = read_table(run_dir)
    have = {(r["precision"], r.get("activations")) for r in table["rows"]}
    added = []
    for precision, source, make, how in (("int8", "fp32", simulate_int8, INT8_HOW),
                                         ("ternary", "ternary", simulate_dynamic_inputs, TERNARY_HOW)):
        phases = [p for p in recipe.phases if p.report == "grid" and p.precision == source]
        if not phases or (precision, "dynamic") in have or (precision == "int8" and ("int8", None) in have):
            continue
        phase = phases[-1]
        rows = evaluate_rows(make(models[phase.name]), splits, _grid(recipe), precision, "supernet",
                             f"{phase.name}+dynamic-activations", teacher_layers)
        added += [{**row, "activations": "dynamic", "accuracy": "simulated", "simulated_as": how} for row in rows]
    if added:
        write_json(run_dir / TABLE, {**table, "rows": table["rows"] + added})
