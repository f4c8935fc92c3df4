"""Mixed-precision models (exporter/compress/freeze_mixed.py) as a .tflite stock LiteRT runs: every
stored Linear part a dynamic-range FULLY_CONNECTED, 8-bit rows with per-channel int8 weights and
4-bit and ternary rows (codes {-7, 0, 7}) with per-channel int4 weights, activations quantized per
row inside the op. Option ternary_rows="op" (variant mixed-op) puts the ternary rows in a part of
their own, rewritten to our DYNAEDGE_TERNARY_FC (2 bits per weight; backends/tflite/ternary).

    lowered = lower_mixed_tflite(frozen, spec)     # backends.base.Lowered

How: litert-torch converts an fp32 form of the frozen model (`tflite_form`: each part's weight
codes x scale as one float constant, no simulated input quantization, since the FC quantizes its
input itself), then `restore_parts` finds each part's FULLY_CONNECTED by its values and, where the
converter folded the preceding LayerNorm's gamma and beta into the FC, points it back at the
LayerNorm's output with the part's exact weight and bias (so it rounds the input PyTorch rounds),
and ai-edge-quantizer stores each FC at its part's width. Its symmetric per-channel scale is
max|w_n| / qmax, and every stored row reaches its qmax (127, or 7 for 4-bit and ternary rows), so
the codes come back exactly.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from backends.base import Lowered, is_split_linear
from backends.lengths import bucket_lengths
from backends.tflite.ternary.tflite_graph import constant, load_model, op_name, save_model, tensor_type_name

QUANTIZED_TYPE = {"int8": "INT8", "int4": "INT4"}
TERNARY_ROWS = ("int4", "op")  # ternary Linear rows: as 4-bit codes {-7, 0, 7}, or in DYNAEDGE_TERNARY_FC
UINT8_OFFSET = 128  # litert-torch's MLIR refuses unsigned constants: uint8 tables are stored as byte - 128


def _scheme(ternary_rows: str) -> str:
    if ternary_rows == "op":
        rows = ("8-bit (per-channel int8) or 4-bit (per-channel int4) weights in dynamic-range FULLY_CONNECTED ops, "
                "ternary rows at 2 bits in DYNAEDGE_TERNARY_FC (activations quantized per row at run time)")
        runtime = "LiteRT + DYNAEDGE_TERNARY_FC"
    else:
        rows = ("8-bit (per-channel int8) or 4-bit / ternary (per-channel int4 codes) weights in dynamic-range "
                "FULLY_CONNECTED ops (activations quantized per row at run time)")
        runtime = "stock LiteRT"
    return (f"mixed precision: per group of rows {rows}, pruned heads and neurons removed; word table rows at 8, 4 "
            f"or 2 bits unpacked by gathers; {runtime}")


@dataclass(frozen=True)
class Part:
    """One stored part of a Linear: its storage ("int8" | "int4" | "ternary"), exact float weight
    [N, K] and bias [N]."""

    storage: str
    weight: np.ndarray
    bias: np.ndarray


def tflite_form(frozen: torch.nn.Module, ternary_rows: str = "int4") -> tuple[torch.nn.Module, list[Part]]:
    """A copy of a frozen mixed model that litert-torch converts, and its Linear parts in module order.
    ternary_rows "op": a Linear's 4-bit-stored rows whose codes are all in {-7, 0, 7} become a part
    of their own, storage "ternary" (for DYNAEDGE_TERNARY_FC)."""
    if ternary_rows not in TERNARY_ROWS:
        from exporter.errors import unknown_choice

        raise unknown_choice("ternary_rows", ternary_rows, TERNARY_ROWS)
    model = copy.deepcopy(frozen).eval()
    parts = []
    for module in model.modules():
        if is_split_linear(module):
            if ternary_rows == "op":
                _ternary_part(module)
            for storage in module.storages:
                weight = module.part_weight(storage).detach().to(torch.float32)
                module.register_buffer(f"{storage}_weight", weight)
                bias = getattr(module, f"{storage}_bias").detach().to(torch.float32).numpy()
                parts.append(Part(storage, weight.numpy(), bias))
            module.__class__ = _float_weights(type(module))
        elif isinstance(getattr(module, "slot", None), torch.Tensor) and hasattr(module, "widths"):
            module.__class__ = _indexed_table(type(module))
        elif getattr(module, "packed", None) is not None and module.packed.dtype == torch.uint8:
            module.packed = (module.packed.to(torch.int32) - UINT8_OFFSET).to(torch.int8)
            module.__class__ = _signed_bytes(type(module))
    if not parts:
        raise ValueError("no SplitLinear found; lower a frozen mixed model (freeze_mixed)")
    return model, parts


def _ternary_part(linear) -> None:
    """Move a SplitLinear's 4-bit-stored rows with codes in {-7, 0, 7} (ternary rows: codes 7t, scale
    alpha / 7) into a third part "ternary" (codes t, scale alpha): the same values, exactly (7 x s in
    both), and the output order kept by re-deriving `order`."""
    if "int4" not in linear.storages:
        return
    codes = linear.int4_codes
    ternary = ((codes == 0) | (codes.abs() == 7)).all(-1)
    if not ternary.any():
        return
    # stacked position of every stored row, before: int8 rows, then int4 rows
    sizes = {s: len(getattr(linear, f"{s}_codes")) for s in linear.storages}
    before = torch.arange(sum(sizes.values()))
    start = sizes.get("int8", 0)
    int4_rows = before[start:start + sizes["int4"]]
    after = torch.cat([before[:start], int4_rows[~ternary], int4_rows[ternary]])  # new stack, old positions
    linear.register_buffer("ternary_codes", (codes[ternary] // 7).contiguous())
    linear.register_buffer("ternary_scale", (linear.int4_scale[ternary] * 7).contiguous())
    linear.register_buffer("ternary_bias", linear.int4_bias[ternary].clone())
    for name in ("codes", "scale", "bias"):
        setattr(linear, f"int4_{name}", getattr(linear, f"int4_{name}")[~ternary].contiguous())
    if ternary.all():  # no 4-bit row left
        linear.storages.remove("int4")
        for name in ("codes", "scale", "bias"):
            delattr(linear, f"int4_{name}")
    linear.storages.append("ternary")
    old_order = linear.order if linear.order is not None else torch.arange(len(before))
    where = torch.empty_like(after)
    where[after] = torch.arange(len(after))       # old stacked position -> new stacked position
    order = where[old_order]
    linear.order = None if torch.equal(order, torch.arange(len(order))) else order


def _float_weights(cls: type) -> type:
    class FloatSplitLinear(cls):
        def part_weight(self, storage: str):
            # one float constant: codes x scale in the graph would stay a CAST and MUL (the converter
            # folds no constant this large), and the quantizer needs a float weight to quantize
            return getattr(self, f"{storage}_weight")

        def quantize_input(self, x):
            return x  # the dynamic-range FULLY_CONNECTED quantizes each row of its input itself

    return FloatSplitLinear


def _signed_bytes(cls: type) -> type:
    class SignedBytesTable(cls):
        def forward(self, ids):
            rows = F.embedding(ids, self.packed).to(torch.int64) + UINT8_OFFSET
            unpacked = F.embedding(rows, self.values).reshape(*ids.shape, -1)[..., :self.embedding_dim]
            return unpacked * F.embedding(ids, self.scale)

    return SignedBytesTable


def _indexed_table(cls: type) -> type:
    class IndexedWordTable(cls):
        """The mixed word table with its slot and width arrays read by GATHER: TFLite's
        EMBEDDING_LOOKUP refuses an int32 table and EQUAL an int8 operand."""

        def slot_of(self, ids):
            return self.slot[ids].to(torch.int64)

        def width_of(self, ids):
            return self.width[ids][..., None].to(torch.int32)

    return IndexedWordTable


def column_scale(converted: np.ndarray, weight: np.ndarray, rtol: float = 1e-5) -> np.ndarray | None:
    """g [K] with converted == weight * g (the converter's fold of a MUL into the columns), or None.
    A column that is zero in `weight` gets g = 1."""
    if converted.shape != weight.shape:
        return None
    support = weight != 0
    if np.any(converted[~support] != 0):
        return None
    ratio = np.full(weight.shape, np.nan)
    np.divide(converted, weight, out=ratio, where=support)
    has = support.any(0)
    g = np.ones(weight.shape[1])
    if has.any():
        g[has] = np.nanmedian(ratio[:, has], axis=0)
    fit = weight.astype(np.float64) * g[None, :]
    if not np.all(np.abs(converted - fit) <= rtol * np.abs(fit) + 1e-30):
        return None
    return g.astype(np.float32)


def restore_parts(data: bytes, parts: list[Part]) -> tuple[bytes, dict[str, list[str]]]:
    """Each part's FULLY_CONNECTED, in every graph (one per length bucket, weights shared), with the
    part's exact weight. Where the converter folded the preceding LayerNorm's gamma into the columns
    and its beta into the bias, the FC reads the LayerNorm's output again (the tensor the PyTorch
    model quantizes: the FC's own per-row rounding then matches it) with the part's own bias; where
    that output is not found, a MUL by the column scale goes in front instead. Returns the
    flatbuffer and the ops' scopes per storage. Raises naming the parts a graph has no FC for."""
    from ai_edge_litert import schema_py_generated as schema

    from backends.tflite.ternary.int4_fc import _scope
    from backends.tflite.ternary.rewrite import _scale_input

    model = load_model(data)
    # every graph matched before any shared weight buffer is rewritten
    found = [(graph, _match(model, graph, parts)) for graph in model.subgraphs]
    scopes = {s: set() for s in (*QUANTIZED_TYPE, "ternary")}
    for graph, matches in found:
        operators = []
        for op in graph.operators:
            operators.append(op)
            if id(op) not in matches:
                continue
            part, g, unfolded = matches[id(op)]
            if unfolded is not None:
                op.inputs = np.array([unfolded] + list(op.inputs[1:]), dtype=np.int32)
                bias = graph.tensors[op.inputs[2]]
                model.buffers[bias.buffer].data = np.frombuffer(part.bias.astype("<f4").tobytes(), dtype=np.uint8)
            elif g is not None:
                operators.insert(len(operators) - 1, _scale_input(model, graph, op, g, schema))
                for tensor in graph.tensors[-2:]:  # the quantizer wants unique names; q, k, v share their input
                    tensor.name += f"/op{len(operators)}".encode()
            weight = graph.tensors[op.inputs[1]]
            model.buffers[weight.buffer].data = np.frombuffer(part.weight.astype("<f4").tobytes(), dtype=np.uint8)
            scopes[part.storage].add(_scope(op, graph.tensors))
        graph.operators = operators
    return save_model(model), {s: sorted(v) for s, v in scopes.items()}


def _match(model, graph, parts: list[Part]) -> dict[int, tuple[Part, np.ndarray | None, int | None]]:
    """id(FC op) -> (its part, column scale folded into it or None, the unfolded input tensor or None),
    one FC per part."""
    readers: dict[int, list] = {}
    for other in graph.operators:
        for t in other.inputs:
            readers.setdefault(int(t), []).append(other)
    left = list(range(len(parts)))
    matches = {}
    for index, op in enumerate(graph.operators):
        if op_name(model, op) != "FULLY_CONNECTED":
            continue
        w = constant(model, graph, op.inputs[1])
        if w is None or w.dtype != np.float32:
            continue
        for j in left:
            g = column_scale(w, parts[j].weight)
            if g is None:
                continue
            left.remove(j)
            if sum(1 for t in graph.tensors if t.buffer == graph.tensors[op.inputs[1]].buffer) > 1:
                raise RuntimeError(f"op {index}: a mixed Linear part's weight buffer is shared with another tensor")
            g = None if np.allclose(g, 1.0, rtol=1e-6, atol=0) else g
            matches[id(op)] = (parts[j], g, None if g is None else _unfolded_input(model, graph, op, g, readers))
            break
    if left:
        shapes = ", ".join(f"{parts[j].storage} {parts[j].weight.shape}" for j in left)
        raise RuntimeError(f"{len(left)} of {len(parts)} mixed Linear parts have no FULLY_CONNECTED in the converted "
                           f"graph ({shapes}); the converter changed their weights beyond a column scale")
    return matches


def _unfolded_input(model, graph, fc, g: np.ndarray, readers: dict) -> int | None:
    """The tensor ADD(MUL(x, g), beta) when the FC reads x and a MUL by g (the gamma the converter
    folded) feeds an ADD of a constant (beta, folded into the FC's bias): the LayerNorm's output."""
    if len(fc.inputs) < 3 or fc.inputs[2] < 0 or constant(model, graph, fc.inputs[2]) is None:
        return None
    x = int(fc.inputs[0])
    for mul in readers.get(x, []):
        if op_name(model, mul) != "MUL" or len(mul.inputs) != 2:
            continue
        other = int(mul.inputs[1] if int(mul.inputs[0]) == x else mul.inputs[0])
        scale = constant(model, graph, other)
        if scale is None or scale.size != g.size or not np.allclose(scale.reshape(-1), g, rtol=1e-5, atol=0):
            continue
        for add in readers.get(int(mul.outputs[0]), []):
            if op_name(model, add) == "ADD" and all(constant(model, graph, int(t)) is not None or
                                                    int(t) == int(mul.outputs[0]) for t in add.inputs):
                if add.builtinOptions is None or add.builtinOptions.fusedActivationFunction == 0:
                    return int(add.outputs[0])
    return None


def quantize_parts(data: bytes, scopes: dict[str, list[str]]) -> bytes:
    """Each part's FC as dynamic-range with per-channel weights of its storage's width (one recipe)."""
    from ai_edge_quantizer import qtyping, recipe

    from backends.tflite.backend import apply_quantizer_recipe

    fc = qtyping.TFLOperationName.FULLY_CONNECTED
    rules = []
    for storage, make in (("int8", recipe.dynamic_wi8c_afp32), ("int4", recipe.dynamic_wi4c_afp32)):
        if scopes[storage]:
            regex = "^(?:" + "|".join(re.escape(s) for s in sorted(set(scopes[storage]))) + ")$"
            rules += make(regex=regex, operation_name=fc)
    return apply_quantizer_recipe(data, rules)


def quantized_fc_counts(data: bytes) -> dict[str, int]:
    """FULLY_CONNECTED ops per weight storage ("int8" / "int4") in a .tflite."""
    model = load_model(data)
    names = [tensor_type_name(graph.tensors[op.inputs[1]]) for graph in model.subgraphs for op in graph.operators
             if op_name(model, op) == "FULLY_CONNECTED"]
    return {s: names.count(t) for s, t in QUANTIZED_TYPE.items()}


def lower_mixed_tflite(frozen: torch.nn.Module, spec) -> Lowered:
    """The .tflite of a frozen mixed model. Stock (option ternary_rows "int4"): one graph per length
    bucket of spec.seq_len. "op": ternary rows in DYNAEDGE_TERNARY_FC, one fixed-length graph (the
    rewrite pass works on one graph). Raises if any part did not end as an op of its storage."""
    import litert_torch

    from backends.tflite.inspect import op_counts
    from backends.tflite.lengths import convert_buckets
    from backends.tflite.ternary.rewrite import rewrite_ternary_fc

    ternary_rows = spec.option("ternary_rows", "int4")
    bucketed = ternary_rows == "int4"
    model, parts = tflite_form(frozen, ternary_rows)
    converted = (convert_buckets(model, spec) if bucketed
                 else litert_torch.convert(model, spec.example_inputs()).model_content())
    restored, scopes = restore_parts(converted, parts)
    graphs = len(load_model(restored).subgraphs)
    want = {s: graphs * sum(1 for p in parts if p.storage == s) for s in (*QUANTIZED_TYPE, "ternary")}
    if want["ternary"]:
        rewritten = rewrite_ternary_fc(restored)
        if rewritten.replaced != want["ternary"]:
            raise RuntimeError(f"the rewrite put {rewritten.replaced} of {want['ternary']} ternary parts in "
                               f"DYNAEDGE_TERNARY_FC ({'; '.join(rewritten.kept[:3])})")
        restored = rewritten.data
    data = quantize_parts(restored, scopes)
    found = quantized_fc_counts(data) | {"ternary": want["ternary"]}
    if found != want:
        raise RuntimeError(f"ai-edge-quantizer stored {found} of {want} mixed Linear parts (int8 / int4 weights)")
    return Lowered(data, "tflite", "mixed", _scheme(ternary_rows), op_counts(data),
                   max_len=spec.seq_len if bucketed else None, buckets=bucket_lengths(spec.seq_len) if bucketed else ())
