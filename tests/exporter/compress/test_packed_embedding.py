"""2-bit packed ternary embeddings: exact round trip, lookups equal the fp32 table, clear errors."""

import pytest
import torch

from exporter.compress.packed_embedding import PackedTernaryEmbedding, pack_codes, ternary_codes
from exporter.compress.quant import ternarize


def _ternary_table(rows=37, cols=30, seed=0):
    torch.manual_seed(seed)
    table = ternarize(torch.randn(rows, cols))
    table[3] = 0.0  # an all-zero row (alpha 0) must survive too
    return table


@pytest.mark.parametrize("cols", [28, 30, 384])  # a multiple of 4, a padded width, MiniLM's
def test_lookup_equals_the_fp32_table_exactly(cols):
    table = _ternary_table(cols=cols)
    packed = PackedTernaryEmbedding(table)
    ids = torch.tensor([[0, 3, 5, 36, 5], [1, 2, 3, 4, 0]])
    diff = (packed(ids) - torch.nn.functional.embedding(ids, table)).abs().max().item()
    print(f"packed lookup vs fp32 table (cols {cols}): max abs diff {diff:.1e}")
    assert diff == 0.0
    assert torch.equal(packed.weight, table)
    assert packed.packed.dtype == torch.int8 and packed.packed.shape == (37, -(-cols // 4))
    # bytes, row scales and the 81 x 4 values of a byte, vs 4 * 37 * cols in fp32
    assert packed.stored_bytes() == 37 * -(-cols // 4) + 4 * 37 + 4 * 81 * 4


def test_codes_are_base3_digits_in_column_order():
    t = torch.tensor([[-1, 0, 1, 1, -1]], dtype=torch.int8)
    # codes 0, 1, 2, 2 | 0 (+ padding code 1 three times); every byte fits a signed int8
    assert pack_codes(t).tolist() == [[0 + 3 * 1 + 9 * 2 + 27 * 2, 0 + 3 + 9 + 27]]
    assert pack_codes(torch.ones(1, 4, dtype=torch.int8)).tolist() == [[80]]


def test_non_ternary_rows_are_refused_with_the_row():
    table = _ternary_table()
    table[7, 2] = 0.123
    with pytest.raises(ValueError, match="embedding row 7 is not ternary"):
        ternary_codes(table)


def test_exports_without_a_float_table():
    packed = PackedTernaryEmbedding(_ternary_table(rows=50, cols=32))
    program = torch.export.export(packed, (torch.tensor([[1, 2, 49]]),), strict=True)
    floats = [k for k, v in program.state_dict.items() if v.dtype == torch.float32 and v.numel() >= 50 * 32]
    assert not floats, f"a float table of the full size slipped into the graph: {floats}"
    assert torch.equal(program.module()(torch.tensor([[1, 2, 49]])), packed(torch.tensor([[1, 2, 49]])))


def test_unpacks_by_gathers_only():
    """No integer arithmetic on the looked-up bytes: floor-divide and remainder ran on ExecuTorch's
    portable kernels (0.27 ms of a 64-token sentence, ETDump); gathers are row copies."""
    packed = PackedTernaryEmbedding(_ternary_table(rows=50, cols=32))
    program = torch.export.export(packed, (torch.tensor([[1, 2, 49]]),), strict=True)
    ops = {str(n.target) for n in program.graph.nodes if n.op == "call_function"}
    print("ops:", sorted(ops))
    assert not {o for o in ops if "div" in o or "remainder" in o}, ops
    assert "aten.embedding.default" in ops
