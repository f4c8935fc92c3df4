"""Length-adaptive .pte files: one file runs each sentence at its own length up to seq_len, and
at every length it matches the eager model on the same unpadded sentence."""

import numpy as np
import pytest
import torch

from backends.base import LowerSpec
from backends.registry import get_backend


@pytest.mark.parametrize("precision, options, floor_db", [("fp32", (), 60.0), ("int8", (("int8_mode", "dynamic"),), 15.0)])
def test_one_file_runs_every_length_up_to_seq_len(tiny_model, tiny_inputs, tmp_path, precision, options, floor_db):
    from exporter.verify import sqnr_db

    ids, mask = tiny_inputs
    lowered = get_backend("executorch").lower(tiny_model, LowerSpec(precision, ids.shape[1], ids, mask, options))
    path = tmp_path / "model.pte"
    path.write_bytes(lowered.data)
    runner = get_backend("executorch").load(path)
    assert runner.max_len == ids.shape[1]
    sentence = ids[:1].copy()
    sentence[:] = np.arange(5, 5 + ids.shape[1])
    figures = []
    for length in (2, 7, ids.shape[1]):
        one_ids, one_mask = sentence[:, :length], np.ones((1, length), np.int32)
        out = runner.method([torch.from_numpy(one_ids), torch.from_numpy(one_mask)])[0].numpy()
        with torch.no_grad():
            own = tiny_model(torch.from_numpy(one_ids), torch.from_numpy(one_mask)).numpy()
            padded = np.zeros_like(ids[:1]), np.zeros_like(mask[:1])
            padded[0][:, :length], padded[1][:, :length] = one_ids, 1
            in_padding = tiny_model(*(torch.from_numpy(a) for a in padded)).numpy()
        figures.append(f"length {length}: SQNR {sqnr_db(own, out):.1f} dB")
        assert sqnr_db(own, out) >= floor_db, figures
        assert np.abs(own - in_padding).max() < 1e-5  # the eager model ignores padding: same reference
        assert np.allclose(runner(*padded), out, atol=1e-6)  # the runner feeds a padded sentence at its length
    print(f"\n{precision}: " + "; ".join(figures))
    too_long = np.ones((1, ids.shape[1] + 1), np.int32)
    with pytest.raises(ValueError, match=f"17 tokens is longer than this file's {ids.shape[1]}"):
        runner(too_long, too_long)
