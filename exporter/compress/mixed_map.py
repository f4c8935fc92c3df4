"""A mixed-precision model's bit map, as data and as text: what `dynaedge report` prints under a
mixed row and what the HTML report draws as a heat map.

    bit_map(model)      {"group_size", "word": [bits per row group], "layers": [{"q": [...], ...,
                         "heads": [0/1 per head]}]}: the argmax (or fixed) width of every group
    bit_summary(model)  per layer and Linear: mean bits over stored rows, heads and neurons kept
"""

import torch

from exporter.compress.mixed import PRUNED, is_mixed
from exporter.model.encoder import Encoder

LINEARS = ("q", "k", "v", "attn_out", "ffn_in", "ffn_out")


def bit_map(model: Encoder) -> dict:
    if not is_mixed(model):
        raise ValueError("bit_map needs a mixed-precision model")
    layers = []
    for layer in model.layers:
        entry = {name: getattr(layer, name).chosen_bits().tolist() for name in LINEARS}
        entry["heads"] = (layer.heads_arch.chosen_bits().tolist() if layer.heads_arch is not None
                          else [1] * layer.heads)
        layers.append(entry)
    return {"group_size": model.quant_spec.group_size, "word": model.word.chosen_bits().tolist(), "layers": layers}


def _mean_bits(bits: list[int], rows: int, group: int, keep_rows: torch.Tensor | None = None) -> float:
    """Mean width over a tensor's stored rows (pruned rows and rows of pruned heads excluded)."""
    per_row = torch.tensor(bits, dtype=torch.float32).repeat_interleave(group)[:rows]
    stored = per_row > 0 if keep_rows is None else (per_row > 0) & keep_rows
    return round(float(per_row[stored].mean()), 3) if bool(stored.any()) else 0.0


def bit_summary(model: Encoder) -> dict:
    """{"word": mean bits, "layers": [{"q": mean bits, ..., "heads_kept": n, "neurons_kept": n}],
    "groups": {bits: count over all Linear and word-table groups}}."""
    bmap = bit_map(model)
    g = bmap["group_size"]
    layers, counts = [], {}
    for layer, entry in zip(model.layers, bmap["layers"]):
        head_rows = torch.tensor(entry["heads"], dtype=torch.bool).repeat_interleave(layer.head_dim)
        row = {}
        for name in LINEARS:
            lin = getattr(layer, name)
            keep = head_rows if name in ("q", "k", "v") else None
            row[name] = _mean_bits(entry[name], lin.out_features, g, keep)
            for b in entry[name]:
                counts[b] = counts.get(b, 0) + 1
        row["heads_kept"] = sum(entry["heads"])
        neurons = torch.tensor(entry["ffn_in"]).repeat_interleave(g)[:layer.ffn_in.out_features]
        row["neurons_kept"] = int((neurons != PRUNED).sum())
        layers.append(row)
    for b in bmap["word"]:
        counts[b] = counts.get(b, 0) + 1
    return {"word": _mean_bits(bmap["word"], model.word.num_embeddings, g), "layers": layers,
            "groups": {str(b): n for b, n in sorted(counts.items())}}


def format_bits(summary: dict) -> str:
    """Plain text for `dynaedge report`: one line per layer."""
    lines = [f"  word table {summary['word']:.2f} bits; row groups of every tensor by width: "
             + ", ".join(f"{'pruned' if b == '0' else b + '-bit'} {n}" for b, n in summary["groups"].items())]
    for i, row in enumerate(summary["layers"]):
        bits = " ".join(f"{name} {row[name]:.1f}" for name in LINEARS)
        lines.append(f"  layer {i}: {bits} | heads {row['heads_kept']}, neurons {row['neurons_kept']}")
    return "\n".join(lines)
