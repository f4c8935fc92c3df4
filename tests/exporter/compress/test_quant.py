"""Ternary / int8 weights, 8-bit activations, STE gradients, slicing and export of a quantized model."""

import numpy as np
import pytest
import torch

from exporter.compress.freeze import activation_scales, freeze_ternary
from exporter.compress.quant import (QMAX, ActQuant, QuantSpec, attach_lat, bake_lat, extract_quantized, fake_act,
                                     fake_weight, fixed_weights, int8_rows, quantize_model, ternarize)
from exporter.errors import UserError
from exporter.model.encoder import SliceLinear
from exporter.model.subnet import SubnetSpec


def _distinct_per_row(w: torch.Tensor) -> int:
    return max(len(torch.unique(row)) for row in w)


def _is_ternary_rows(w: np.ndarray, rtol: float = 1e-6) -> bool:
    a = np.abs(w)
    top = a.max(axis=1, keepdims=True)
    return bool(np.all((a == 0) | (np.abs(a - top) <= rtol * top)))


def test_twn_rule_per_row():
    torch.manual_seed(0)
    w = torch.randn(8, 40)
    t = ternarize(w)
    assert _distinct_per_row(t) <= 3
    row = w[3]
    delta = 0.7 * row.abs().mean()
    kept = row.abs() > delta
    alpha = row.abs()[kept].mean()
    expect = torch.sign(row) * kept * alpha
    diff = (t[3] - expect).abs().max().item()
    assert diff <= 1e-6, f"TWN row differs from the rule by {diff:.2e}"


def test_ste_passes_gradients():
    torch.manual_seed(0)
    w = torch.randn(6, 10, requires_grad=True)
    g = torch.randn(6, 10)
    for kind in ("ternary", "int8"):
        w.grad = None
        (fake_weight(w, kind) * g).sum().backward()
        assert torch.equal(w.grad, g), f"{kind}: STE gradient is not the identity"


def test_int8_rows_error_bounded():
    torch.manual_seed(0)
    w = torch.randn(5, 64)
    q = int8_rows(w)
    scale = w.abs().amax(1, keepdim=True) / QMAX
    err = ((q - w).abs() / scale).max().item()
    print(f"int8 weight error: {err:.3f} steps")
    assert err <= 0.5 + 1e-4 and _distinct_per_row(q) <= 255


def test_activation_quant_error_and_clipped_ste():
    torch.manual_seed(0)
    x = (3 * torch.randn(1000)).requires_grad_(True)
    bound = torch.tensor(4.0)
    y = fake_act(x, bound)
    inside = x.detach().abs() <= bound
    err = (y - x)[inside].abs().max().item()
    step = 4.0 / QMAX
    print(f"activation quant max error inside range: {err:.2e} (half step {step / 2:.2e})")
    assert err <= step / 2 + 1e-6
    assert (y.detach().abs() <= bound + 1e-6).all()
    y.sum().backward()
    assert torch.equal(x.grad, inside.float()), "STE: gradient 1 inside the range, 0 outside"


def test_act_range_is_running_max():
    aq = ActQuant(momentum=0.5).train()
    aq(torch.tensor([2.0, -1.0]))
    aq(torch.tensor([4.0]))
    assert aq.range.item() == pytest.approx(3.0)
    assert aq.scale == pytest.approx(3.0 / QMAX)


def _trained_quantized(tiny_model, tiny_inputs, spec):
    ids, mask = (torch.from_numpy(a) for a in tiny_inputs)
    quantize_model(tiny_model, spec)
    tiny_model.train()
    with torch.no_grad():  # calibrate activation ranges over every width, as supernet training does
        for w in (1.0, 0.5, 0.25):
            tiny_model.active = SubnetSpec(w)
            tiny_model(ids, mask)
    tiny_model.active = SubnetSpec()
    return tiny_model.eval(), ids, mask


@pytest.mark.parametrize("width", [1.0, 0.5, 0.25])
def test_every_slice_is_ternary_and_trains(tiny_model, tiny_inputs, width):
    model, ids, mask = _trained_quantized(tiny_model, tiny_inputs, QuantSpec("ternary"))
    spec = SubnetSpec(width, 0.5)
    model.active = spec
    heads = spec.kept_heads(model.cfg.heads) * model.cfg.head_dim
    neurons = spec.kept_neurons(model.cfg.ffn)
    layer = model.layers[0]
    for lin, rows, cols in ((layer.q, heads, None), (layer.attn_out, None, heads), (layer.ffn_out, None, neurons)):
        w = lin.effective_weight(rows or lin.out_features, cols or lin.in_features)
        assert _distinct_per_row(w) <= 3
    model.train()
    loss = torch.nn.functional.cross_entropy(model(ids, mask), torch.zeros(len(ids), dtype=torch.long))
    loss.backward()
    assert model.layers[0].ffn_in.weight.grad.abs().sum() > 0 and model.word.weight.grad.abs().sum() > 0


@pytest.mark.parametrize("weights", ["ternary", "int8"])
def test_fixed_weights_computes_each_weight_once_and_changes_nothing(tiny_model, tiny_inputs, weights):
    """Evaluation's cache: every batch gets the very tensor the first one did, per slice shape; the
    logits equal uncached ones exactly; the method is back afterwards (training re-quantizes)."""
    model, ids, mask = _trained_quantized(tiny_model, tiny_inputs, QuantSpec(weights))
    lin = model.layers[0].ffn_in
    for spec in (SubnetSpec(), SubnetSpec(0.5, 0.5)):
        model.active = spec
        with torch.no_grad():
            # the same batch shapes uncached: oneDNN's float sums may differ between batch sizes (AVX-512)
            plain, plain_two = model(ids, mask), model(ids[:2], mask[:2])
            with fixed_weights(model):
                first, again = model(ids[:2], mask[:2]), model(ids, mask)
                rows = spec.kept_neurons(model.cfg.ffn)
                assert lin.effective_weight(rows, lin.in_features) is lin.effective_weight(rows, lin.in_features)
                other = lin.effective_weight(rows // 2, lin.in_features)
                assert other.shape[0] == rows // 2, "a cached weight served a slice of another shape"
        diff = (plain - again).abs().max().item()
        print(f"{weights} {spec.name}: cached vs uncached logits max abs diff {diff:.1e}")
        assert diff == 0.0 and torch.equal(first, plain_two)
    assert "effective_weight" not in vars(lin), "fixed_weights left its cache on the module"
    model.active = SubnetSpec()


def test_fake_act_in_evaluation_equals_training_forward():
    torch.manual_seed(1)
    x, bound = 3 * torch.randn(500), torch.tensor(2.5)
    with torch.no_grad():
        evaluated = fake_act(x, bound)
    trained = fake_act(x.clone().requires_grad_(True), bound)
    assert trained.requires_grad and not evaluated.requires_grad
    assert torch.equal(evaluated, trained.detach())


def test_state_keys_stay_compatible_and_extract_matches_slice(tiny_model, tiny_inputs):
    plain_keys = set(tiny_model.state_dict())
    model, ids, mask = _trained_quantized(tiny_model, tiny_inputs, QuantSpec("ternary"))
    keys = set(model.state_dict())
    assert plain_keys <= keys and all(".act" in k and k.endswith(".range") for k in keys - plain_keys)
    for spec in (SubnetSpec(0.5, 0.5), SubnetSpec(0.25, 1.0)):
        model.active = spec
        with torch.no_grad():
            sliced = model(ids, mask)
        model.active = SubnetSpec()
        with torch.no_grad():
            physical = extract_quantized(model, spec)(ids, mask)
        diff = (sliced - physical).abs().max().item()
        print(f"quantized {spec.name}: extract vs slice max abs diff {diff:.2e}")
        assert diff <= 1e-5


@pytest.mark.parametrize("weights", ["ternary", "int8"])
def test_freeze_then_torch_export(tiny_model, tiny_inputs, weights):
    model, ids, mask = _trained_quantized(tiny_model, tiny_inputs, QuantSpec(weights))
    small = extract_quantized(model, SubnetSpec(0.5, 0.75))
    frozen = freeze_ternary(small)
    assert not any(isinstance(m, SliceLinear) and type(m).__name__ == "QuantLinear" for m in frozen.modules())
    with torch.no_grad():
        qat, fz = small(ids, mask), frozen(ids, mask)
    diff = (qat - fz).abs().max().item()
    print(f"{weights}: frozen vs QAT eval max abs diff {diff:.2e}")
    assert diff <= 1e-4
    one = (ids[:1].clone(), mask[:1].clone())
    program = torch.export.export(frozen, one, strict=True)
    ediff = (program.module()(*one) - frozen(*one)).abs().max().item()
    print(f"{weights}: exported vs eager max abs diff {ediff:.2e}")
    assert ediff <= 1e-5
    targets = {str(n.target) for n in program.graph.nodes if n.op == "call_function"}
    assert any("quantize_per_tensor" in t for t in targets), "activation q/dq ops missing from the graph"
    linear_weights = {k: v for k, v in program.state_dict.items() if k.startswith("layers.") and k.endswith(
        "weight") and v.dim() == 2}
    assert len(linear_weights) == 6 * len(frozen.layers)
    if weights == "ternary":
        bad = [k for k, v in linear_weights.items() if not _is_ternary_rows(v.detach().numpy())]
        assert not bad, f"weights not exactly {{-a, 0, a}} per row: {bad}"
        # The word table ships packed at 2 bits (packed_embedding.py); unpacked it is ternary per row.
        packed = program.state_dict["word.packed"]
        assert packed.dtype == torch.int8 and packed.shape[1] * 4 >= frozen.cfg.hidden
        assert _is_ternary_rows(frozen.word.weight.detach().numpy())
        assert torch.equal(frozen.word.weight, ternarize(small.word.weight).detach().clone())
    scales = activation_scales(frozen)
    assert set(scales) == set(linear_weights) and all(s > 0 for s in scales.values())


def test_lat_uses_second_moments(tiny_model, tiny_inputs):
    model, ids, mask = _trained_quantized(tiny_model, tiny_inputs, QuantSpec("ternary", lat=True))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    attach_lat(model, opt)
    lin = model.layers[0].ffn_in
    twn = lin.effective_weight(lin.out_features, lin.in_features).detach().clone()
    model.train()
    torch.nn.functional.cross_entropy(model(ids, mask), torch.zeros(len(ids), dtype=torch.long)).backward()
    opt.step()
    lat = lin.effective_weight(lin.out_features, lin.in_features).detach()
    assert _distinct_per_row(lat) <= 3
    changed = (ternarize(lin.weight) - lat).abs().max().item()
    print(f"LAT vs TWN on the same weights: max diff {changed:.2e}")
    assert changed > 0 and twn.shape == lat.shape
    # Baked: without the optimizer, eval / extract / freeze ternarize exactly as training did.
    model.eval()
    with torch.no_grad():
        live = model(ids, mask)
    bake_lat(model)
    assert lin.second_moment is None
    assert torch.equal(lin.effective_weight(lin.out_features, lin.in_features), lat)
    spec = SubnetSpec(0.5, 1.0)
    model.active = spec
    with torch.no_grad():
        baked = model(ids, mask)
    model.active = SubnetSpec()
    with torch.no_grad():
        assert torch.equal(model(ids, mask), live)
        small = extract_quantized(model, spec)
        frozen = freeze_ternary(small)
        diffs = ((small(ids, mask) - baked).abs().max().item(), (frozen(ids, mask) - baked).abs().max().item())
    print(f"LAT w0.5: extract vs slice {diffs[0]:.2e}, frozen vs slice {diffs[1]:.2e}")
    assert max(diffs) <= 1e-5


def test_bad_specs_are_user_errors():
    with pytest.raises(UserError, match="unknown weight precision 'int4'; choose one of"):
        QuantSpec("int4")
    with pytest.raises(UserError, match="lat .* needs weights='ternary'"):
        QuantSpec("int8", lat=True)
    with pytest.raises(UserError, match="activation bits 4"):
        QuantSpec(activations=4)
