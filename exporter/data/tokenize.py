"""WordPiece tokenization to fixed-length int32 arrays (the shape every artifact takes)."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exporter.errors import UserError


@dataclass(frozen=True)
class Encoded:
    ids: np.ndarray   # int32 [n, seq_len]
    mask: np.ndarray  # int32 [n, seq_len], 1 for real tokens
    truncated: int    # how many texts were longer than seq_len

    @property
    def truncation_rate(self) -> float:
        return self.truncated / max(len(self.ids), 1)


class Tokenizer:
    """The model's own tokenizer (tokenizer.json if present, else vocab.txt), padded and truncated."""

    def __init__(self, model_dir: Path, lowercase: bool = True):
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers.implementations import BertWordPieceTokenizer

        model_dir = Path(model_dir)
        self.vocab_path = model_dir / "vocab.txt"
        if (model_dir / "tokenizer.json").exists():
            self._tok = HFTokenizer.from_file(str(model_dir / "tokenizer.json"))
        elif self.vocab_path.exists():
            self._tok = BertWordPieceTokenizer(str(self.vocab_path), lowercase=lowercase)
        else:
            raise UserError(f"{model_dir}: no tokenizer.json or vocab.txt next to the model weights")
        self._tok.no_truncation()
        self._tok.no_padding()
        self.pad_id = self._tok.token_to_id("[PAD]") or 0

    def encode(self, texts, seq_len: int) -> Encoded:
        texts = list(texts)
        encodings = self._tok.encode_batch(texts)
        ids = np.full((len(texts), seq_len), self.pad_id, dtype=np.int32)
        mask = np.zeros((len(texts), seq_len), dtype=np.int32)
        truncated = 0
        for row, enc in enumerate(encodings):
            tokens = enc.ids
            if len(tokens) > seq_len:
                truncated += 1
                tokens = tokens[:seq_len - 1] + tokens[-1:]  # keep [SEP] last, as HF truncation does
            ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1
        return Encoded(ids, mask, truncated)


@dataclass(frozen=True)
class EncodedSplit:
    ids: np.ndarray
    mask: np.ndarray
    labels: np.ndarray
    texts: tuple[str, ...]


def encode_split(tokenizer: Tokenizer, examples, seq_len: int) -> tuple[EncodedSplit, Encoded]:
    enc = tokenizer.encode([e.text for e in examples], seq_len)
    labels = np.array([e.label for e in examples], dtype=np.int64)
    return EncodedSplit(enc.ids, enc.mask, labels, tuple(e.text for e in examples)), enc
