"""Mixed precision on stock ExecuTorch: a tiny fixed mixed model -> freeze_mixed -> XNNPACK int8 and
4-bit FullyConnecteds with dynamic int8 inputs -> .pte -> the runtime -> compared with the frozen
eager model; the file holds no custom delegate and its size follows the bit map."""

from backends.executorch.delegates import count_delegated_ops
from backends.executorch.mixed_xnnpack import with_xnnpack_parts
from backends.registry import get_backend
from exporter.compress.freeze_mixed import freeze_mixed, stored_bytes
from tests.backends.lowering import lower_and_compare
from tests.exporter.compress.test_mixed import _random_fixed


def test_mixed_pte_runs_on_stock_xnnpack(tiny_model, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    frozen = freeze_mixed(_random_fixed(tiny_model))
    lowered, parity, scale = lower_and_compare(get_backend("executorch"), frozen, ids, mask, "mixed", tmp_path)
    _, parts = with_xnnpack_parts(frozen)
    figures = (f"mixed .pte: SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e} on logits of scale "
               f"{scale:.2e}, agreement {parity.label_agreement:.3f}, parts {parts}, {len(lowered.data)} B "
               f"(frozen model stores {stored_bytes(frozen)} B), delegates {lowered.delegates}")
    print("\n" + figures)
    assert b"DynaedgeTernaryBackend" not in lowered.data
    assert set(count_delegated_ops(lowered.data)) == {"XnnpackBackend", "undelegated"}
    assert parts["int8"] > 0 and parts["int4"] > 0
    # XNNPACK quantizes each row of a part's input at run time, as the eager model's per-token int8 does
    # (the eager q/dq form alone would quantize per tensor), so only float order differs.
    assert parity.sqnr_db >= 35, figures
    assert parity.label_agreement == 1.0, figures
    assert lowered.max_len == ids.shape[1]

