"""The int8 word table: round trip, and both backends storing it as int8 and running it."""

import dataclasses

import numpy as np
import pytest
import torch

from backends.int8_embedding import Int8Embedding, quantize_rows, with_int8_word_table
from backends.registry import get_backend
from exporter.errors import UserError
from exporter.model.encoder import Encoder
from tests.backends.lowering import lower_and_compare
from tests.conftest import TINY

# A vocabulary large enough that the word table dominates the file, as in MiniLM (30,522 x 384).
WIDE = dataclasses.replace(TINY, vocab_size=6000)


def test_round_trip_within_half_a_step():
    torch.manual_seed(0)
    w = torch.randn(50, 24) * torch.logspace(-3, 1, 50)[:, None]  # rows of very different ranges
    w[7] = 0.0
    q, scale = quantize_rows(w)
    assert q.dtype == torch.int8 and scale.shape == (50,) and int(q.abs().max()) <= 127
    err = (q.float() * scale[:, None] - w).abs()
    print(f"\nworst per-row error / scale: {(err.amax(-1) / scale).max():.4f}")
    assert torch.all(err.amax(-1) <= scale / 2 * (1 + 1e-6)), (err.amax(-1) / scale).max()
    assert scale[7] == 1.0 and torch.all(q[7] == 0)  # an all-zero row: no zero or inf scale
    assert torch.all(q.abs().amax(-1)[scale != 1.0] == 127)  # each row uses its full range


def test_module_gathers_dequantized_rows():
    torch.manual_seed(0)
    w = torch.randn(30, 16)
    emb = Int8Embedding(w)
    ids = torch.tensor([[3, 0, 29, 3]])
    assert torch.equal(emb(ids), emb.weight[ids])
    assert (emb(ids) - w[ids]).abs().max() <= emb.scale.max() / 2
    assert emb.stored_bytes() == 30 * 16 + 4 * 30


def test_swap_leaves_the_model_alone(tiny_model, tiny_inputs):
    swapped = with_int8_word_table(tiny_model)
    assert isinstance(swapped.word, Int8Embedding) and type(tiny_model.word) is torch.nn.Embedding
    assert swapped.layers is tiny_model.layers  # shallow copy: only the table is new
    ids, mask = (torch.from_numpy(a) for a in tiny_inputs)
    with torch.no_grad():
        diff = (swapped(ids, mask) - tiny_model(ids, mask)).abs().max()
    print(f"\nlogit change from the int8 table: {diff:.2e}")
    assert diff < 0.05
    assert with_int8_word_table(swapped) is swapped  # already int8: kept


@pytest.fixture
def wide_model():
    torch.manual_seed(0)
    return Encoder(WIDE).eval()


@pytest.mark.parametrize("backend,mode", [("executorch", "static"), ("executorch", "dynamic"),
                                          ("tflite", "static"), ("tflite", "dynamic"), ("tflite", "full")])
def test_int8_file_stores_the_table_as_int8(wide_model, tiny_inputs, tmp_path, backend, mode):
    lowered, parity, scale = lower_and_compare(get_backend(backend), wide_model, *tiny_inputs, "int8", tmp_path,
                                               options=(("int8_mode", mode),))
    table, _ = quantize_rows(wide_model.word.weight)
    entries = WIDE.vocab_size * WIDE.hidden
    print(f"\n{backend} {mode}: {len(lowered.data)} bytes for a {entries}-entry table; SQNR {parity.sqnr_db:.1f} dB, "
          f"max diff {parity.max_abs_diff:.2e} on logits of scale {scale:.2e}")
    assert "embeddings int8 per row" in lowered.quantization
    assert lowered.data.count(table.numpy().tobytes()) == 1  # the int8 rows, verbatim, once (buckets share it)
    assert wide_model.word.weight.detach().numpy().tobytes() not in lowered.data  # no fp32 copy
    if not lowered.buckets:  # one graph: not 4 bytes per entry (each bucket's graph adds its own small parts)
        assert len(lowered.data) < 2 * entries
    assert parity.sqnr_db >= (10 if mode == "full" else 15), parity
    assert np.isfinite(parity.max_abs_diff)


@pytest.mark.parametrize("backend", ["executorch", "tflite"])
def test_fp32_emb8_file_is_fp32_but_its_table(wide_model, tiny_inputs, tmp_path, backend):
    """The fp32-emb8 variant: fp32 Linears, the word table int8 per row, once; logits close to fp32."""
    from backends.registry import find_variant

    variant = find_variant(backend, "fp32-emb8")
    assert variant.fit_name == "fp32" and variant.gate == "fp32-emb8" and variant.table_bytes == 1.0
    lowered, parity, scale = lower_and_compare(get_backend(backend), wide_model, *tiny_inputs, "fp32", tmp_path,
                                               options=variant.options)
    table, _ = quantize_rows(wide_model.word.weight)
    print(f"\n{backend} fp32-emb8: {len(lowered.data)} bytes; SQNR {parity.sqnr_db:.1f} dB, "
          f"max diff {parity.max_abs_diff:.2e} on logits of scale {scale:.2e}")
    assert lowered.quantization == "fp32; word table int8 per row"
    assert lowered.data.count(table.numpy().tobytes()) == 1
    assert wide_model.word.weight.detach().numpy().tobytes() not in lowered.data
    linear = wide_model.layers[0].ffn_in.weight.detach().numpy().tobytes()
    assert linear in lowered.data  # the Linears stay fp32, verbatim
    assert parity.sqnr_db >= 30, parity
    with pytest.raises(UserError, match="unknown word_table 'int4'; choose one of: fp32, int8"):
        lower_and_compare(get_backend(backend), wide_model, *tiny_inputs, "fp32", tmp_path,
                          options=(("word_table", "int4"),))
