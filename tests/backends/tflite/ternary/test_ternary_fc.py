"""DYNAEDGE_TERNARY_FC chain: ternary tiny encoder -> fp32 .tflite -> rewrite -> LiteRT with the
registered kernel -> compare with eager PyTorch simulating the same int8 activations."""

import numpy as np
import pytest

from backends.registry import get_backend
from backends.tflite.ternary.runner import LiteRtTernaryRunner, TernaryPayloadError
from exporter.verify import compare, run_runner
from tests.backends.tflite.ternary.eager import eager_fp32, eager_int8_activations, spec_for


@pytest.fixture
def lowered_ternary(ternary_model, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    backend = get_backend("tflite")
    lowered = backend.lower(ternary_model, spec_for(ids, mask))
    path = tmp_path / "ternary.tflite"
    path.write_bytes(lowered.data)
    return lowered, path


def test_custom_op_matches_eager_int8_activations(ternary_model, tiny_inputs, lowered_ternary):
    ids, mask = tiny_inputs
    lowered, path = lowered_ternary
    assert lowered.delegates.get("tflite:DYNAEDGE_TERNARY_FC") == 25, lowered.delegates
    assert "tflite:FULLY_CONNECTED" not in lowered.delegates, lowered.delegates
    runner = get_backend("tflite").load(path)
    assert isinstance(runner, LiteRtTernaryRunner) and runner.ternary_nodes == 25
    out = run_runner(runner, ids, mask)
    ref = eager_int8_activations(ternary_model, ids, mask)
    parity = compare(ref, out, ref.argmax(-1))
    # Not bit-exact: the converter folds LayerNorm's beta into the FC bias, so the kernel quantizes
    # norm*gamma where eager quantizes norm*gamma+beta (measured 38.9 dB, max diff 5.5e-3).
    assert parity.sqnr_db >= 30, f"SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e} vs eager int8-act"
    assert parity.label_agreement >= 0.9, f"label agreement {parity.label_agreement:.3f}"
    fp32 = compare(eager_fp32(ternary_model, ids, mask), out, ref.argmax(-1))
    assert fp32.sqnr_db >= 20, f"vs eager fp32: SQNR {fp32.sqnr_db:.1f} dB, max diff {fp32.max_abs_diff:.2e}"


def test_custom_op_file_is_smaller(ternary_model, tiny_inputs, tmp_path, lowered_ternary):
    import litert_torch

    ids, mask = tiny_inputs
    lowered, _ = lowered_ternary
    fp32 = litert_torch.convert(ternary_model, spec_for(ids, mask).example_inputs()).model_content()
    # The tiny encoder's Linear weights are ~65% of its fp32 bytes (embeddings and graph the rest).
    assert len(lowered.data) < 0.55 * len(fp32), f"ternary {len(lowered.data)} B vs fp32 {len(fp32)} B"


@pytest.mark.parametrize("where, offset, message", [
    ("DTRN", 64 + 5, r"node \d+: ternary blob: CRC32 checksum mismatch"),
    ("DTFC", 0, r"node \d+: bad custom_options magic"),
    ("DTRN", 4, r"node \d+: ternary blob: unsupported blob version"),
])
def test_corrupted_payload_is_a_clear_error(lowered_ternary, tmp_path, where, offset, message):
    lowered, _ = lowered_ternary
    data = bytearray(lowered.data)
    at = data.index(where.encode()) + offset  # the first payload in the file (flatbuffers store the last node first)
    data[at] ^= 0x5A
    bad = tmp_path / "corrupted.tflite"
    bad.write_bytes(bytes(data))
    with pytest.raises(TernaryPayloadError, match=message):
        LiteRtTernaryRunner(bad)


def test_no_custom_ops_fallback_stores_int8(ternary_model, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    backend = get_backend("tflite")
    lowered = backend.lower(ternary_model, spec_for(ids, mask, custom_ops="off"))
    assert lowered.fallbacks[0].startswith("int8 fallback (variant ternary-int8)"), lowered.fallbacks
    path = tmp_path / "ternary-int8.tflite"
    path.write_bytes(lowered.data)
    out = run_runner(backend.load(path), ids, mask)
    ref = eager_fp32(ternary_model, ids, mask)
    parity = compare(ref, out, ref.argmax(-1))
    assert parity.sqnr_db >= 25, f"int8-FC fallback SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}"
