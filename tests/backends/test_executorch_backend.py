"""ExecuTorch chain on a tiny encoder: export -> XNNPACK -> .pte -> executorch.runtime -> compare."""

import pytest

from backends.registry import get_backend
from tests.backends.lowering import lower_and_compare


def test_fp32_matches_eager(tiny_model, tiny_inputs, tmp_path):
    lowered, parity, _ = lower_and_compare(get_backend("executorch"), tiny_model, *tiny_inputs, "fp32", tmp_path)
    assert parity.sqnr_db >= 60, f"fp32 .pte SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}"
    assert parity.label_agreement == 1.0
    assert lowered.delegates.get("XnnpackBackend", 0) > 0, lowered.delegates


@pytest.mark.parametrize("mode", ["static", "dynamic"])
def test_int8_close_to_eager(tiny_model, tiny_inputs, tmp_path, mode):
    lowered, parity, scale = lower_and_compare(get_backend("executorch"), tiny_model, *tiny_inputs, "int8",
                                               tmp_path, options=(("int8_mode", mode),))
    assert parity.sqnr_db >= 15, (f"int8 ({mode}) .pte SQNR {parity.sqnr_db:.1f} dB, max diff "
                                  f"{parity.max_abs_diff:.2e} on logits of scale {scale:.2e}")
    assert mode in lowered.quantization


def test_unknown_precision(tiny_model, tiny_inputs):
    from backends.base import LowerSpec
    from exporter.errors import UserError
    with pytest.raises(UserError, match="unknown executorch precision 'int4'; choose one of: fp32, int8"):
        get_backend("executorch").lower(tiny_model, LowerSpec("int4", 16, *tiny_inputs))
