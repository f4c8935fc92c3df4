"""The mixed-precision models an export may choose among (`dynaedge export --mixed-mb 9.5,13`): one
run of recipe `mixed` per size (compress/mixed.py: bits per group of rows searched to that size, then
QAT at the fixed bit map), trained or reused, as selector rows and as the models their files come from.

    runs = mixed_runs(inputs, (9.5, 13.0))     # trains what is not cached (~14 min per size on 2 cores)
    rows = [r.row for r in runs]                # the selector's candidates (exporter/devices/selector.py)

A row is the run's table row plus what the selector needs to price it without loading the model:
"size_mb" (which run: rows, jobs and manifest entries are keyed by it), "run" (its directory name) and
"shape" (kept heads and FFN neurons per layer, the bytes its Linear weights are stored in and how
many of them are 4-bit codes: exporter/devices/features.shaped_work). Its dev accuracy is that of the fine-tuned model, which
quantizes every Linear input per token as the .pte does ("activations": "dynamic").
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from exporter.errors import UserError

log = logging.getLogger("dynaedge")
RECIPE = "mixed"
PHASE = "mixed"   # the recipe's last phase: QAT at the searched bit map


@dataclass(frozen=True)
class MixedRun:
    size_mb: float
    run_dir: Path
    row: dict
    frozen: object   # the fine-tuned model in export form (freeze_mixed): what its file is lowered from


def check_sizes(sizes: tuple[float, ...]) -> None:
    for s in sizes:
        if not 0 < s < 1000:
            raise UserError(f"--mixed-mb {s:g} is not a model size in MB; give sizes such as 9.5,13 (between the "
                            f"ternary model's ~7 MB and the int8 model's ~23 MB for MiniLM)")
    if len(set(sizes)) != len(sizes):
        raise UserError(f"--mixed-mb lists a size twice: {','.join(f'{s:g}' for s in sizes)}")


def mixed_runs(inputs, sizes: tuple[float, ...]) -> tuple[MixedRun, ...]:
    """Each size's run of recipe `mixed`, trained now unless a finished one is cached."""
    from exporter.compress.supernet import train_supernet

    out = []
    for size in sizes:
        log.info("mixed-precision model of %g MB (recipe %s, trained once and cached)", size, RECIPE)
        result = train_supernet(inputs, RECIPE, size_mb=size)
        frozen = frozen_model(result.checkpoint_dir)
        out.append(MixedRun(size, result.checkpoint_dir, mixed_row(result.checkpoint_dir, result.table, size, frozen),
                            frozen))
    return tuple(out)


def mixed_row(run_dir: Path, table: dict, size_mb: float, frozen=None) -> dict:
    """The run's selector row; `frozen`: its frozen_model if already built."""
    (row,) = [r for r in table["rows"] if r.get("phase") == PHASE]
    return {**row, "size_mb": size_mb, "run": Path(run_dir).name, "activations": "dynamic",
            "shape": frozen_shape(frozen if frozen is not None else frozen_model(run_dir))}


def frozen_model(run_dir: Path):
    """The run's fine-tuned model in export form (freeze_mixed)."""
    from exporter.compress.freeze_mixed import freeze_mixed

    return freeze_mixed(load_mixed(run_dir))


def load_mixed(run_dir: Path):
    from exporter.compress.supernet import load_phase

    return load_phase(Path(run_dir) / PHASE)[0].eval()


def frozen_shape(frozen) -> dict:
    """Kept heads and neurons per layer, the bytes of the stored Linear codes (int4: half a byte) and
    their scales, and the number of 4-bit codes, of a frozen mixed model (freeze_mixed)."""
    from exporter.compress.freeze_mixed import SplitLinear, code_bytes

    linear_bytes = int4_weights = 0
    for module in frozen.modules():
        if isinstance(module, SplitLinear):
            for storage in module.storages:
                codes = getattr(module, f"{storage}_codes")
                linear_bytes += code_bytes(storage, codes) + 4 * len(codes)
                int4_weights += codes.numel() if storage == "int4" else 0
    return {"heads": [layer.heads for layer in frozen.layers],
            "neurons": [layer.ffn_in.out_features for layer in frozen.layers], "linear_bytes": linear_bytes,
            "int4_weights": int4_weights}
