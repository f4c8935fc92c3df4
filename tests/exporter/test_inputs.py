"""prepare(): a --data file is read, split, tokenized, and summed up on the dynaedge log."""

import logging

from exporter.data.sources import data_file
from exporter.inputs import prepare


def test_a_data_file_is_summed_up(tmp_path, tiny_hf_dir, caplog):
    data = tmp_path / "reviews.tsv"
    long = " ".join(f"w{i}" for i in range(40))
    data.write_text("text\tlabel\n" + "".join(f"{long if i == 0 else 'w5 w6'}\t{'pos' if i % 2 else 'neg'}\n"
                                              for i in range(20)))
    with caplog.at_level(logging.INFO, logger="dynaedge"):
        inputs = prepare(str(tiny_hf_dir), str(data), seq_len=16)
    assert len(inputs.splits.train.labels) + len(inputs.splits.dev.labels) + len(inputs.splits.test.labels) == 20
    summary = [r.getMessage() for r in caplog.records if r.getMessage().startswith("data ")]
    assert len(summary) == 1, caplog.text
    lines = summary[0].splitlines()
    assert lines[1:3] == ["  per label: neg 10, pos 10", "  per split: train 16, dev 2, test 2"]
    assert lines[3].startswith("  truncated at seq_len 16: 1 (5.0 %;")


def test_only_a_file_counts_as_a_data_file(tmp_path):
    assert data_file(None) is None and data_file("movie-reviews") is None
    assert data_file("some-user/hub-dataset") is None
    assert data_file(str(tmp_path / "missing.tsv")) is not None  # read_labelled_file then says it is missing
