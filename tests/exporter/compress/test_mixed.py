"""Mixed precision (AQ-BERT) on the tiny model: quantizers, the size term, the fixed bit map,
pruning, bytes, and the search + fine-tune phases of a recipe."""

import copy

import pytest
import torch

from exporter.compress.mixed import (PRUNED, MixedSpec, arch_parameters, fix_bits, make_mixed, quantize_rows,
                                     set_temperature)
from exporter.compress.mixed_map import bit_map, bit_summary, format_bits
from exporter.compress.mixed_size import model_bytes, size_loss
from exporter.compress.quant import ternarize
from exporter.compress.table import subnet_bytes
from exporter.errors import UserError
from exporter.model.subnet import FULL
from tests.conftest import TINY

G = 8  # rows per group on the tiny model (hidden 32, head_dim 8, ffn 64)


def _ids(n=3, s=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, TINY.vocab_size, (n, s), generator=g)
    mask = torch.ones_like(ids)
    mask[0, 6:] = 0
    return ids, mask


def _mixed(model, **kw):
    return make_mixed(copy.deepcopy(model), MixedSpec(size_mb=0.05, group_size=G, **kw)).eval()


def _set_choice(module, group: int, bits: int, big: float = 10.0):
    with torch.no_grad():
        module.arch[group] = 0.0
        module.arch[group, module.choices.index(bits)] = big


def test_quantize_rows_levels_and_error():
    torch.manual_seed(0)
    w = torch.randn(16, 48)
    assert torch.equal(quantize_rows(w, 2), ternarize(w))
    assert torch.equal(quantize_rows(w, PRUNED), torch.zeros_like(w))
    for bits in (4, 8):
        q = quantize_rows(w, bits)
        qmax = 2 ** (bits - 1) - 1
        scale = w.abs().amax(1, keepdim=True) / qmax
        levels = (q / scale).round()
        assert levels.abs().max() <= qmax and max(len(torch.unique(r)) for r in levels) <= 2 * qmax + 1
        err = ((q - w).abs() / scale).max().item()
        print(f"{bits}-bit per-row error: {err:.3f} of a step")
        assert err <= 0.5 + 1e-4


@pytest.mark.parametrize("target_mb", [0.02, 0.2])
def test_size_term_gradient_moves_expected_size_toward_target(tiny_model, target_mb):
    model = _mixed(tiny_model)
    before = float(model_bytes(model))
    target = target_mb * 1e6
    archs = arch_parameters(model)
    for _ in range(5):
        loss = size_loss(model, target)
        grads = torch.autograd.grad(loss, archs, allow_unused=True)
        with torch.no_grad():
            for a, g in zip(archs, grads):
                if g is not None:
                    a -= 0.5 * g / (g.abs().max() + 1e-12)
    after = float(model_bytes(model))
    print(f"target {target:.0f} B: expected bytes {before:.0f} -> {after:.0f}")
    assert abs(after - target) < abs(before - target)
    assert (after < before) == (target < before)


def test_fixed_bit_map_is_the_argmax_and_computes_with_it(tiny_model):
    model = _mixed(tiny_model)
    torch.manual_seed(3)
    with torch.no_grad():
        for a in arch_parameters(model):
            a.normal_()
    want = {name: [m.choices[i] for i in m.arch.argmax(-1).tolist()]
            for name, m in model.named_modules() if hasattr(m, "arch")}
    fix_bits(model)
    got = {name: [m.choices[i] for i in m.choice.tolist()] for name, m in model.named_modules() if hasattr(m, "arch")}
    assert got == want and model.quant_spec.fixed
    bmap = bit_map(model)
    assert bmap["layers"][1]["ffn_in"] == want["layers.1.ffn_in"] and bmap["word"] == want["word"]
    # Each row computes with its group's width: effective weight == quantize_rows row by row.
    lin = model.layers[0].q
    lin.current = lin.probs()
    w = lin.effective_weight(lin.out_features, lin.in_features)
    bits = torch.tensor(want["layers.0.q"]).repeat_interleave(G)
    expect = torch.stack([quantize_rows(lin.weight[r:r + 1], int(bits[r]))[0] for r in range(lin.out_features)])
    diff = (w - expect).abs().max().item()
    print(f"fixed mixed weight vs per-row reference: max diff {diff:.2e}")
    assert diff <= 1e-6


def test_pruned_neurons_and_heads_contribute_nothing(tiny_model):
    model = _mixed(tiny_model)
    layer = model.layers[1]
    _set_choice(layer.ffn_in, 0, PRUNED)
    _set_choice(layer.heads_arch, 2, 0)
    fix_bits(model)
    ids, mask = _ids()
    base = model(ids, mask)
    with torch.no_grad():  # scramble everything that only the pruned units read or write
        layer.ffn_in.weight[:G].normal_()
        layer.ffn_in.bias[:G].normal_()
        layer.ffn_out.weight[:, :G].normal_()
        head = slice(2 * layer.head_dim, 3 * layer.head_dim)
        for lin in (layer.q, layer.k, layer.v):
            lin.weight[head].normal_()
            lin.bias[head].normal_()
        layer.attn_out.weight[:, head].normal_()
    diff = (model(ids, mask) - base).abs().max().item()
    print(f"logits change after scrambling pruned units: {diff:.2e}")
    assert diff == 0.0
    summary = bit_summary(model)
    assert summary["layers"][1]["neurons_kept"] == TINY.ffn - G and summary["layers"][1]["heads_kept"] == TINY.heads - 1
    assert "layer 1:" in format_bits(summary)


def test_bytes_match_the_table_at_uniform_widths_and_drop_pruned_units(tiny_model):
    for bits, precision in ((8, "int8"), (2, "ternary")):
        model = _mixed(tiny_model)
        for m in (m for m in model.modules() if hasattr(m, "arch")):
            for g in range(m.arch.shape[0]):
                _set_choice(m, g, 1 if m.choices == (1, 0) else bits)
        fix_bits(model)
        got, want = float(model_bytes(model)), subnet_bytes(TINY, FULL, precision)
        print(f"all {bits}-bit: {got:.0f} B, table {want} B")
        assert got == want
    # Pruning one FFN group of one layer drops its rows, biases and the next Linear's columns.
    before = float(model_bytes(model))
    layer = model.layers[0]
    layer.ffn_in.choice[0] = layer.ffn_in.choices.index(PRUNED)
    saved = float(before - model_bytes(model))
    expect = G * (TINY.hidden * 2 / 8 + 4 + 4) + TINY.hidden * G * 2 / 8
    assert saved == expect, (saved, expect)


def test_search_expected_bytes_approach_argmax_bytes_as_temperature_falls(tiny_model):
    model = _mixed(tiny_model)
    torch.manual_seed(1)
    with torch.no_grad():
        for a in arch_parameters(model):
            a.normal_(std=2.0)
            a.scatter_add_(1, a.argmax(1, keepdim=True), torch.ones(len(a), 1))  # no near-ties
    hard = float(model_bytes(fix_bits(copy.deepcopy(model))))
    gaps = []
    for tau in (1.0, 0.01):
        set_temperature(model, tau)
        gaps.append(abs(float(model_bytes(model)) - hard) / hard)
    print(f"expected vs argmax bytes at tau 1, 0.01: {[f'{g:.2e}' for g in gaps]}")
    assert gaps[0] > 0.01 and gaps[1] < 1e-6


def test_spec_errors_name_the_bad_value():
    with pytest.raises(UserError, match="--size-mb -1"):
        MixedSpec(size_mb=-1)
    with pytest.raises(UserError, match="choose distinct values among 2, 4, 8"):
        MixedSpec(size_mb=5, bits=(3, 8))


TINY_MIXED = {
    "name": "tiny-mixed", "teacher": "finetune", "seq_len": 16, "seed": 7, "importance_batches": 2,
    "batching": "length-grouped",
    "phase": [
        {"name": "search", "kind": "mixed_search", "report": "none", "size_mb": 0.035, "group_size": G,
         "steps": 4, "batch_size": 8, "learning_rate": 1e-3, "arch_learning_rate": 0.1, "checkpoint_every": 2,
         "loss": {"logits": 1.0, "hidden": 1.0, "attention": 0.1}},
        {"name": "mixed", "start": "search", "precision": "mixed", "report": "own", "variant": "mixed",
         "steps": 3, "batch_size": 8, "learning_rate": 1e-3, "loss": {"logits": 1.0, "hidden": 1.0}},
    ],
}


def test_recipe_search_then_fixed_fine_tune_reports_a_mixed_row(tiny_model, tmp_path):
    from exporter.compress.supernet import load_phase, run_supernet
    from exporter.compress.supernet_recipe import parse_supernet_recipe
    from tests.exporter.compress.tiny_recipe import tiny_splits

    recipe = parse_supernet_recipe(TINY_MIXED, "tiny-mixed")
    result = run_supernet(tiny_model, tiny_splits(), recipe, tmp_path / "run", {})
    (row,) = result.table["rows"]
    assert (row["precision"], row["variant"], row["width"], row["depth"]) == ("mixed", "mixed", 1.0, 1.0)
    searched, _ = load_phase(tmp_path / "run" / "search")
    final, meta = load_phase(tmp_path / "run" / "mixed")
    assert not searched.quant_spec.fixed and final.quant_spec.fixed and meta["quant"]["weights"] == "mixed"
    assert bit_map(final) == bit_map(searched), "the fine-tune keeps the search's argmax bit map"
    assert row["bytes"] == round(float(model_bytes(final))) and row["size_target_mb"] == 0.035
    assert row["bits"] == bit_summary(final)
    # The search moved the logits; the fine-tune did not touch them.
    moved = max(m.arch.abs().max().item() for m in searched.modules() if hasattr(m, "arch"))
    assert moved > 0.0 and all(torch.equal(a.arch, b.arch) for a, b in zip(
        (m for m in searched.modules() if hasattr(m, "arch")), (m for m in final.modules() if hasattr(m, "arch"))))
    print(f"tiny mixed: {row['bytes']} B (target 35000), dev {row['dev_accuracy']:.3f}, max |logit| {moved:.2f}")


def test_search_resumes_exactly(tiny_model, tmp_path):
    from exporter.compress.distill import LossWeights
    from exporter.compress.mixed_search import SearchLoss, SearchSpec, split_halves
    from exporter.compress.recipe import TrainSpec
    from exporter.compress.trainer import Batches, train
    from tests.exporter.compress.tiny_recipe import tiny_splits

    s = tiny_splits().train
    data = Batches(torch.from_numpy(s.ids), torch.from_numpy(s.mask), torch.from_numpy(s.labels))
    half, other = split_halves(data, 7)
    spec = TrainSpec(name="s", steps=4, batch_size=8, learning_rate=1e-3, seq_len=16, seed=7, checkpoint_every=2,
                     batching="length-grouped")

    def run(work, max_steps=None, model=None):
        model = model or _mixed(tiny_model)
        loss = SearchLoss(tiny_model, LossWeights(logits=1.0, hidden=1.0), other, SearchSpec(arch_learning_rate=0.1),
                          0.03, spec, 4, real_tokens=True)
        params = [p for n, p in model.named_parameters() if not n.endswith("arch")]
        return train(model, half, spec, loss, work, params=params, max_steps=max_steps)

    straight = run(tmp_path / "a")
    run(tmp_path / "b", max_steps=2)
    resumed = run(tmp_path / "b")
    a, b = straight.state_dict(), resumed.state_dict()
    diff = max((a[k].float() - b[k].float()).abs().max().item() for k in a)
    print(f"search resumed at step 2: max state diff {diff:.2e} over {len(a)} tensors")
    assert diff == 0.0 and any(k.endswith("arch_m") for k in a)


def test_recipe_rules_for_mixed_phases():
    from exporter.compress.supernet_recipe import load_supernet_recipe, parse_supernet_recipe, with_size_mb

    bad_start = {**TINY_MIXED, "phase": [{**TINY_MIXED["phase"][0], "start": "t"}]}
    bad_start["phase"] = [{"name": "t", "precision": "ternary", "loss": {"logits": 1.0}}, *bad_start["phase"]]
    with pytest.raises(UserError, match="a mixed_search starts from an fp32 phase"):
        parse_supernet_recipe(bad_start, "x")
    no_size = {**TINY_MIXED, "phase": [{k: v for k, v in TINY_MIXED["phase"][0].items() if k != "size_mb"}]}
    with pytest.raises(UserError, match="needs size_mb"):
        parse_supernet_recipe(no_size, "x")
    orphan = {**TINY_MIXED, "phase": [{"name": "m", "precision": "mixed", "loss": {"logits": 1.0}}]}
    with pytest.raises(UserError, match="precision 'mixed' fine-tunes the bit map of a mixed_search phase"):
        parse_supernet_recipe(orphan, "x")
    stray = {**TINY_MIXED, "phase": [{"name": "w", "size_mb": 3, "loss": {"logits": 1.0}}]}
    with pytest.raises(UserError, match=r"\['size_mb'\] belong to kind 'mixed_search'"):
        parse_supernet_recipe(stray, "x")
    recipe = parse_supernet_recipe(TINY_MIXED, "x")
    ten = with_size_mb(recipe, 10)
    assert ten.phases[0].mixed.size_mb == 10.0 and ten.sha256 != recipe.sha256
    with pytest.raises(UserError, match="recipe 'quick' has no mixed_search phase"):
        with_size_mb(load_supernet_recipe("quick"), 10)


def test_stock_pricing_stores_ternary_linears_as_4_bit_but_the_table_at_2(tiny_model):
    def uniform(bits, pricing):
        model = make_mixed(copy.deepcopy(tiny_model), MixedSpec(size_mb=0.05, group_size=G, pricing=pricing))
        for m in (m for m in model.modules() if hasattr(m, "arch")):
            for g in range(m.arch.shape[0]):
                _set_choice(m, g, 1 if m.choices == (1, 0) else bits)
        return float(model_bytes(fix_bits(model)))

    table_rows = TINY.vocab_size
    linear_2_to_4 = uniform(4, "packed") - uniform(2, "packed") - table_rows * TINY.hidden * 2 / 8
    print(f"tiny: packed 2-bit {uniform(2, 'packed'):.0f} B, stock 2-bit {uniform(2, 'stock'):.0f} B")
    assert uniform(2, "stock") == uniform(2, "packed") + linear_2_to_4
    assert uniform(8, "stock") == uniform(8, "packed")
    with pytest.raises(UserError, match="unknown mixed-precision pricing 'xnn'"):
        MixedSpec(size_mb=5, pricing="xnn")


def _random_fixed(tiny_model, seed=5, **kw):
    model = _mixed(tiny_model, **kw)
    torch.manual_seed(seed)
    with torch.no_grad():
        for a in arch_parameters(model):
            a.normal_()
        # every layer keeps at least one head and one FFN group (an all-pruned layer is not exportable)
        for layer in model.layers:
            layer.heads_arch.arch[0] = torch.tensor([5.0, -5.0])
            layer.ffn_in.arch[0, -1] = -5.0
    return fix_bits(model)


def test_freeze_mixed_computes_what_the_mixed_model_computes(tiny_model):
    from exporter.compress.freeze_mixed import SplitLinear, freeze_mixed, stored_bytes

    model = _random_fixed(tiny_model)
    frozen = freeze_mixed(model)
    ids, mask = _ids(4, 12)
    want, got = model(ids, mask), frozen(ids, mask)
    diff = (want - got).abs().max().item()
    summary = bit_summary(model)
    heads = [layer.heads for layer in frozen.layers]
    print(f"frozen mixed vs mixed: logits max diff {diff:.2e}; heads per layer {heads}; "
          f"stored {stored_bytes(frozen)} B vs bit map {float(model_bytes(model)):.0f} B")
    assert diff <= 1e-5
    assert heads == [row["heads_kept"] for row in summary["layers"]]
    assert [layer.ffn_in.out_features for layer in frozen.layers] == [row["neurons_kept"] for row in summary["layers"]]
    linears = [m for m in frozen.modules() if isinstance(m, SplitLinear)]
    assert any(m.order is not None for m in linears) and {s for m in linears for s in m.storages} == {"int8", "int4"}
    assert all(m.int4_codes.abs().max() <= 7 for m in linears if "int4" in m.storages)


def test_frozen_word_table_equals_the_mixed_rows(tiny_model):
    from exporter.compress.freeze_mixed import MixedWordTable

    model = _random_fixed(tiny_model, seed=9)
    table = MixedWordTable(model.word.weight, model.word.chosen_bits().repeat_interleave(G)[:TINY.vocab_size])
    ids = torch.arange(TINY.vocab_size)[None]
    diff = (table(ids) - model.word(ids)).abs().max().item()
    print(f"mixed word table: widths {table.widths}, max diff {diff:.2e}")
    assert len(table.widths) == 3 and diff <= 1e-6
