"""Resolve --model and --data into a loaded encoder, its tokenizer and the tokenized splits."""

import functools
import logging
from dataclasses import dataclass

from exporter.compress.finetune import Splits
from exporter.data.dataset import TaskData
from exporter.data.lengths import LengthStats
from exporter.data.sources import data_file, load_task
from exporter.data.summary import SPLITS, data_summary
from exporter.data.tokenize import Tokenizer, encode_split
from exporter.model.default import model_argument
from exporter.model.encoder import Encoder
from exporter.model.hf_load import ModelSource, load_encoder

log = logging.getLogger("dynaedge")


@dataclass(frozen=True)
class Inputs:
    model: Encoder          # pretrained weights, new head
    source: ModelSource
    task: TaskData
    tokenizer: Tokenizer
    splits: Splits
    seq_len: int
    truncation_rate: float  # over all splits

    @functools.cached_property
    def lengths(self) -> LengthStats:
        """Tokens per training sentence (what --budget applies at, exporter.data.lengths); computed once."""
        return LengthStats.of_mask(self.splits.train.mask, self.seq_len)

    def describe_data(self) -> dict:
        return {**self.task.describe(), "seq_len": self.seq_len, "truncation_rate": round(self.truncation_rate, 5),
                "lengths": self.lengths.to_dict()}


def prepare(model: str | None, data: str | None, seq_len: int) -> Inputs:
    task = load_task(data)
    encoder, source = load_encoder(model_argument(model), num_labels=task.num_labels)
    tokenizer = Tokenizer(source.model_dir)
    parts, truncated = {}, {}
    for name in SPLITS:
        parts[name], enc = encode_split(tokenizer, getattr(task, name), seq_len)
        truncated[name] = enc.truncated
    if data_file(data) is not None:  # the user's own file: say what was read from it
        log.info("\n".join(data_summary(task, truncated, seq_len)))
    total = sum(len(getattr(task, name)) for name in SPLITS)
    return Inputs(encoder, source, task, tokenizer, Splits(**parts), seq_len, sum(truncated.values()) / max(total, 1))
