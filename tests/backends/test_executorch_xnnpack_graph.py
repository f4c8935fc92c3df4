"""What the ExecuTorch lowering rewrites so XNNPACK takes the whole encoder: LayerNorm in XNNPACK's
ops (layer_norm.py) and no no-op expands before the attention matmuls (passes.py)."""

import pytest
import torch

from backends.executorch.layer_norm import LinearMeanLayerNorm, with_linear_mean_layer_norms
from backends.registry import get_backend
from tests.backends.lowering import lower_and_compare
from tests.conftest import TINY

# The ops a lowered encoder may still run on portable kernels: the table gathers, int -> float
# casts (mask, int8 rows), the mask's unsqueezes, the token-type row and the pooling sums.
PORTABLE_OK = {"index", "embedding", "_to_dim_order_copy", "unsqueeze_copy", "select_copy", "sum",
               # Length-adaptive files (backends/executorch/lengths.py): XNNPACK takes no reshape with two
               # symbolic sizes, so the view of the [heads, S, S] scores to 4D and back stays portable
               # (passes.infer_symbolic_dim turns the other reshapes' one symbolic size into -1); so do
               # the position-table slice and the length read. Measured on the full-size int8-dynamic
               # file at 64 tokens (5 interleaved rounds, AMD EPYC host, before infer_symbolic_dim, with
               # 20 portable views): median 9.47 ms against 9.45 for the static file.
               "view_copy", "slice_copy", "sym_size"}


def test_layer_norm_matches_torch():
    torch.manual_seed(0)
    norm = torch.nn.LayerNorm(384, eps=1e-12)
    with torch.no_grad():
        norm.weight.normal_()
        norm.bias.normal_()
    x = torch.randn(1, 128, 384) * 3 + 1
    diff = (LinearMeanLayerNorm(norm)(x) - norm(x)).abs().max()
    print(f"\nLayerNorm via fully-connected means: max diff {diff:.2e}")
    assert diff < 1e-5


def test_swap_replaces_every_norm_and_copies(tiny_model):
    swapped = with_linear_mean_layer_norms(tiny_model)
    kinds = {type(m) for m in swapped.modules()}
    assert torch.nn.LayerNorm not in kinds and LinearMeanLayerNorm in kinds
    assert any(isinstance(m, torch.nn.LayerNorm) for m in tiny_model.modules())  # the original is untouched


@pytest.mark.parametrize("precision,options", [("fp32", ()), ("int8", (("int8_mode", "dynamic"),)),
                                               ("int8", (("int8_mode", "static"), ("int8_scope", "all")))])
def test_only_gathers_casts_and_pooling_stay_portable(tiny_model, tiny_inputs, tmp_path, precision, options):
    from backends.executorch.delegates import count_delegated_ops

    lowered, parity, scale = lower_and_compare(get_backend("executorch"), tiny_model, *tiny_inputs, precision,
                                               tmp_path, options)
    print(f"\n{precision} {options}: SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e} "
          f"(logits of scale {scale:.2e}); {lowered.fallbacks}")
    left = {part.split(" x")[0] for part in lowered.fallbacks[0].split(": ", 1)[1].split(", ")}
    assert left <= PORTABLE_OK, left
    assert parity.sqnr_db >= (60 if precision == "fp32" else 15)
    # XNNPACK calls: the mask prologue, the encoder (2 calls per layer in fp32, 3 with dynamic int8
    # Linears: the portable views of the scores split each layer), the pooling tail; not one per
    # LayerNorm or reshape
    assert "view_copy x8" in lowered.fallbacks[0], lowered.fallbacks  # the scores' two views per layer, no more
    assert count_delegated_ops(lowered.data)["XnnpackBackend"] <= 3 * TINY.layers + 3
