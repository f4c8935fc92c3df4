"""The teacher rewritten in Hugging Face BERT's op order, with plain nn modules and the same weights.

Why a second module: ONNX Runtime's transformer fuser (onnxruntime/transformers/fusion_*.py)
matches the graph HF's BertModel exports, and our Encoder (exporter/model/encoder.py) differs in
ways that stop every fusion: its mask is scaled before it is unsqueezed, its scores are multiplied
by 1/sqrt(d) (the fuser wants a Div), its position rows are a slice of the weight, not a Gather,
and its Linear layers are SliceLinear, which torch's quantize_dynamic does not swap (it matches
module types exactly). This one is for export only: no slicing, no dropout, no distillation
features. Attribute names mirror the Encoder's, so `load_state_dict(encoder.state_dict())` is
strict and the weights are the teacher's, bit for bit.

What the fuser matches (fusion_attention.py, fusion_embedlayer.py, fusion_skiplayernorm.py):
- mask: Add(scores, Mul(Sub(1, Cast(Unsqueeze(Unsqueeze(mask)))), value)), computed once;
- scores: Div(MatMul(q, k^T), sqrt(head_dim)), q/k/v each MatMul -> Add -> Reshape -> Transpose;
- context: Reshape(Transpose(MatMul(probs, v))) -> MatMul -> Add -> Add(residual) -> LayerNorm;
- embeddings: Add(Add(Gather(word, ids), Gather(type, type_ids)), Gather(position, Slice(ids)));
- gelu: the erf form (Div, Erf, Add, Mul, Mul) after the Linear's Add.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from exporter.model.encoder import MASK_VALUE


class BertLayer(nn.Module):
    def __init__(self, hidden: int, heads: int, head_dim: int, ffn: int, eps: float):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.q, self.k, self.v = nn.Linear(hidden, inner), nn.Linear(hidden, inner), nn.Linear(hidden, inner)
        self.attn_out = nn.Linear(inner, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.ffn_in = nn.Linear(hidden, ffn)
        self.ffn_out = nn.Linear(ffn, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps)

    def _split(self, t: torch.Tensor) -> torch.Tensor:
        return t.view(t.size()[:-1] + (self.heads, self.head_dim)).permute(0, 2, 1, 3)

    def forward(self, x: torch.Tensor, extended_mask: torch.Tensor) -> torch.Tensor:
        q, k, v = self._split(self.q(x)), self._split(self.k(x)), self._split(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        probs = torch.softmax(scores + extended_mask, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous()
        ctx = ctx.view(ctx.size()[:-2] + (self.heads * self.head_dim,))
        x = self.attn_norm(self.attn_out(ctx) + x)
        return self.ffn_norm(self.ffn_out(F.gelu(self.ffn_in(x))) + x)


class BertForm(nn.Module):
    """`forward(ids, mask) -> logits`, equal to the Encoder's up to float rounding."""

    def __init__(self, cfg, heads: int, ffn: int, layers: int):
        super().__init__()
        self.cfg = cfg
        self.word = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.position = nn.Embedding(cfg.max_positions, cfg.hidden)
        self.token_type = nn.Embedding(cfg.type_vocab, cfg.hidden)
        self.emb_norm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(BertLayer(cfg.hidden, heads, cfg.head_dim, ffn, cfg.layer_norm_eps)
                                    for _ in range(layers))
        self.classifier = nn.Linear(cfg.hidden, cfg.num_labels)
        # HF's position_ids buffer: sliced to the input's length, so the fuser sees Shape -> Slice.
        self.register_buffer("position_ids", torch.arange(cfg.max_positions)[None], persistent=False)

    @classmethod
    def from_encoder(cls, encoder) -> "BertForm":
        """A copy of `encoder`'s weights in this form; `encoder` must run its full built size."""
        from exporter.model.subnet import FULL

        if encoder.active != FULL:
            raise ValueError(f"encoder runs slice {encoder.active}; build the peer from extract(model, spec)")
        first = encoder.layers[0]
        form = cls(encoder.cfg, first.heads, first.ffn_in.out_features, len(encoder.layers))
        form.load_state_dict(encoder.state_dict(), strict=True)
        return form.eval()

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # All-zero segment ids computed from ids (not a constant, which the exporter would fold
        # into the first Add and hide the segment Gather from the embedding fusion).
        x = self.word(ids) + self.token_type(ids * 0)
        x = self.emb_norm(x + self.position(self.position_ids[:, :ids.size(1)]))
        # The additive mask once, in the order the fuser matches; MASK_VALUE as in the Encoder, which
        # the fused Attention keeps as its mask_filter_value.
        extended = (1.0 - mask.unsqueeze(1).unsqueeze(2).to(torch.float32)) * MASK_VALUE
        for layer in self.layers:
            x = layer(x, extended)
        maskf = mask.to(torch.float32)
        pooled = (x * maskf[:, :, None]).sum(1) / maskf.sum(1, keepdim=True).clamp(min=1.0)
        return self.classifier(pooled)
