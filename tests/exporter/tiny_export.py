"""A tiny BERT directory and a small labelled data file: what the in-process export tests export."""

from pathlib import Path


def tiny_data(path: Path) -> Path:
    """80 two-class sentences of 4-9 words from a 100-word vocabulary, as text<TAB>label."""
    words = [f"w{i}" for i in range(100)]
    lines = ["text\tlabel"]
    for i in range(80):
        label = i % 2
        picked = [words[(7 * i + 3 * k + 50 * label) % 100] for k in range(4 + i % 6)]
        lines.append(f"{' '.join(picked)}\t{'pos' if label else 'neg'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_bert(where: Path, layers: int = 2) -> Path:
    """A random 2-layer transformers BertModel (the TINY shape) with its vocab, saved as safetensors."""
    import torch
    from transformers import BertConfig, BertModel

    from tests.conftest import TINY, VOCAB

    cfg = BertConfig(vocab_size=TINY.vocab_size, hidden_size=TINY.hidden, num_hidden_layers=layers,
                     num_attention_heads=TINY.heads, intermediate_size=TINY.ffn, max_position_embeddings=64)
    torch.manual_seed(1)
    model_dir = where / "tiny-bert"
    BertModel(cfg).eval().save_pretrained(model_dir, safe_serialization=True)
    (model_dir / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return model_dir
