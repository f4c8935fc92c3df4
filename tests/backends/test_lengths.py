"""Files of both backends that take any length up to seq_len (.pte: at its own length; .tflite:
padded to its bucket), and at every length match the eager model on the same unpadded sentence."""

import numpy as np
import pytest
import torch

from backends.base import LowerSpec
from backends.registry import find_variant, get_backend, variants

CASES = [("executorch", "fp32", 60.0), ("executorch", "int8-dynamic", 15.0),
         ("tflite", "fp32", 60.0), ("tflite", "int8-dynamic", 15.0), ("tflite", "int8", 15.0)]


@pytest.mark.parametrize("backend_name, variant_name, floor_db", CASES)
def test_one_file_runs_every_length_up_to_seq_len(tiny_model, tiny_inputs, tmp_path, backend_name, variant_name,
                                                   floor_db):
    from exporter.verify import sqnr_db

    ids, mask = tiny_inputs
    backend, variant = get_backend(backend_name), find_variant(backend_name, variant_name)
    lowered = backend.lower(tiny_model, LowerSpec(variant.precision, ids.shape[1], ids, mask, variant.options))
    assert lowered.max_len == ids.shape[1] and variant.adaptive_length  # what the selector assumes
    assert lowered.buckets == ((4, 8, 16) if variant.lengths == "buckets" else ())
    path = tmp_path / f"model{backend.suffix}"
    path.write_bytes(lowered.data)
    runner = backend.load(path)
    sentence = ids[:1].copy()
    sentence[:] = np.arange(5, 5 + ids.shape[1])
    figures = []
    for length in (2, 7, ids.shape[1], 3):
        one_ids, one_mask = sentence[:, :length], np.ones((1, length), np.int32)
        padded = np.zeros_like(ids[:1]), np.zeros_like(mask[:1])
        padded[0][:, :length], padded[1][:, :length] = one_ids, 1
        with torch.no_grad():
            own = tiny_model(torch.from_numpy(one_ids), torch.from_numpy(one_mask)).numpy()
            in_padding = tiny_model(*(torch.from_numpy(a) for a in padded)).numpy()
        out = runner(*padded)  # the runner cuts the padding off and runs the sentence at its length
        figures.append(f"length {length}: SQNR {sqnr_db(own, out):.1f} dB")
        assert sqnr_db(own, out) >= floor_db, figures
        assert np.abs(own - in_padding).max() < 1e-5  # the eager model ignores padding: same reference
    print(f"\n{backend_name} {variant_name}, {len(lowered.data)} bytes: " + "; ".join(figures))
    if variant_name == "fp32" and backend_name == "tflite":  # 3 graphs, weights stored once
        import litert_torch

        one = len(litert_torch.convert(tiny_model, LowerSpec("fp32", ids.shape[1], ids, mask).example_inputs())
                  .model_content())
        print(f"one fixed-length graph: {one} bytes; three buckets: {len(lowered.data) / one:.2f}x")
        assert len(lowered.data) < 2 * one  # a copy of the weights per bucket would be ~3x


def test_executorch_runner_reads_its_bound_and_refuses_longer(tiny_model, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    lowered = get_backend("executorch").lower(tiny_model, LowerSpec("fp32", ids.shape[1], ids, mask))
    path = tmp_path / "model.pte"
    path.write_bytes(lowered.data)
    runner = get_backend("executorch").load(path)
    assert runner.max_len == ids.shape[1]
    too_long = np.ones((1, ids.shape[1] + 1), np.int32)
    with pytest.raises(ValueError, match=f"17 tokens is longer than this file's {ids.shape[1]}"):
        runner(too_long, too_long)


def test_the_variant_table_says_which_files_take_any_length():
    """Checked against the lowered files above, in test_ternary_int4 and test_mixed_xnnpack; the selector reads it."""
    kinds = {v.key: v.lengths for v in variants() if v.lengths != "fixed"}
    assert kinds == {"executorch/fp32": "any", "executorch/fp32-emb8": "any", "executorch/int8": "any",
                     "executorch/int8-dynamic": "any", "executorch/ternary": "any",
                     "executorch/ternary-int4": "any", "executorch/mixed": "any", "tflite/fp32": "buckets",
                     "tflite/fp32-emb8": "buckets", "tflite/int8": "buckets", "tflite/int8-dynamic": "buckets",
                     "tflite/mixed": "buckets"}
    bucketed = find_variant("tflite", "int8-dynamic")
    assert [bucketed.run_length(64, n) for n in (2, 16, 17, 33, 49, 64, 80, None)] == [16, 16, 32, 64, 64, 64, 64, 64]
    assert [find_variant("executorch", "int8").run_length(64, n) for n in (2, 17, 80, None)] == [2, 17, 64, 64]
    assert find_variant("tflite", "int8-full").run_length(64, 17) == 64
