"""Attention written in 3D for one sentence, so a length-adaptive .pte stays one XNNPACK partition.

The encoder's attention works on [batch, heads, S, S] scores. torch.matmul on those 4D tensors
lowers to bmm on [heads, S, S] between two views, and in a file whose length S is dynamic both
views name S twice: XNNPACK takes a reshape with at most one symbolic size (passes.py
infer_symbolic_dim), so each stays an `et_view` on ExecuTorch's own kernels, and each one splits
the XNNPACK delegate. A full-size int8-dynamic .pte had 20 delegate calls and 12 such views per
sentence, each call reshaping and dispatching its own XNNPACK runtime.

A file holds one sentence (batch 1), so the heads can be the batch of bmm from the start:
[S, heads * d] -> [S, heads, d] -> [heads, S, d] (one symbolic size), scores [heads, S, S] straight
out of bmm, the additive mask as [1, 1, S], the context [heads, S, d] -> [S, heads * d]. Same
arithmetic, same order: the rewritten model's logits equal the original's (test). The layer's
own hooks (attention_scores / attention_context, e.g. the frozen ternary model's 8-bit steps) are
kept: the rewrite only changes the shapes they see.
"""

import copy

from torch import nn

from exporter.model.encoder import Layer


class OneSentenceAttention:
    """Mixed in before a Layer class: its attention for batch 1 in 3D (any other batch: the Layer's)."""

    def attend(self, x, add_mask, heads: int):
        b, s, _ = x.shape
        if b != 1:
            return super().attend(x, add_mask, heads)

        def split(t):  # [1, S, inner] -> [heads, S, d]
            return t.reshape(s, heads, self.head_dim).transpose(0, 1)

        inner = heads * self.head_dim
        q, k, v = (split(t) for t in self.project_qkv(x, inner))
        scores, probs = self.softmax(self.attention_scores(q, k), add_mask.reshape(1, 1, s))
        return self.attention_context(self.drop(probs), v).transpose(0, 1).reshape(1, s, inner), scores


_CLASSES: dict[type, type] = {}


def _one_sentence(cls: type) -> type:
    if cls not in _CLASSES:
        _CLASSES[cls] = type(f"OneSentence{cls.__name__}", (OneSentenceAttention, cls), {})
    return _CLASSES[cls]


def with_one_sentence_attention(model: nn.Module) -> nn.Module:
    """A copy of `model` (eval) whose encoder layers compute attention in 3D for batch 1."""
    out = copy.deepcopy(model).eval()
    for module in out.modules():
        if isinstance(module, Layer) and not isinstance(module, OneSentenceAttention):
            module.__class__ = _one_sentence(type(module))
    return out
