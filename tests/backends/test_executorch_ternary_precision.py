"""ExecuTorchBackend precision "ternary": a frozen QAT encoder -> 2-bit delegate + XNNPACK -> run -> compare."""

import numpy as np
import torch

from backends.registry import get_backend
from exporter.model.subnet import SubnetSpec
from tests.backends.lowering import frozen_ternary, lower_and_compare


def test_ternary_pte_matches_frozen_eager(tiny_model, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    frozen = frozen_ternary(tiny_model, ids, mask, SubnetSpec(0.5, 0.75))
    lowered, parity, scale = lower_and_compare(get_backend("executorch"), frozen, ids, mask, "ternary", tmp_path)
    # Per layer three fused blocks (Q/K/V; output + add + LayerNorm; FFN + GELU + add + LayerNorm):
    # the model's Linears, not the LayerNorm rewrite's constant 1/H rows, which look ternary too.
    assert lowered.delegates.get("DynaedgeTernaryBackend", 0) == 3 * len(frozen.layers), lowered.delegates
    # Any length up to seq_len (the runner fed each sentence unpadded above), and the LayerNorms on
    # XNNPACK like the other .pte files.
    assert lowered.max_len == ids.shape[1] and int(mask.sum(1).min()) < ids.shape[1]
    assert "layer_norm" not in " ".join(lowered.fallbacks), lowered.fallbacks
    assert parity.sqnr_db >= 30, (f"ternary .pte SQNR {parity.sqnr_db:.1f} dB vs the frozen eager model, max diff "
                                  f"{parity.max_abs_diff:.2e} on logits of scale {scale:.2e}")
    assert parity.label_agreement == 1.0
    rows = frozen.word.weight.detach().numpy()  # the word table ships packed at 2 bits
    assert not [i for i in (5, 17, 60) if rows[i].tobytes() in lowered.data], "fp32 word-table rows in the .pte"
    assert np.isfinite(parity.max_abs_diff)
    print(f"\nternary .pte: SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}, delegates {lowered.delegates}")
