"""Run the tiny supernet pipeline as one torchrun worker: `torchrun --nproc_per_node 2 THIS OUT [STOP_AFTER]`.

Used by test_torchrun.py; the teacher is the seeded tiny encoder with dropout off.
"""

import dataclasses
import os
import sys
from pathlib import Path

import torch

from exporter.compress import distributed
from exporter.compress.supernet import run_supernet
from exporter.compress.supernet_recipe import parse_supernet_recipe
from exporter.model.encoder import Encoder
from tests.conftest import TINY
from tests.exporter.compress.tiny_recipe import TINY_RECIPE, tiny_splits

CFG = dataclasses.replace(TINY, dropout=0.0)


def tiny_teacher() -> Encoder:
    torch.manual_seed(0)
    return Encoder(CFG).eval()


def tiny_recipe(width_steps: int | None = None):
    """The tiny recipe; `width_steps` lengthens the first phase so a test can kill it midway."""
    raw = {**TINY_RECIPE, "phase": [dict(p) for p in TINY_RECIPE["phase"]]}
    if width_steps:
        raw["phase"][0].update(steps=width_steps, checkpoint_every=5)
    return parse_supernet_recipe(raw, "tiny")


def main(out: str, stop_after: str | None) -> None:
    torch.set_num_threads(1)
    world = distributed.init_from_env()
    recipe = tiny_recipe(int(os.environ.get("TINY_WIDTH_STEPS", "0")) or None)
    result = run_supernet(tiny_teacher(), tiny_splits(CFG.vocab_size), recipe, Path(out), {"world": world.size},
                          stop_after=stop_after)
    if world.is_main:
        torch.save(result.model.state_dict(), Path(out) / f"final-{stop_after or 'all'}.pt")
    distributed.barrier()
    if world.size > 1:
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None)
