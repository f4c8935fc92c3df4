"""Int8 word embeddings: one int8 row and one fp32 scale per token, dequantized in the graph.

MiniLM's word table (30,522 x 384) is its largest tensor: 46.9 MB in fp32, 80 % of an int8 file
whose Linears are already int8. Here it is stored symmetric per row (scale_n = max|w_n| / 127,
q = round(w / scale_n) in [-127, 127]: 11.7 MB + 0.1 MB of scales) and the forward pass gathers
only the looked-up rows and their scales, casts and multiplies, as the 2-bit table does
(exporter/compress/packed_embedding.py). Those are ops every runtime already has: ExecuTorch's
portable index kernel, TFLite's GATHER_ND on an int8 constant then CAST and MUL. (LiteRT's
EMBEDDING_LOOKUP refused per-channel int8 tables: DESIGN.md.)

Both backends apply `with_int8_word_table` to a copy of the model before their int8 quantizers
run; the quantizers leave `Int8Embedding` alone (backends/int8_scope.py), so the table is never
re-quantized.
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

QMAX = 127  # symmetric: -128 is never used, so negating a row cannot overflow


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 [V, H], fp32 scale [V]) with |w - q * scale| <= scale / 2 on every entry.

    An all-zero row gets scale 1 (q = 0), so no scale is ever zero or inf.
    """
    w = weight.detach().to(torch.float32)
    amax = w.abs().amax(-1)
    scale = torch.where(amax > 0, amax / QMAX, torch.ones_like(amax))
    q = torch.round(w / scale[:, None]).clamp(-QMAX, QMAX).to(torch.int8)
    return q, scale


class Int8Embedding(nn.Module):
    """Drop-in for nn.Embedding: `forward(ids) -> float32 [..., dim]`, table stored int8 per row."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        q, scale = quantize_rows(weight)
        self.num_embeddings, self.embedding_dim = weight.shape
        self.register_buffer("table", q)
        self.register_buffer("scale", scale.reshape(-1, 1).contiguous())

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.table).to(torch.float32) * F.embedding(ids, self.scale)

    @property
    def weight(self) -> torch.Tensor:
        """The dequantized table (for tests and inspection; the graph never builds it)."""
        return self.table.to(torch.float32) * self.scale

    def stored_bytes(self) -> int:
        return self.table.numel() + 4 * self.scale.numel()


def with_int8_word_table(model: nn.Module) -> nn.Module:
    """A copy of an Encoder whose word table is an Int8Embedding (the model itself is unchanged).

    A table that is not a plain float nn.Embedding (already packed, or ternary) is kept as it is.
    """
    word = getattr(model, "word", None)
    if type(word) is not nn.Embedding or not word.weight.is_floating_point():
        return model
    out = copy.copy(model)               # shallow: shares every other submodule and parameter
    out._modules = dict(model._modules)  # ... but not the module table we change
    out.word = Int8Embedding(word.weight)
    return out.eval()


WORD_TABLES = ("fp32", "int8")


def word_table_option(model: nn.Module, spec) -> tuple[nn.Module, str]:
    """An fp32 lowering's word table as its LowerSpec option `word_table` asks: (model, scheme words).

    "int8" (the fp32-emb8 variants) stores it int8 per row: a third of an fp32 MiniLM file, the
    same Linears and the same speed (one row is gathered per token either way).
    """
    from exporter.errors import unknown_choice

    table = spec.option("word_table", "fp32")
    if table not in WORD_TABLES:
        raise unknown_choice("word_table", table, WORD_TABLES)
    if table == "fp32":
        return model, "none (fp32)"
    return with_int8_word_table(model), "fp32; word table int8 per row"
