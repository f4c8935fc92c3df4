"""Labelled sentences and the seeded, stratified train/dev/test split."""

import hashlib
import random
from dataclasses import dataclass, field

from exporter.errors import UserError


@dataclass(frozen=True)
class Example:
    text: str
    label: int


@dataclass(frozen=True)
class TaskData:
    """A labelled data set with its provenance, split once, reproducibly."""

    name: str
    source: str  # where it came from: a path, a package, a hub name
    label_names: tuple[str, ...]
    train: tuple[Example, ...]
    dev: tuple[Example, ...]
    test: tuple[Example, ...]
    seed: int
    sha256: str = field(default="")  # of the ordered examples of all three splits

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "sha256": self.sha256,
            "labels": list(self.label_names),
            "split_seed": self.seed,
            "sizes": {"train": len(self.train), "dev": len(self.dev), "test": len(self.test)},
        }


def examples_sha256(examples) -> str:
    h = hashlib.sha256()
    for ex in examples:
        h.update(f"{ex.label}\t{ex.text}\n".encode())
    return h.hexdigest()


def check_examples(examples: list[Example], where: str) -> None:
    """Refuse data that cannot train a classifier, naming what is wrong."""
    if not examples:
        raise UserError(f"{where}: no examples found (expected lines of text with a label)")
    labels = {ex.label for ex in examples}
    if len(labels) < 2:
        raise UserError(f"{where}: only one class ({labels.pop()!r}) in {len(examples)} examples; "
                        "a classifier needs at least two")


def stratified_split(examples: list[Example], seed: int, dev: float = 0.1, test: float = 0.1):
    """Shuffle each class with `seed` and cut it dev/test/train, so every split keeps the class ratio."""
    rng = random.Random(seed)
    by_label: dict[int, list[Example]] = {}
    for ex in examples:
        by_label.setdefault(ex.label, []).append(ex)
    train, dev_out, test_out = [], [], []
    for label in sorted(by_label):
        group = by_label[label][:]
        rng.shuffle(group)
        n_dev, n_test = round(len(group) * dev), round(len(group) * test)
        dev_out += group[:n_dev]
        test_out += group[n_dev:n_dev + n_test]
        train += group[n_dev + n_test:]
    for part in (train, dev_out, test_out):
        rng.shuffle(part)
    return tuple(train), tuple(dev_out), tuple(test_out)


def make_task(name, source, label_names, examples, seed) -> TaskData:
    check_examples(examples, source)
    train, dev, test = stratified_split(examples, seed)
    return TaskData(name=name, source=source, label_names=tuple(label_names), train=train, dev=dev,
                    test=test, seed=seed, sha256=examples_sha256(train + dev + test))
