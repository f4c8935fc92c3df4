"""TFLite chain on a tiny encoder: litert-torch -> .tflite -> ai_edge_litert Interpreter -> compare."""

import pytest

from backends.registry import get_backend
from tests.backends.lowering import lower_and_compare


def test_fp32_matches_eager(tiny_model, tiny_inputs, tmp_path):
    lowered, parity, _ = lower_and_compare(get_backend("tflite"), tiny_model, *tiny_inputs, "fp32", tmp_path)
    assert parity.sqnr_db >= 60, f"fp32 .tflite SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}"
    assert parity.label_agreement == 1.0
    assert lowered.delegates.get("tflite:FULLY_CONNECTED", 0) > 0, lowered.delegates


def test_int8_static_close_to_eager(tiny_model, tiny_inputs, tmp_path):
    lowered, parity, scale = lower_and_compare(get_backend("tflite"), tiny_model, *tiny_inputs, "int8", tmp_path)
    assert parity.sqnr_db >= 15, (f"int8 .tflite SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}"
                                  f" on logits of scale {scale:.2e}")
    assert "static int8 activations" in lowered.quantization and "scope linear" in lowered.quantization


def test_int8_dynamic_loads_and_stays_close(tiny_model, tiny_inputs, tmp_path):
    # The converter's own PT2E dynamic mode wrote a word table EMBEDDING_LOOKUP refused at load time.
    lowered, parity, scale = lower_and_compare(get_backend("tflite"), tiny_model, *tiny_inputs, "int8", tmp_path,
                                               options=(("int8_mode", "dynamic"),))
    print(f"\ndynamic int8 .tflite: SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}, scale {scale:.2e}")
    assert parity.sqnr_db >= 20, f"SQNR {parity.sqnr_db:.1f} dB"
    assert "dynamic-range int8" in lowered.quantization
    assert lowered.delegates.get("tflite:FULLY_CONNECTED", 0) > 0 and "tflite:QUANTIZE" not in lowered.delegates


def test_int8_full_integer_leaves_only_squared_difference_float(tiny_model, tiny_inputs, tmp_path):
    from backends.tflite.inspect import float_ops, int16_ops

    lowered, parity, scale = lower_and_compare(get_backend("tflite"), tiny_model, *tiny_inputs, "int8", tmp_path,
                                               options=(("int8_mode", "full"),))
    print(f"\nfull-integer .tflite: SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}, scale {scale:.2e}")
    # More ops quantized than the static file (14.5 dB here; 9 dB on MiniLM, whose gate is accuracy);
    # a graph fed the wrong inputs sits near 0 dB.
    assert parity.sqnr_db >= 10 and parity.label_agreement >= 0.9, parity
    assert set(float_ops(lowered.data)) == {"SQUARED_DIFFERENCE"}, float_ops(lowered.data)
    assert {"SOFTMAX", "RSQRT", "MEAN"} <= set(int16_ops(lowered.data)), int16_ops(lowered.data)
    assert lowered.fallbacks[0].startswith("ops left in float: SQUARED_DIFFERENCE x")
    assert lowered.fallbacks[1].startswith("ops on 16-bit activations: ")
    assert "full-integer" in lowered.quantization


def test_unknown_backend():
    from exporter.errors import UserError
    with pytest.raises(UserError, match="unknown backend 'coreml'; choose one of: executorch, tflite"):
        get_backend("coreml")
