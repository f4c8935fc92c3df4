"""Mixed precision on stock LiteRT: a tiny fixed mixed model -> freeze_mixed -> dynamic-range int8 and
int4 FULLY_CONNECTED parts in one graph per length bucket -> .tflite -> the interpreter -> compared
with the frozen eager model; the parts' codes come back exactly and the file holds no custom op."""

import numpy as np
import pytest
import torch

from backends.registry import get_backend
from backends.tflite.mixed import column_scale, quantized_fc_counts, tflite_form
from backends.tflite.ternary.tflite_graph import constant, load_model, op_name
from exporter.compress.freeze_mixed import SplitLinear, freeze_mixed, stored_bytes
from tests.backends.lowering import lower_and_compare
from tests.exporter.compress.test_mixed import _random_fixed


@pytest.fixture(scope="module")
def frozen(tiny_model):
    return freeze_mixed(_random_fixed(tiny_model))


@pytest.fixture(scope="module")
def tiny_model():
    from tests.conftest import TINY
    from exporter.model.encoder import Encoder

    torch.manual_seed(0)
    model = Encoder(TINY).eval()
    with torch.no_grad():  # random LayerNorm affine params: the converter folds gamma into the next FC
        for name, p in model.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def test_mixed_tflite_runs_on_stock_litert(frozen, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    lowered, parity, scale = lower_and_compare(get_backend("tflite"), frozen, ids, mask, "mixed", tmp_path)
    parts = {s: sum(s in m.storages for m in frozen.modules() if isinstance(m, SplitLinear)) for s in ("int8", "int4")}
    graphs = len(load_model(lowered.data).subgraphs)
    figures = (f"mixed .tflite: SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e} on logits of scale "
               f"{scale:.2e}, agreement {parity.label_agreement:.3f}, parts {parts} x {graphs} graphs, "
               f"{len(lowered.data)} B (frozen model stores {stored_bytes(frozen)} B)")
    print("\n" + figures)
    assert b"DYNAEDGE_TERNARY_FC" not in lowered.data
    assert parts["int8"] > 0 and parts["int4"] > 0
    assert graphs == len(lowered.buckets) > 1 and lowered.max_len == ids.shape[1]
    assert quantized_fc_counts(lowered.data) == {s: n * graphs for s, n in parts.items()}
    # Each FC reads the LayerNorm output the eager model quantizes (restore_parts undoes the converter's
    # gamma / beta fold): LiteRT's per-row rounding then meets the eager per-token one (52.5 dB while
    # the FCs read the un-normalized input behind a MUL by gamma)
    assert parity.sqnr_db >= 70, figures
    assert parity.label_agreement == 1.0, figures
    assert b"dynaedge_column_scale" not in lowered.data  # no MUL put back: every fold was undone
    _every_part_keeps_its_codes(frozen, lowered.data)


def _every_part_keeps_its_codes(frozen, data: bytes):
    """Each quantized FC holds a part's codes exactly, with the part's scale (up to float rounding)."""
    want = [(getattr(m, f"{s}_codes").numpy(), getattr(m, f"{s}_scale").numpy())
            for m in frozen.modules() if isinstance(m, SplitLinear) for s in m.storages]
    model = load_model(data)
    graph = model.subgraphs[0]
    got = []
    for op in graph.operators:
        if op_name(model, op) == "FULLY_CONNECTED":
            tensor = graph.tensors[op.inputs[1]]
            if tensor.quantization is not None and tensor.quantization.scale is not None:
                got.append((constant(model, graph, op.inputs[1]), np.asarray(tensor.quantization.scale)))
    worst = 0.0
    for codes, scale in want:
        (match,) = [(c, s) for c, s in got if c.shape == codes.shape and np.array_equal(c, codes)]
        worst = max(worst, float(np.max(np.abs(match[1] / scale - 1))))
    print(f"\n{len(want)} parts, codes identical, worst relative scale difference {worst:.1e}")
    assert worst <= 1e-6


def test_column_scale_finds_the_converters_fold_and_nothing_else():
    rng = np.random.default_rng(0)
    weight = (rng.integers(-7, 8, (6, 5)) * rng.uniform(0.1, 1, (6, 1))).astype(np.float32)
    weight[:, 2] = 0  # a column the part never reads: no scale to find, g = 1
    g = rng.uniform(0.5, 2, 5).astype(np.float32)
    folded = weight * g
    found = column_scale(folded, weight)
    assert found is not None and np.allclose(found[[0, 1, 3, 4]], g[[0, 1, 3, 4]], rtol=1e-6) and found[2] == 1
    assert np.array_equal(column_scale(weight, weight), np.ones(5, np.float32))
    other = folded.copy()
    other[0, 0] *= 1.01  # not a column scale
    assert column_scale(other, weight) is None
    other = folded.copy()
    other[1, 2] = 0.5  # a value where the part has a zero
    assert column_scale(other, weight) is None
    assert column_scale(folded[:, :4], weight) is None


def test_the_tflite_form_computes_the_frozen_model_without_input_rounding(frozen, tiny_inputs):
    """What litert-torch converts: the frozen model with each part's input left in float (the FC
    quantizes it) and its integer tables in forms the converter takes (signed bytes, GATHERs)."""
    ids, mask = (torch.from_numpy(x) for x in tiny_inputs)
    form, parts = tflite_form(frozen)
    assert all(b.dtype != torch.uint8 for b in form.buffers())
    with torch.no_grad():
        plain = frozen.__class__.forward  # same graph with float part inputs, by hand:
        for m in frozen.modules():
            if isinstance(m, SplitLinear):
                m.quantize_input = lambda x: x
        try:
            want = plain(frozen, ids, mask)
        finally:
            for m in frozen.modules():
                if isinstance(m, SplitLinear):
                    del m.quantize_input
        diff = (form(ids, mask) - want).abs().max().item()
    print(f"\ntflite form vs frozen model with float inputs: max diff {diff:.1e}; {len(parts)} parts")
    assert diff == 0.0


def test_ternary_rows_in_our_op(frozen, tiny_inputs, tmp_path):
    """Variant mixed-op: the 4-bit-stored rows with codes in {-7, 0, 7} become DYNAEDGE_TERNARY_FC
    nodes (run through LiteRT's C API with the kernel registered), the rest as in the stock file."""
    from backends.tflite.ternary.runner import LiteRtTernaryRunner

    ids, mask = tiny_inputs
    form, parts = tflite_form(frozen, "op")
    ternary = [p for p in parts if p.storage == "ternary"]
    assert ternary and all(set(np.unique(np.abs(p.weight) / np.abs(p.weight).max(1, keepdims=True))) <= {0.0, 1.0}
                           for p in ternary)
    with torch.no_grad():  # the split changes no value and no output position (GEMM blocking may round apart)
        inputs = [torch.from_numpy(x) for x in tiny_inputs]
        diff = (form(*inputs) - tflite_form(frozen)[0](*inputs)).abs().max().item()
    assert diff <= 1e-6
    lowered, parity, scale = lower_and_compare(get_backend("tflite"), frozen, ids, mask, "mixed", tmp_path,
                                               options=(("ternary_rows", "op"),))
    runner = get_backend("tflite").load(tmp_path / "model-mixed.tflite")
    print(f"\nmixed-op .tflite: {len(ternary)} ternary parts (form vs stock form {diff:.1e}), SQNR {parity.sqnr_db:.1f} dB, agreement "
          f"{parity.label_agreement:.3f}, {len(lowered.data)} B")
    assert isinstance(runner, LiteRtTernaryRunner) and lowered.buckets == () and lowered.max_len is None
    assert lowered.delegates.get("tflite:DYNAEDGE_TERNARY_FC") == len(ternary)
    assert parity.sqnr_db >= 35 and parity.label_agreement == 1.0


def test_parts_larger_than_the_converters_fold_limit(tiny_inputs):
    """One MiniLM-wide layer: parts of 100k+ weights, which litert-torch would leave as CAST and MUL of
    the int8 codes (it folds no constant over 65,536 elements) unless each is one float constant;
    restore_parts raises when a part has no FULLY_CONNECTED with its values."""
    from dataclasses import replace

    import litert_torch

    from backends.tflite.mixed import restore_parts
    from exporter.model.encoder import Encoder
    from tests.conftest import TINY

    torch.manual_seed(0)
    wide = freeze_mixed(_random_fixed(Encoder(replace(TINY, hidden=384, heads=12, ffn=1536, layers=1)).eval()))
    form, parts = tflite_form(wide)
    example = tuple(torch.from_numpy(x[:1]) for x in tiny_inputs)
    _, scopes = restore_parts(litert_torch.convert(form, example).model_content(), parts)
    largest = max(p.weight.size for p in parts)
    print(f"\nwide layer: {len(parts)} parts, the largest {largest} weights, each found in the converted graph")
    assert largest > 65_536 and sum(len(v) for v in scopes.values()) == len(parts)
