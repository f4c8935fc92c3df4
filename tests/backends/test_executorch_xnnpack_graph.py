"""What the ExecuTorch lowering rewrites so XNNPACK takes the whole encoder: LayerNorm in XNNPACK's
ops (layer_norm.py), attention in 3D for one sentence (attention.py) and no no-op expands or views
before the attention matmuls (passes.py)."""

import pytest
import torch

from backends.executorch.layer_norm import LinearMeanLayerNorm, with_linear_mean_layer_norms
from backends.registry import get_backend
from tests.backends.lowering import lower_and_compare
from tests.conftest import TINY

# The ops a lowered encoder may still run on portable kernels: the table gathers, int -> float
# casts (mask, int8 rows), the mask's unsqueezes, the token-type row and the pooling sums.
PORTABLE_OK = {"index", "embedding", "_to_dim_order_copy", "unsqueeze_copy", "select_copy", "sum",
               # Length-adaptive files (backends/executorch/lengths.py): the position-table slice and the
               # length read. The attention's reshapes no longer stay (attention.py, passes.py).
               "slice_copy", "sym_size"}


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
    # XNNPACK calls: the embedding sum, the encoder (one call in fp32, one per layer with dynamic
    # int8 Linears), the pooling tail; not one per LayerNorm or reshape. With 4D attention the
    # scores' two views per layer stayed portable and split each layer in two or three calls.
    assert "view_copy" not in lowered.fallbacks[0], lowered.fallbacks
    calls = count_delegated_ops(lowered.data)["XnnpackBackend"]
    print(f"XNNPACK calls: {calls}")
    assert calls <= (3 if precision == "fp32" else TINY.layers + 3), calls


def test_one_sentence_attention_computes_what_the_encoder_computes(tiny_model, tiny_inputs):
    """Same logits for batch 1 at every length, and the layer's own hooks (the frozen ternary model's
    8-bit steps) still run; other batch sizes take the original path."""
    import numpy as np

    from backends.executorch.attention import OneSentenceAttention, with_one_sentence_attention
    from exporter.compress.freeze import freeze_ternary
    from exporter.compress.quant import QuantSpec, quantize_model

    ids, mask = (torch.from_numpy(a).long() for a in tiny_inputs)
    quantized = quantize_model(with_linear_mean_layer_norms(tiny_model), QuantSpec(weights="ternary"))
    quantized.train()
    with torch.no_grad():
        quantized(ids, mask)  # calibrate the 8-bit ranges
    frozen = freeze_ternary(quantized.eval())
    for model in (tiny_model, frozen):
        rewritten = with_one_sentence_attention(model)
        assert all(isinstance(layer, OneSentenceAttention) for layer in rewritten.layers)
        assert not any(isinstance(layer, OneSentenceAttention) for layer in model.layers)  # a copy
        worst = 0.0
        with torch.no_grad():
            for i in range(len(ids)):
                n = int(mask[i].sum())
                a, b = model(ids[i:i + 1, :n], mask[i:i + 1, :n]), rewritten(ids[i:i + 1, :n], mask[i:i + 1, :n])
                worst = max(worst, float((a - b).abs().max()))
            batch = float((model(ids, mask) - rewritten(ids, mask)).abs().max())
        print(f"\n{type(model.layers[0]).__name__}: max |diff| {worst:.2e} over {len(ids)} sentences; batch {batch:.2e}")
        assert worst < 1e-5 and batch == 0.0
        assert np.isfinite(worst)
