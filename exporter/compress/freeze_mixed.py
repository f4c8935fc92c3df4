"""A fixed mixed-precision model (mixed.py) in export form: integer codes and scales, pruned units gone.

    small = freeze_mixed(model)        # an Encoder computing what `model` computes, up to float order

- Each Linear becomes a SplitLinear: its stored rows split by how a stock ExecuTorch file holds
  them, "int8" (8-bit rows) and "int4" (4-bit rows, and ternary rows as codes {-7, 0, 7} with
  scale alpha / 7: XNNPACK has no 2-bit weights), one matmul per storage on the per-token int8
  input, the outputs concatenated and put back in row order (`order`) unless one storage holds them all.
- Pruned heads are dropped (their q/k/v rows, attn_out columns): each layer has its own head
  count. Pruned FFN neurons are dropped and the kept ones ordered int8-stored first, so ffn_in's
  output needs no reordering; ffn_out's columns follow that order.
- The word table becomes a MixedWordTable: 8-bit rows as int8, 4-bit rows two codes per byte,
  ternary rows four per byte (packed_embedding.py), and per token its slot in its table and its width.

Codes come from the same zero-filled rows the mixed model quantizes (MixedLinear.in_keep), so the
values are the model's own; backends/executorch/mixed_xnnpack.py lowers the result.
"""

import copy

import torch
import torch.nn.functional as F
from torch import nn

from backends.int8_embedding import Int8Embedding
from exporter.compress.mixed import PRUNED, is_mixed, symmetric_codes
from exporter.compress.packed_embedding import PackedInt4Embedding, PackedTernaryEmbedding
from exporter.compress.ptq import int8_per_token
from exporter.compress.quant import ternarize
from exporter.errors import UserError
from exporter.model.encoder import Encoder, Layer

STORAGES = ("int8", "int4")   # matmul order inside a SplitLinear


def row_codes(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(int8 codes [N, K], fp32 scale [N]) with codes * scale == mixed.quantize_rows(w, bits)
    (ternary: codes 7t, scale alpha / 7, equal up to one rounding of the division)."""
    w = w.detach().to(torch.float32)
    if bits == 2:
        t = ternarize(w)
        alpha = t.abs().amax(-1)
        return (torch.sign(t) * 7).to(torch.int8), alpha / 7
    codes, scale = symmetric_codes(w, bits)
    return codes.to(torch.int8), scale[:, 0]


def code_bytes(storage: str, codes: torch.Tensor) -> int:
    """Bytes of a part's codes in the file: int4 two per byte."""
    return (codes.numel() + 1) // 2 if storage == "int4" else codes.numel()


def storage_of(bits: int) -> str:
    return "int8" if bits == 8 else "int4"


class SplitLinear(nn.Module):
    """A Linear whose rows are stored in up to two integer formats; same call as SliceLinear."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, row_bits: torch.Tensor, rows: torch.Tensor,
                 cols: torch.Tensor | None = None):
        """`weight` [N, K] the zero-filled float weight, `row_bits` [N] each row's width, `rows` the
        rows to store (in output order), `cols` the input columns to keep (in input order)."""
        super().__init__()
        codes = torch.zeros(weight.shape, dtype=torch.int8)
        scale = torch.zeros(len(weight))
        for bits in {int(b) for b in row_bits[rows]}:
            mine = rows[row_bits[rows] == bits]
            codes[mine], scale[mine] = row_codes(weight[mine], bits)
        if cols is not None:
            codes = codes[:, cols]
        self.storages, parts = [], []
        for storage in STORAGES:
            mine = torch.tensor([r for r in rows.tolist() if storage_of(int(row_bits[r])) == storage], dtype=torch.int64)
            if len(mine) == 0:
                continue
            self.register_buffer(f"{storage}_codes", codes[mine].contiguous())
            self.register_buffer(f"{storage}_scale", scale[mine].contiguous())
            self.register_buffer(f"{storage}_bias", bias.detach()[mine].clone())
            self.storages.append(storage)
            parts.append(mine)
        stacked = torch.cat(parts)
        self.out_features, self.in_features = len(stacked), codes.shape[1]
        # where each stored row sits in the concatenated output, in `rows` order
        where = {int(r): i for i, r in enumerate(stacked)}
        order = torch.tensor([where[int(r)] for r in rows])
        self.register_buffer("order", None if torch.equal(order, torch.arange(len(order))) else order)

    def part_weight(self, storage: str) -> torch.Tensor:
        return getattr(self, f"{storage}_codes").to(torch.float32) * getattr(self, f"{storage}_scale")[:, None]

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        return int8_per_token(x)

    def forward(self, x: torch.Tensor, rows: int | None = None, cols: int | None = None) -> torch.Tensor:
        assert rows in (None, self.out_features) and cols in (None, self.in_features), "a frozen Linear runs whole"
        xq = self.quantize_input(x)  # once: XNNPACK then quantizes the input once for both parts
        outs = [F.linear(xq, self.part_weight(s), getattr(self, f"{s}_bias")) for s in self.storages]
        y = outs[0] if len(outs) == 1 else torch.cat(outs, -1)
        if self.order is None:
            return y
        # rows back in order as a gather of rows of y^T (aten.embedding: a row copy on ExecuTorch's
        # portable kernels; index_select of columns took ~0.08 ms per call at 64 tokens)
        flat = y.reshape(-1, y.shape[-1]).transpose(0, 1)
        return F.embedding(self.order, flat).transpose(0, 1).reshape(*y.shape[:-1], -1)


class FrozenMixedLayer(Layer):
    """A Layer with its own head and neuron counts (pruning leaves each layer its own)."""

    def forward(self, x, add_mask, heads: int, neurons: int):
        return super().forward(x, add_mask, self.heads, self.ffn_in.out_features)


class MixedWordTable(nn.Module):
    """Word embeddings whose rows are stored at 8, 4 or 2 bits; a token reads its own table."""

    def __init__(self, weight: torch.Tensor, row_bits: torch.Tensor):
        super().__init__()
        self.num_embeddings, self.embedding_dim = weight.shape
        slot = torch.zeros(len(row_bits), dtype=torch.int64)
        self.widths = []
        for bits in (8, 4, 2):
            mine = (row_bits == bits).nonzero()[:, 0]
            if len(mine) == 0:
                continue
            slot[mine] = torch.arange(len(mine))
            rows = weight[mine].detach()
            # Int8Embedding stores max|row| / 127 per row, the codes and scales of symmetric_codes(rows, 8)
            table = (PackedTernaryEmbedding(ternarize(rows)) if bits == 2
                     else PackedInt4Embedding(*row_codes(rows, 4)) if bits == 4 else Int8Embedding(rows))
            setattr(self, f"table{bits}", table)
            self.widths.append(bits)
        self.register_buffer("slot", slot.to(torch.int32))   # 4 B per token; int16 would not hold 30,522 slots safely
        self.register_buffer("width", row_bits.to(torch.int8))

    def slot_of(self, ids: torch.Tensor) -> torch.Tensor:
        # gathers as aten.embedding (a row copy on ExecuTorch's portable kernels, not its slow index)
        return F.embedding(ids, self.slot[:, None])[..., 0].to(torch.int64)

    def width_of(self, ids: torch.Tensor) -> torch.Tensor:
        return F.embedding(ids, self.width[:, None])

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        slot = self.slot_of(ids)
        if len(self.widths) == 1:
            return getattr(self, f"table{self.widths[0]}")(slot)
        width = self.width_of(ids)
        out = None
        for bits in self.widths:
            table = getattr(self, f"table{bits}")
            rows = table(slot.clamp(max=table.num_embeddings - 1)) * (width == bits).to(torch.float32)
            out = rows if out is None else out + rows
        return out


def _frozen_layer(layer, cfg) -> FrozenMixedLayer:
    heads = layer.heads_arch.chosen_bits().bool() if layer.heads_arch is not None else torch.ones(layer.heads, dtype=bool)
    kept_heads = heads.nonzero()[:, 0]
    neuron_bits = layer.ffn_in.row_bits()
    kept = (neuron_bits != PRUNED).nonzero()[:, 0]
    if len(kept_heads) == 0 or len(kept) == 0:
        raise UserError("a layer with every head or every FFN neuron pruned is not exportable yet; "
                        "search with a larger --size-mb")
    neurons = torch.cat([kept[neuron_bits[kept] == 8], kept[neuron_bits[kept] != 8]])  # int8-stored first
    head_rows = (kept_heads[:, None] * layer.head_dim + torch.arange(layer.head_dim)).reshape(-1)
    out = FrozenMixedLayer(cfg.hidden, len(kept_heads), layer.head_dim, len(neurons), cfg.layer_norm_eps, 0.0)
    all_rows = torch.arange(cfg.hidden)
    for name in ("q", "k", "v"):
        lin = getattr(layer, name)
        setattr(out, name, SplitLinear(lin.weight, lin.bias, lin.row_bits(), head_rows))
    head_cols = torch.zeros(layer.attn_out.in_features).index_fill_(0, head_rows, 1.0)
    out.attn_out = SplitLinear(layer.attn_out.weight * head_cols, layer.attn_out.bias, layer.attn_out.row_bits(),
                               all_rows, cols=head_rows)
    out.ffn_in = SplitLinear(layer.ffn_in.weight, layer.ffn_in.bias, neuron_bits, neurons)  # in storage order
    neuron_cols = (neuron_bits != PRUNED).to(torch.float32)
    out.ffn_out = SplitLinear(layer.ffn_out.weight * neuron_cols, layer.ffn_out.bias, layer.ffn_out.row_bits(),
                              all_rows, cols=neurons)
    out.attn_norm.load_state_dict(layer.attn_norm.state_dict())
    out.ffn_norm.load_state_dict(layer.ffn_norm.state_dict())
    return out


@torch.no_grad()
def freeze_mixed(model: Encoder) -> Encoder:
    """Export form of a mixed model whose bit map is fixed (mixed.fix_bits)."""
    if not is_mixed(model) or not model.quant_spec.fixed:
        raise ValueError("freeze_mixed takes a mixed-precision model with a fixed bit map (fix_bits)")
    cfg = model.cfg
    small = Encoder(cfg)
    for name in ("position", "token_type", "emb_norm", "classifier"):
        getattr(small, name).load_state_dict(getattr(model, name).state_dict())
    small.word = MixedWordTable(model.word.weight, model.word.row_bits())
    small.layers = nn.ModuleList(_frozen_layer(layer, cfg) for layer in model.layers)
    small.quant_spec = copy.copy(model.quant_spec)
    return small.eval()


def stored_bytes(frozen: Encoder) -> int:
    """What the frozen model stores: codes at their storage width (int4: half a byte), scales,
    biases, the word tables, its slot / width arrays, and every fp32 parameter."""
    total = 0
    for name, t in frozen.state_dict().items():
        if name.endswith("_codes"):
            total += code_bytes(name.split(".")[-1].removesuffix("_codes"), t)
        else:
            total += t.numel() * t.element_size()
    return total
