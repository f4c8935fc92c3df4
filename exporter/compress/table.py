"""The supernet's accuracy table: one row per (width, depth, precision[, variant]), dev and test.

Shape (DESIGN.md, `dynaedge report --json`): {"rows": [{"width", "depth", "precision",
"dev_accuracy", "test_accuracy", "bytes", ...}]}; we add "variant" (supernet, no-distill, xtc),
"phase" and "layers". Bytes count what an artifact of that slice stores: 2 or 8 bits per
quantized weight plus one fp32 scale per row (Linear weights and, when quantized, the word
embeddings), fp32 for everything else (biases, LayerNorms, position embeddings, the head).
"""

import math

import torch

from exporter.compress.finetune import Splits
from exporter.compress.mixed import is_mixed
from exporter.compress.mixed_size import model_bytes
from exporter.compress.quant import fixed_weights
from exporter.evaluate import accuracy, slice_logits
from exporter.model.config import EncoderConfig
from exporter.model.encoder import Encoder
from exporter.model.subnet import SubnetSpec

BITS = {"fp32": 32, "int8": 8, "ternary": 2}


def subnet_bytes(cfg: EncoderConfig, spec: SubnetSpec, precision: str, quantized_embeddings: bool = True) -> int:
    with torch.device("meta"):  # shapes only, no memory
        model = Encoder(cfg, spec)
    bits = BITS[precision]
    total = 0
    for name, p in model.named_parameters():
        linear = name.startswith("layers.") and name.endswith(".weight") and p.dim() == 2
        word = name == "word.weight" and quantized_embeddings
        if precision != "fp32" and (linear or word):
            total += math.ceil(p.numel() * bits / 8) + 4 * p.shape[0]
        else:
            total += 4 * p.numel()
    return total


@torch.no_grad()
def evaluate_rows(model: Encoder, splits: Splits, subnets: list[SubnetSpec], precision: str, variant: str,
                  phase: str, teacher_layers: int, quantized_embeddings: bool = True) -> list[dict]:
    """Rows for `subnets` of `model`: each slice's logits as `model.active = slice` gives them (equal
    to extracted models: tests). The depths of one width run together (Encoder.slice_logits):
    layer outputs they share are computed once, about 30 % less work on the 3-depth grid.
    A layer-reduced model (XTC) reports depth = its layers / the teacher's layers.
    """
    from tqdm import tqdm

    widths: dict[float, list[SubnetSpec]] = {}
    for sub in subnets:
        widths.setdefault(sub.width, []).append(sub)
    found: dict[SubnetSpec, tuple[float, float]] = {}
    layers = model.cfg.layers
    with tqdm(total=len(subnets), desc=f"evaluate {phase}", unit="subnet", dynamic_ncols=True) as bar:
        for group in widths.values():
            with fixed_weights(model):
                dev, test = (slice_logits(model, split.ids, split.mask, group) for split in (splits.dev, splits.test))
            for sub, d, t in zip(group, dev, test):
                found[sub] = accuracy(d, splits.dev.labels), accuracy(t, splits.test.labels)
            bar.update(len(group))
    rows = []
    for sub in subnets:
        kept = len(sub.kept_layers(layers))
        dev_acc, test_acc = found[sub]
        rows.append({"width": sub.width, "depth": round(kept / teacher_layers, 4), "precision": precision,
                     "dev_accuracy": dev_acc, "test_accuracy": test_acc,
                     "bytes": (round(float(model_bytes(model))) if is_mixed(model)
                               else subnet_bytes(model.cfg, sub, precision, quantized_embeddings)),
                     "variant": variant, "phase": phase, "layers": kept})
    return rows


def format_table(table: dict) -> str:
    """Plain-text rendering for `dynaedge report`."""
    head = f"{'variant':<11} {'prec':<8} {'width':>5} {'depth':>6} {'dev':>6} {'test':>6} {'MB':>7}"
    lines = [head, "-" * len(head)]
    for r in table["rows"]:
        precision = r["precision"] + ("*" if r.get("activations") == "dynamic" else "")
        lines.append(f"{r.get('variant', ''):<11} {precision:<8} {r['width']:>5g} {r['depth']:>6.3g} "
                     f"{100 * r['dev_accuracy']:>6.1f} {100 * r['test_accuracy']:>6.1f} {r['bytes'] / 1e6:>7.2f}")
        if "bits" in r:  # a mixed-precision row: its bit map per layer
            from exporter.compress.mixed_map import format_bits
            lines.append(f"  searched for {r['size_target_mb']:g} MB; mean bits per stored row:")
            lines.append(format_bits(r["bits"]))
    if any(r.get("activations") == "dynamic" for r in table["rows"]):
        lines.append("* simulated with activations quantized per token at run time, as the dynamic int8 and "
                     "stock-runtime ternary files run (exporter/compress/ptq.py)")
    return "\n".join(lines)


