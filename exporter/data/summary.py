"""What `--data` read, in a few lines: examples per label and per split, and how many were cut at seq_len."""

from collections import Counter

from exporter.data.dataset import TaskData

SPLITS = ("train", "dev", "test")


def data_summary(task: TaskData, truncated: dict[str, int], seq_len: int) -> list[str]:
    """`truncated` counts, per split, the texts longer than `seq_len` tokens."""
    parts = {name: getattr(task, name) for name in SPLITS}
    total = sum(len(part) for part in parts.values())
    per_label = Counter(ex.label for part in parts.values() for ex in part)
    cut = sum(truncated.values())
    return [
        f"data {task.source}: {total} examples read, {task.num_labels} labels",
        "  per label: " + ", ".join(f"{name} {per_label[i]}" for i, name in enumerate(task.label_names)),
        "  per split: " + ", ".join(f"{name} {len(part)}" for name, part in parts.items()),
        f"  truncated at seq_len {seq_len}: {cut} ({100 * cut / max(total, 1):.1f} %; "
        + ", ".join(f"{name} {truncated[name]}" for name in SPLITS) + ")",
    ]
