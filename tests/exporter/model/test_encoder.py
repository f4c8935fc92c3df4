"""Our encoder against transformers' BertModel, slicing, and export-friendliness."""

import numpy as np
import pytest
import torch

from exporter.model.encoder import Dropout, extract
from exporter.model.hf_load import load_encoder
from exporter.model.subnet import SubnetSpec


def _hf_hidden(model_dir, ids, mask):
    from transformers import BertModel
    hf = BertModel.from_pretrained(str(model_dir)).eval()
    with torch.no_grad():
        return hf(input_ids=torch.from_numpy(ids).long(), attention_mask=torch.from_numpy(mask).long()).last_hidden_state


def _max_diff_on_tokens(a, b, mask):
    m = torch.from_numpy(mask)[:, :, None].bool()
    return (a - b).abs().masked_select(m).max().item()


def test_matches_transformers_tiny(tiny_hf_dir, tiny_inputs):
    ids, mask = tiny_inputs
    ours, _ = load_encoder(str(tiny_hf_dir))
    with torch.no_grad():
        hidden = ours.features(torch.from_numpy(ids), torch.from_numpy(mask)).hidden[-1]
    diff = _max_diff_on_tokens(hidden, _hf_hidden(tiny_hf_dir, ids, mask), mask)
    assert diff <= 1e-4, f"max abs diff {diff:.2e} vs transformers BertModel"


def test_matches_transformers_default_model_on_real_sentences(default_model_dir):
    from exporter.data.movie_reviews import load_movie_reviews
    from exporter.data.tokenize import Tokenizer

    texts = [e.text for e in load_movie_reviews()[:64]]
    enc = Tokenizer(default_model_dir).encode(texts, 64)
    ours, _ = load_encoder(str(default_model_dir))
    with torch.no_grad():
        hidden = ours.features(torch.from_numpy(enc.ids), torch.from_numpy(enc.mask)).hidden[-1]
    diff = _max_diff_on_tokens(hidden, _hf_hidden(default_model_dir, enc.ids, enc.mask), enc.mask)
    assert diff <= 1e-4, f"max abs diff {diff:.2e} vs transformers on 64 real sentences"


def test_int32_and_int64_ids_agree(tiny_model, tiny_inputs):
    ids, mask = tiny_inputs
    with torch.no_grad():
        a = tiny_model(torch.from_numpy(ids), torch.from_numpy(mask))
        b = tiny_model(torch.from_numpy(ids).long(), torch.from_numpy(mask).long())
    assert torch.equal(a, b)


@pytest.mark.parametrize("width,depth", [(1.0, 1.0), (0.75, 1.0), (0.5, 0.5), (0.25, 0.75)])
def test_extract_equals_active_slice(tiny_model, tiny_inputs, width, depth):
    ids, mask = (torch.from_numpy(a) for a in tiny_inputs)
    spec = SubnetSpec(width, depth)
    small = extract(tiny_model, spec)
    tiny_model.active = spec
    with torch.no_grad():
        sliced = tiny_model(ids, mask)
        physical = small(ids, mask)
    tiny_model.active = SubnetSpec()
    diff = (sliced - physical).abs().max().item()
    assert diff <= 1e-6, f"extract({spec}) differs from active slicing by {diff:.2e}"
    assert small.num_params() <= tiny_model.num_params()


def test_kept_layers_follow_dynabert_rule():
    assert SubnetSpec(1.0, 0.5).kept_layers(6) == (0, 2, 4)
    assert SubnetSpec(1.0, 0.75).kept_layers(6) == (0, 1, 2, 4)
    assert SubnetSpec(1.0, 1.0).kept_layers(6) == tuple(range(6))
    assert SubnetSpec(0.25).kept_heads(12) == 3 and SubnetSpec(0.25).kept_neurons(1536) == 384


def test_torch_export_has_no_graph_breaks(tiny_model, tiny_inputs):
    ids, mask = (torch.from_numpy(a[:1].copy()) for a in tiny_inputs)
    program = torch.export.export(tiny_model, (ids, mask), strict=True)
    out = program.module()(ids, mask)
    diff = (out - tiny_model(ids, mask)).abs().max().item()
    assert diff <= 1e-6, f"exported program differs by {diff:.2e}"


def test_bad_subnet_values_are_user_errors():
    from exporter.errors import UserError
    with pytest.raises(UserError, match="width 0"):
        SubnetSpec(width=0)
    with pytest.raises(UserError, match="depth 1.5"):
        SubnetSpec(depth=1.5)


def test_dropout_is_off_in_eval(tiny_model, tiny_inputs):
    ids, mask = (torch.from_numpy(a) for a in tiny_inputs)
    with torch.no_grad():
        assert np.array_equal(tiny_model(ids, mask).numpy(), tiny_model(ids, mask).numpy())


def test_dropout_drops_p_and_keeps_the_expectation():
    torch.manual_seed(0)
    drop = Dropout(0.1).train()
    x = torch.rand(64, 64, 384) + 0.5
    y = drop(x)
    dropped = (y == 0).float().mean().item()
    kept = y != 0
    scale_error = (y[kept] / x[kept] - 1 / 0.9).abs().max().item()
    print(f"dropped {dropped:.4f} of {x.numel()} (p 0.1); kept values' scale error {scale_error:.1e}")
    assert abs(dropped - 0.1) < 0.003 and scale_error < 1e-6
    assert drop(x.bfloat16()).dtype == torch.bfloat16
    xg = x.clone().requires_grad_()
    drop(xg).sum().backward()
    grads = torch.unique(xg.grad)
    assert len(grads) == 2 and grads[0] == 0 and abs(grads[1].item() - 1 / 0.9) < 1e-6


GRID = [SubnetSpec(w, d) for d in (1.0, 0.75, 0.5) for w in (1.0, 0.75, 0.5, 0.25)]


@pytest.mark.parametrize("precision", ["fp32", "ternary"])
def test_slice_logits_equal_one_slice_at_a_time(tiny_model, tiny_inputs, precision):
    """Layer outputs shared between depth slices are computed once; every slice's logits stay bit-identical."""
    from exporter.compress.quant import QuantSpec, fixed_weights, quantize_model
    from exporter.evaluate import slice_logits, torch_logits

    ids, mask = tiny_inputs
    model = tiny_model if precision == "fp32" else quantize_model(tiny_model, QuantSpec(precision))
    with fixed_weights(model):
        shared = slice_logits(model, ids, mask, GRID, batch=7)
    for spec, got in zip(GRID, shared):
        model.active = spec
        alone = torch_logits(model, ids, mask, batch=7)
        model.active = SubnetSpec()
        diff = float(np.abs(got - alone).max())
        assert diff == 0.0, f"{spec}: max |shared - alone| {diff:.3e}"


def test_slice_logits_refuse_training_mode(tiny_model, tiny_inputs):
    ids, mask = (torch.from_numpy(a) for a in tiny_inputs)
    with pytest.raises(ValueError, match="dropout"):
        tiny_model.train().slice_logits(ids, mask, GRID)
