"""The few lines `train` / `export` print about a --data file."""

from exporter.data.dataset import Example, make_task
from exporter.data.summary import data_summary


def test_counts_per_label_per_split_and_truncated():
    examples = [Example(f"s{i}", int(i % 4 == 0)) for i in range(100)]
    task = make_task("reviews", "/data/reviews.tsv", ("neg", "pos"), examples, seed=1)
    lines = data_summary(task, {"train": 3, "dev": 1, "test": 0}, seq_len=64)
    assert lines == [
        "data /data/reviews.tsv: 100 examples read, 2 labels",
        "  per label: neg 75, pos 25",
        "  per split: train 80, dev 10, test 10",
        "  truncated at seq_len 64: 4 (4.0 %; train 3, dev 1, test 0)",
    ]
