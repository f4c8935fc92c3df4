"""TFLiteBackend precision "ternary" on a frozen QAT encoder (2-bit packed word table, q/dq
activations): DYNAEDGE_TERNARY_FC custom op, the int8 fallback (variant ternary-int8) and the int4 fallback
(ai-edge-quantizer), each run in LiteRT and compared with the frozen eager model."""

import pytest

from backends.registry import get_backend
from exporter.model.subnet import SubnetSpec
from tests.backends.lowering import frozen_ternary, lower_and_compare


@pytest.mark.parametrize("custom_ops", ["on", "off", "int4"])
def test_frozen_qat_model_lowers_and_matches(tiny_model, tiny_inputs, tmp_path, custom_ops):
    ids, mask = tiny_inputs
    frozen = frozen_ternary(tiny_model, ids, mask, SubnetSpec(0.5, 0.75))
    lowered, parity, scale = lower_and_compare(get_backend("tflite"), frozen, ids, mask, "ternary", tmp_path,
                                               options=(("custom_ops", custom_ops),))
    figures = (f"custom_ops={custom_ops}: SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e} on "
               f"logits of scale {scale:.2e}, agreement {parity.label_agreement:.3f}, ops {lowered.delegates}")
    print("\n" + figures)
    if custom_ops == "on":
        assert lowered.delegates.get("tflite:DYNAEDGE_TERNARY_FC", 0) > 0, figures
        from backends.registry import find_variant
        assert find_variant("tflite", "ternary").gate == "ternary-litert"  # the custom op's own gate
    if custom_ops == "int4":
        assert "(int4 fallback)" in lowered.fallbacks[0], figures
    # The custom op takes each FC input's trained static scale from the DEQUANTIZE in front of it
    # (88 dB measured); the fallbacks' dynamic-range FCs re-quantize activations per row (50 dB).
    assert parity.sqnr_db >= (60 if custom_ops == "on" else 25), figures
    assert parity.label_agreement >= 0.9, figures
    # The word table arrives packed: no row of it is stored in float anywhere in the file.
    rows = frozen.word.weight.detach().numpy()
    stored = [i for i in (5, 17, 60) if rows[i].tobytes() in lowered.data]
    assert not stored, f"fp32 word-table rows {stored} found in the .tflite"
