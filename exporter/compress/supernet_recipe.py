"""Supernet recipes are data: recipes/<name>.toml with a list of [[phase]] tables.

    name = "quick"
    teacher = "finetune"          # the fp32 teacher's recipe (finetune.py caches it)
    batching = "padded"           # | length-grouped (batching.py), for every phase
    matmul = "fp32"               # | bf16 (matmul.py: autocast where the CPU has native bfloat16); a phase may
                                  # set its own
    importance_batches = 16       # batches of training data for head / neuron importance
    eval_widths = [...]  eval_depths = [...]

    [[phase]]                     # phases run in order; each checkpoints its result
    name = "width"                # also the checkpoint folder
    kind = "adaptive"             # adaptive (DynaBERT) | xtc (layer-reduced student) | mixed_search
    start = "rewired"             # the model it starts from: "rewired" or an earlier phase
    teacher = "rewired"           # the distillation teacher: "rewired" or an earlier phase
    widths = [1.0, 0.75, 0.5, 0.25]  depths = [1.0]  teacher_slice = "full"  # | width | same
    per_step = 0                  # sub-networks per step: 0 = all; k >= 2 = sandwich rule
    precision = "fp32"            # fp32 | ternary | int8 (weights; 8-bit activations unless fp32) | mixed
                                  # (the bit map of the mixed_search phase it starts from, fixed)
    report = "grid"               # grid: every eval width x depth | own: its own sub-networks | none
    variant = ""                  # label of extra table rows ("no-distill", "xtc")
    steps = 200  batch_size = 32  learning_rate = 5e-5 ...   # TrainSpec fields
    [phase.loss]                  # LossWeights fields

    kind = "mixed_search" (AQ-BERT, mixed.py): size_mb, group_size, bits, prune, pricing (MixedSpec) and
    arch_learning_rate, size_weight, tau_start, tau_end (mixed_search.SearchSpec); full size only.
"""

import hashlib
import json
import tomllib
import copy
from dataclasses import dataclass

from backends.variant import PRECISIONS as PRECISION_FACTS
from exporter.compress.distill import LossWeights
from exporter.compress.dynabert import AdaptiveSpec
from exporter.compress.mixed import MixedSpec
from exporter.compress.mixed_search import SearchSpec
from exporter.compress.quant import QuantSpec
from exporter.compress.recipe import RECIPE_DIR, TrainSpec, recipe_names
from exporter.errors import UserError, unknown_choice

KINDS = ("adaptive", "xtc", "mixed_search")
PRECISIONS = tuple(PRECISION_FACTS)   # the one per-precision table (backends/variant.py)
REPORTS = ("grid", "own", "none")
REWIRED = "rewired"
_TRAIN_KEYS = ("steps", "batch_size", "learning_rate", "weight_decay", "warmup_fraction", "checkpoint_every")
_MIXED_KEYS = ("size_mb", "group_size", "bits", "prune", "pricing")
_SEARCH_KEYS = ("arch_learning_rate", "size_weight", "tau_start", "tau_end")


@dataclass(frozen=True)
class PhaseSpec:
    name: str
    kind: str
    start: str
    teacher: str
    adaptive: AdaptiveSpec
    precision: str
    lat: bool
    loss: LossWeights
    train: TrainSpec
    report: str
    variant: str
    student_layers: int   # xtc only
    mixed: MixedSpec | None = None     # mixed_search only
    search: SearchSpec | None = None   # mixed_search only

    @property
    def quant(self) -> QuantSpec | None:
        """The QuantSpec of a ternary / int8 phase (None: fp32 or mixed, whose spec is `mixed`)."""
        if self.precision in ("fp32", "mixed"):
            return None
        return QuantSpec(self.precision, activations=8, lat=self.lat)


@dataclass(frozen=True)
class SupernetRecipe:
    name: str
    teacher: str
    seq_len: int
    seed: int
    importance_batches: int
    eval_widths: tuple[float, ...]
    eval_depths: tuple[float, ...]
    phases: tuple[PhaseSpec, ...]
    raw: dict  # the parsed TOML, recorded in checkpoints

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True).encode()).hexdigest()

    def to_dict(self) -> dict:
        return self.raw


def _check_keys(where: str, d: dict, known: set[str]) -> None:
    extra = set(d) - known
    if extra:
        raise UserError(f"{where}: unknown keys {sorted(extra)}; known: {sorted(known)}")


def _choice(where: str, kind: str, value, choices):
    if value not in choices:
        raise UserError(f"{where}: {unknown_choice(kind, value, choices)}")
    return value


def _phase(d: dict, top: dict, earlier: list[str], where: str) -> PhaseSpec:
    known = {"name", "kind", "start", "teacher", "widths", "depths", "teacher_slice", "per_step", "precision", "lat",
             "matmul", "loss", "report", "variant", "student_layers", *_TRAIN_KEYS, *_MIXED_KEYS, *_SEARCH_KEYS}
    _check_keys(where, d, known)
    name = d.get("name") or ""
    if not name or name == REWIRED or name in earlier:
        raise UserError(f"{where}: phase name {name!r} is missing, reserved or repeated")
    sources = [REWIRED, *earlier]
    train_args = {k: d[k] for k in _TRAIN_KEYS if k in d}
    if train_args.get("steps", 1) <= 0:
        raise UserError(f"{where}: steps {train_args['steps']!r} must be > 0")
    kind = _choice(where, "phase kind", d.get("kind", "adaptive"), KINDS)
    mixed = search = None
    if kind == "mixed_search":
        if "size_mb" not in d:
            raise UserError(f"{where}: kind 'mixed_search' needs size_mb (the target model size in MB)")
        mixed = MixedSpec(**{k: d[k] for k in _MIXED_KEYS if k in d})
        search = SearchSpec(**{k: d[k] for k in _SEARCH_KEYS if k in d})
    elif set(d) & {*_MIXED_KEYS, *_SEARCH_KEYS}:
        raise UserError(f"{where}: {sorted(set(d) & {*_MIXED_KEYS, *_SEARCH_KEYS})} belong to kind 'mixed_search'")
    return PhaseSpec(
        name=name,
        kind=kind,
        start=_choice(where, "start phase", d.get("start", REWIRED), sources),
        teacher=_choice(where, "teacher phase", d.get("teacher", REWIRED), sources),
        adaptive=AdaptiveSpec(tuple(d.get("widths", [1.0])), tuple(d.get("depths", [1.0])),
                              d.get("teacher_slice", "full"), int(d.get("per_step", 0))),
        precision=_choice(where, "precision", d.get("precision", "fp32"), PRECISIONS),
        lat=bool(d.get("lat", False)),
        loss=LossWeights.from_dict(d.get("loss", {}), f"{where}.loss"),
        train=TrainSpec(name=f"{top['name']}-{name}", seq_len=top.get("seq_len", 64), seed=top.get("seed", 1234),
                        batching=top.get("batching", "padded"), matmul=d.get("matmul", top.get("matmul", "fp32")),
                        **train_args),
        report=_choice(where, "report", d.get("report", "grid"), REPORTS),
        variant=str(d.get("variant", "")),
        student_layers=int(d.get("student_layers", 0)),
        mixed=mixed,
        search=search,
    )


def _check_mixed(p: PhaseSpec, earlier: list[PhaseSpec], where: str) -> None:
    """A search runs the full model from an fp32 one; a "mixed" phase fine-tunes a search's bit map."""
    full = p.adaptive.widths == (1.0,) and p.adaptive.depths == (1.0,)
    source = next((e for e in earlier if e.name == p.start), None)
    source_mixed = source is not None and (source.kind == "mixed_search" or source.precision == "mixed")
    if p.kind == "mixed_search":
        if not full or source_mixed or (source is not None and source.precision != "fp32"):
            raise UserError(f"{where}: a mixed_search starts from an fp32 phase (or rewired) at widths = [1.0], "
                            "depths = [1.0]")
        if p.report != "none":
            raise UserError(f"{where}: a mixed_search reports nothing (report = \"none\"); the phase that fixes its "
                            "bit map reports")
    elif p.precision == "mixed":
        if not (p.kind == "adaptive" and full and source_mixed):
                raise UserError(f"{where}: precision 'mixed' fine-tunes the bit map of a mixed_search phase: "
                            "kind 'adaptive', start = that phase, widths = [1.0], depths = [1.0]")
    elif source_mixed:
        raise UserError(f"{where}: starts from mixed-precision phase {p.start!r}, so its precision must be 'mixed'")


def parse_supernet_recipe(data: dict, where: str) -> SupernetRecipe:
    known = {"name", "teacher", "seq_len", "seed", "batching", "matmul", "importance_batches", "eval_widths",
             "eval_depths", "phase"}
    _check_keys(where, data, known)
    phases, names = [], []
    for i, d in enumerate(data.get("phase", [])):
        p = _phase(d, data, names, f"{where} phase {i + 1}")
        if p.kind == "xtc" and p.student_layers <= 0:
            raise UserError(f"{where} phase {p.name!r}: kind 'xtc' needs student_layers > 0")
        _check_mixed(p, phases, f"{where} phase {p.name!r}")
        phases.append(p)
        names.append(p.name)
    if not phases:
        raise UserError(f"{where}: no [[phase]] tables")
    return SupernetRecipe(name=data["name"], teacher=data.get("teacher", "finetune"), seq_len=data.get("seq_len", 64),
                          seed=data.get("seed", 1234), importance_batches=data.get("importance_batches", 16),
                          eval_widths=tuple(data.get("eval_widths", [0.25, 0.5, 0.75, 1.0])),
                          eval_depths=tuple(data.get("eval_depths", [0.5, 0.75, 1.0])),
                          phases=tuple(phases), raw=data)


def is_supernet_recipe(name: str) -> bool:
    path = RECIPE_DIR / f"{name}.toml"
    return path.exists() and "phase" in tomllib.loads(path.read_text())


def load_supernet_recipe(name: str) -> SupernetRecipe:
    path = RECIPE_DIR / f"{name}.toml"
    if not path.exists():
        raise unknown_choice("recipe", name, recipe_names())
    if not is_supernet_recipe(name):
        supernets = [n for n in recipe_names() if is_supernet_recipe(n)]
        raise UserError(f"recipe {name!r} has no [[phase]] tables, so it is not a supernet recipe; "
                        f"choose one of: {', '.join(supernets)}")
    return parse_supernet_recipe(tomllib.loads(path.read_text()), str(path))



def with_size_mb(recipe: SupernetRecipe, size_mb: float) -> SupernetRecipe:
    """`--size-mb S`: the recipe with every mixed_search phase's target set to S megabytes (a new hash)."""
    raw = copy.deepcopy(recipe.raw)
    searches = [p for p in raw["phase"] if p.get("kind") == "mixed_search"]
    if not searches:
        raise UserError(f"recipe {recipe.name!r} has no mixed_search phase; --size-mb needs one (recipe 'mixed')")
    for p in searches:
        p["size_mb"] = float(size_mb)
    return parse_supernet_recipe(raw, recipe.name)


def with_student_layers(recipe: SupernetRecipe, k: int) -> SupernetRecipe:
    """`--student-layers K`: the recipe with every XTC phase's student set to K layers.

    Goes through the raw TOML data, so the recipe hash (and the run directory) changes with K.
    """
    raw = copy.deepcopy(recipe.raw)
    xtc = [p for p in raw["phase"] if p.get("kind") == "xtc"]
    if not xtc:
        raise UserError(f"recipe {recipe.name!r} has no XTC phase; --student-layers needs one")
    if k <= 0:
        raise UserError(f"--student-layers {k} must be a positive number of layers")
    for p in xtc:
        p["student_layers"] = k
    return parse_supernet_recipe(raw, recipe.name)
