"""ExecuTorch ternary as XNNPACK 4-bit weights (option ternary_storage=int4): a tiny frozen QAT
encoder -> Int4TernaryLinear -> XNNPACK (qd8-f32-qc4w) -> .pte -> executorch.runtime -> compare with
the frozen eager model; the weights are read back from the file and must be the ternary ones."""

import numpy as np
import pytest
import torch

from backends.executorch.delegates import count_delegated_ops
from backends.executorch.ternary_int4 import Int4TernaryLinear, int4_codes, int4_linear_weights, with_int4_linears
from backends.registry import find_variant, get_backend
from exporter.model.subnet import SubnetSpec
from exporter.verify import THRESHOLDS
from tests.backends.lowering import frozen_ternary, lower_and_compare

LINEARS = ("q", "k", "v", "attn_out", "ffn_in", "ffn_out")
FLOAT_ROUNDING = 2.0 ** -23  # 7 * fl(alpha / 7) is alpha up to two float32 roundings


def ternary_weights(frozen):
    return {name: m.weight.detach() for name, m in frozen.named_modules() if name.split(".")[-1] in LINEARS}


def test_int4_pte_runs_on_stock_xnnpack_with_exact_ternary_weights(tiny_model, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    frozen = frozen_ternary(tiny_model, ids, mask, SubnetSpec(0.5, 0.75))
    lowered, parity, scale = lower_and_compare(get_backend("executorch"), frozen, ids, mask, "ternary", tmp_path,
                                               options=(("ternary_storage", "int4"),))
    figures = (f"int4 .pte: SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e} on logits of scale "
               f"{scale:.2e}, agreement {parity.label_agreement:.3f}, delegates {lowered.delegates}")
    print("\n" + figures)

    # Any length up to seq_len, as the variant table tells the selector.
    assert lowered.max_len == ids.shape[1] and find_variant("executorch", "ternary-int4").lengths == "any"

    # No custom delegate anywhere: the stock runtime + XNNPACK runs the file.
    assert b"DynaedgeTernaryBackend" not in lowered.data
    in_file = count_delegated_ops(lowered.data)
    assert set(in_file) == {"XnnpackBackend", "undelegated"}, in_file
    assert "4-bit" in lowered.quantization

    # Every ternary Linear is an XNNPACK FullyConnected with 4-bit channelwise weights and a dynamic
    # int8 input, and its weights read back from the file are the frozen ternary ones.
    expected = list(ternary_weights(frozen).values())
    stored = int4_linear_weights(lowered.data)
    assert len(stored) == len(expected) == 3 * len(LINEARS)
    for got, want in zip(stored, expected):
        assert got.shape == want.shape
        rel = ((got - want).abs() / want.abs().clamp_min(torch.finfo(torch.float32).tiny)).max().item()
        assert rel <= FLOAT_ROUNDING, f"a stored 4-bit weight is {rel:.2e} away from its ternary value"

    # Dynamic per-row activations, clipped to the trained static range, are the one rounding.
    assert not THRESHOLDS["ternary-fallback"].failures(parity), figures
    assert parity.sqnr_db >= 35, figures
    assert parity.label_agreement == 1.0, figures
    rows = frozen.word.weight.detach().numpy()  # the word table ships packed at 2 bits
    assert not [i for i in (5, 17, 60) if rows[i].tobytes() in lowered.data], "fp32 word-table rows in the .pte"


def test_codes_and_scale_are_exact():
    torch.manual_seed(0)
    t = torch.randint(-1, 2, (6, 10)).float()
    alpha = torch.rand(6) + 0.01
    codes, scale = int4_codes(t * alpha[:, None])
    assert codes.dtype == torch.int8 and set(codes.unique().tolist()) <= {-7, 0, 7}
    assert torch.equal(codes, (7 * t).to(torch.int8))
    assert torch.allclose(scale * 7, alpha, rtol=FLOAT_ROUNDING, atol=0)


def test_non_ternary_weight_is_refused():
    with pytest.raises(ValueError, match="layers.0.q.weight is not ternary per row"):
        int4_codes(torch.tensor([[0.5, -0.5, 0.25]]), "layers.0.q.weight")


def test_only_ternary_linears_are_swapped(tiny_model, tiny_inputs):
    ids, mask = tiny_inputs
    frozen = frozen_ternary(tiny_model, ids, mask, SubnetSpec(0.5, 0.75))
    int4, names = with_int4_linears(frozen)
    assert sorted(names) == sorted(ternary_weights(frozen))
    assert type(int4.classifier) is torch.nn.Linear  # the fp32 head stays fp32
    for name in names:
        module = int4.get_submodule(name)
        assert isinstance(module, Int4TernaryLinear)
        assert module.input_scale == frozen.get_submodule(name).input_scale  # the trained 8-bit step stays
        torch.testing.assert_close(module.dequantized_weight(), frozen.get_submodule(name).weight,
                                   rtol=FLOAT_ROUNDING, atol=0)
    with torch.no_grad():
        ref = frozen(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        out = int4(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    assert np.abs(out - ref).max() <= 0.05 * np.abs(ref).max()


def test_input_is_clipped_to_the_trained_range_and_rounded_once():
    """The trained 8-bit step's range clips the input; only the dynamic step rounds it (rounding to
    the trained grid first cost 0.47 dev points on the quick slice: a second, unaligned rounding)."""
    torch.manual_seed(0)
    t = torch.randint(-1, 2, (4, 8)).float()
    linear = torch.nn.Linear(8, 4, bias=False)
    linear.weight.data = t * 0.5
    linear.input_scale = 0.01  # range [-1.27, 1.27]
    module = Int4TernaryLinear(linear)
    x = torch.randn(2, 8) * 1.5  # some beyond the range, none on the trained grid
    clipped = x.clamp(-1.27, 1.27)
    from backends.executorch.ternary_int4 import dynamic_qdq
    torch.testing.assert_close(module(x), dynamic_qdq(clipped) @ (t * 0.5).T)
    on_trained_grid = torch.round(clipped / 0.01) * 0.01
    assert not torch.allclose(module(x), dynamic_qdq(on_trained_grid) @ (t * 0.5).T)  # no second rounding


def test_unknown_ternary_storage(tiny_model, tiny_inputs):
    from backends.base import LowerSpec
    from exporter.errors import UserError

    with pytest.raises(UserError, match="unknown executorch ternary_storage 'int2'; choose one of: delegate, int4"):
        get_backend("executorch").lower(tiny_model, LowerSpec("ternary", 16, *tiny_inputs,
                                                              (("ternary_storage", "int2"),)))
