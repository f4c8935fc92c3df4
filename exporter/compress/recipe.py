"""Training recipes are data: recipes/<name>.toml parsed into a frozen TrainSpec."""

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from exporter.errors import UserError, unknown_choice

RECIPE_DIR = Path(__file__).parent / "recipes"


@dataclass(frozen=True)
class TrainSpec:
    name: str
    epochs: int = 2
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    seq_len: int = 64
    seed: int = 1234
    checkpoint_every: int = 50
    steps: int = 0      # > 0: train exactly this many steps (epochs then only bound the data order)
    batching: str = "padded"   # or "length-grouped" (batching.py; opt-in, see its docstring)
    matmul: str = "fp32"       # or "bf16": autocast where the CPU has native bfloat16 (matmul.py)

    def __post_init__(self):
        from exporter.compress.batching import BATCHING
        from exporter.compress.matmul import MATMUL

        if self.batching not in BATCHING:
            raise unknown_choice(f"recipe {self.name!r} batching", self.batching, BATCHING)
        if self.matmul not in MATMUL:
            raise unknown_choice(f"recipe {self.name!r} matmul", self.matmul, MATMUL)

    def to_dict(self) -> dict:
        d = asdict(self)
        # `steps` and `batching` came later: leaving their defaults out keeps the hash (and so the cached
        # teacher) of every recipe written before it unchanged.
        if d["steps"] == 0:
            del d["steps"]
        if d["batching"] == "padded":  # likewise
            del d["batching"]
        if d["matmul"] == "fp32":  # likewise
            del d["matmul"]
        return d

    @property
    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


def recipe_names() -> list[str]:
    return sorted(p.stem for p in RECIPE_DIR.glob("*.toml"))


def load_recipe(name: str) -> TrainSpec:
    path = RECIPE_DIR / f"{name}.toml"
    if not path.exists():
        raise unknown_choice("recipe", name, recipe_names())
    data = tomllib.loads(path.read_text())
    known = {f.name for f in fields(TrainSpec)}
    extra = set(data) - known
    if extra:
        raise UserError(f"{path}: unknown keys {sorted(extra)}; known: {sorted(known)}")
    return TrainSpec(**data)
