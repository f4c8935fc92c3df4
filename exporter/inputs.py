"""Resolve --model and --data into a loaded encoder, its tokenizer and the tokenized splits."""

from dataclasses import dataclass

from exporter.compress.finetune import Splits
from exporter.data.dataset import TaskData
from exporter.data.sources import load_task
from exporter.data.tokenize import Tokenizer, encode_split
from exporter.model.default import model_argument
from exporter.model.encoder import Encoder
from exporter.model.hf_load import ModelSource, load_encoder


@dataclass(frozen=True)
class Inputs:
    model: Encoder          # pretrained weights, new head
    source: ModelSource
    task: TaskData
    tokenizer: Tokenizer
    splits: Splits
    seq_len: int
    truncation_rate: float  # over all splits

    def describe_data(self) -> dict:
        return {**self.task.describe(), "seq_len": self.seq_len, "truncation_rate": round(self.truncation_rate, 5)}


def prepare(model: str | None, data: str | None, seq_len: int) -> Inputs:
    task = load_task(data)
    encoder, source = load_encoder(model_argument(model), num_labels=task.num_labels)
    tokenizer = Tokenizer(source.model_dir)
    parts, truncated, total = {}, 0, 0
    for name in ("train", "dev", "test"):
        examples = getattr(task, name)
        parts[name], enc = encode_split(tokenizer, examples, seq_len)
        truncated += enc.truncated
        total += len(examples)
    return Inputs(encoder, source, task, tokenizer, Splits(**parts), seq_len, truncated / max(total, 1))
