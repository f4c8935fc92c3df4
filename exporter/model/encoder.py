"""A plain BERT encoder + mean-pooling classifier, written for export.

Why not transformers' BertModel: its graph lowers to ExecuTorch ~3x slower and trips the
pt2e quantizer (DESIGN.md). This one is nn.Linear / LayerNorm / softmax with an additive
mask, static shapes, no data-dependent control flow, int32 or int64 ids.

Width and depth slicing (DynaBERT): `model.active = SubnetSpec(...)` makes forward use the
first heads / FFN neurons / the kept layers of a full-size model (training the supernet);
`extract(model, spec)` builds a physically smaller model for export. Units are kept in
stored order: rewiring (compress/) permutes weights so the most important come first.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from exporter.model.config import EncoderConfig
from exporter.model.subnet import FULL, SubnetSpec


class SliceLinear(nn.Linear):
    """nn.Linear that can run on its first `rows` outputs / first `cols` inputs.

    Quantization-aware subclasses override `effective_weight` and `quantize_input`.
    """

    def effective_weight(self, rows: int, cols: int) -> torch.Tensor:
        w = self.weight
        if rows < w.shape[0]:
            w = w[:rows]
        if cols < w.shape[1]:
            w = w[:, :cols]
        return w

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def forward(self, x: torch.Tensor, rows: int | None = None, cols: int | None = None) -> torch.Tensor:
        rows = self.out_features if rows is None else rows
        cols = self.in_features if cols is None else cols
        bias = self.bias if rows == self.out_features else self.bias[:rows]
        return F.linear(self.quantize_input(x), self.effective_weight(rows, cols), bias)


class Dropout(nn.Dropout):
    """nn.Dropout whose mask is `rand >= p`: the same distribution in about a third of the time of
    torch's CPU bernoulli (32 x 40 x 384 floats, 2 threads: 5.3 ms -> 1.9 ms), which was 15 % of
    a supernet training step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        scaled_keep = torch.rand(x.shape).ge_(self.p).mul_(1.0 / (1.0 - self.p))  # in place: one pass less
        return x * scaled_keep.to(x.dtype)


MASK_VALUE = -100.0  # added to padded keys' scores; see MaskedSoftmax


class MaskedSoftmax(nn.Module):
    """softmax(scores + additive mask) over keys; returns (masked scores, probabilities).

    A module of its own so int8 quantizers can leave it in float (or give it 16 bits): one
    per-tensor scale must cover the scores and the mask. The mask is MASK_VALUE, not BERT's
    -10000: on the fine-tuned MiniLM's dev set the fp32 logits are bit-identical with either
    (real scores span [-66, 51]), while a 16-bit step over the masked scores is 0.005, not 0.3: dev
    accuracy of the full-integer .tflite 86.0 % with -100, 85.6 % with -1000 (README).
    Padded and real scores can overlap, so distillation reads Features.key_mask, not a threshold.
    """

    def forward(self, scores: torch.Tensor, add_mask: torch.Tensor):
        masked = scores + add_mask
        return masked, torch.softmax(masked, dim=-1)


@dataclass
class Features:
    """Everything TinyBERT-style distillation compares between teacher and student."""

    embeddings: torch.Tensor
    hidden: list[torch.Tensor]      # output of each kept layer
    attention: list[torch.Tensor]   # pre-softmax scores of each kept layer [B, heads, S, S], mask added
    logits: torch.Tensor
    key_mask: torch.Tensor          # bool [B, 1, 1, S]: True for real (unpadded) keys


class Layer(nn.Module):
    def __init__(self, hidden: int, heads: int, head_dim: int, ffn: int, eps: float, dropout: float):
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.q, self.k, self.v = SliceLinear(hidden, inner), SliceLinear(hidden, inner), SliceLinear(hidden, inner)
        self.softmax = MaskedSoftmax()
        self.attn_out = SliceLinear(inner, hidden)
        self.attn_norm = nn.LayerNorm(hidden, eps=eps)
        self.ffn_in = SliceLinear(hidden, ffn)
        self.ffn_out = SliceLinear(ffn, hidden)
        self.ffn_norm = nn.LayerNorm(hidden, eps=eps)
        self.drop = Dropout(dropout)

    def attention_scores(self, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return torch.matmul(q, k.transpose(-1, -2)) * (self.head_dim ** -0.5)

    def attention_context(self, probs: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return torch.matmul(probs, v)

    def project_qkv(self, x: torch.Tensor, inner: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q, K and V of the first `inner` rows, each [..., inner] (an export form may fuse them)."""
        return self.q(x, rows=inner), self.k(x, rows=inner), self.v(x, rows=inner)

    def attend(self, x, add_mask, heads: int):
        """Multi-head attention over `heads` heads: (context [B, S, heads * head_dim], scores [B, heads, S, S])."""
        b, s, _ = x.shape
        inner = heads * self.head_dim

        def split(t):
            return t.reshape(b, s, heads, self.head_dim).transpose(1, 2)

        q, k, v = (split(t) for t in self.project_qkv(x, inner))
        scores, probs = self.softmax(self.attention_scores(q, k), add_mask)
        probs = self.drop(probs)
        return self.attention_context(probs, v).transpose(1, 2).reshape(b, s, inner), scores

    def ffn_hidden(self, x: torch.Tensor, neurons: int) -> torch.Tensor:
        """GELU(x W_in^T + b) of the first `neurons` FFN neurons (mixed precision gates pruned ones)."""
        return F.gelu(self.ffn_in(x, rows=neurons))

    def forward(self, x, add_mask, heads: int, neurons: int):
        ctx, scores = self.attend(x, add_mask, heads)
        x = self.attn_norm(x + self.drop(self.attn_out(ctx, cols=heads * self.head_dim)))
        h = self.ffn_hidden(x, neurons)
        x = self.ffn_norm(x + self.drop(self.ffn_out(h, cols=neurons)))
        return x, scores


class Encoder(nn.Module):
    """BERT embeddings + layers + mean pooling + linear head. `forward(ids, mask) -> logits`."""

    def __init__(self, cfg: EncoderConfig, built: SubnetSpec = FULL):
        super().__init__()
        self.cfg, self.built = cfg, built
        self.word = nn.Embedding(cfg.vocab_size, cfg.hidden)
        self.position = nn.Embedding(cfg.max_positions, cfg.hidden)
        self.token_type = nn.Embedding(cfg.type_vocab, cfg.hidden)
        self.emb_norm = nn.LayerNorm(cfg.hidden, eps=cfg.layer_norm_eps)
        heads, neurons = built.kept_heads(cfg.heads), built.kept_neurons(cfg.ffn)
        self.layers = nn.ModuleList(
            Layer(cfg.hidden, heads, cfg.head_dim, neurons, cfg.layer_norm_eps, cfg.dropout)
            for _ in built.kept_layers(cfg.layers))
        self.drop = Dropout(cfg.dropout)
        self.classifier = nn.Linear(cfg.hidden, cfg.num_labels)
        self.active = FULL  # the slice forward runs; only a full-size model can run smaller slices

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        s = ids.shape[1]
        x = self.word(ids) + self.position.weight[:s] + self.token_type.weight[0]
        return self.drop(self.emb_norm(x))

    def _plan(self, spec: SubnetSpec | None = None):
        """(kept layer indices, heads, FFN neurons) of slice `spec` (default: the active one)."""
        spec = self.active if spec is None else spec
        if spec == FULL:
            layer = self.layers[0] if len(self.layers) else None
            heads = layer.heads if layer else 0
            neurons = layer.ffn_in.out_features if layer else 0
            return range(len(self.layers)), heads, neurons
        if self.built != FULL:
            raise ValueError(f"model built as {self.built} cannot run slice {spec}; use extract()")
        return spec.kept_layers(self.cfg.layers), spec.kept_heads(self.cfg.heads), spec.kept_neurons(self.cfg.ffn)

    @staticmethod
    def _masks(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maskf = mask.to(torch.float32)
        return maskf, ((1.0 - maskf) * MASK_VALUE)[:, None, None, :]

    def _head(self, x: torch.Tensor, maskf: torch.Tensor) -> torch.Tensor:
        pooled = (x * maskf[:, :, None]).sum(1) / maskf.sum(1, keepdim=True).clamp(min=1.0)
        return self.classifier(self.drop(pooled))

    def features(self, ids: torch.Tensor, mask: torch.Tensor) -> Features:
        maskf, add_mask = self._masks(mask)
        x = emb = self.embed(ids)
        hidden, attention = [], []
        layer_ids, heads, neurons = self._plan()
        for i in layer_ids:
            x, scores = self.layers[i](x, add_mask, heads, neurons)
            hidden.append(x)
            attention.append(scores)
        return Features(emb, hidden, attention, self._head(x, maskf), mask.bool()[:, None, None, :])

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.features(ids, mask).logits

    def slice_logits(self, ids: torch.Tensor, mask: torch.Tensor, slices: list[SubnetSpec]) -> list[torch.Tensor]:
        """The logits of each slice in `slices`, as `self.active = s; self(ids, mask)` would give them,
        computing each layer output that slices share only once: the embeddings, and the output
        of a common prefix of kept layers at the same width (depths 1, 0.75 and 0.5 of 6 layers keep
        0-5, 0-2+4 and 0+2+4: 9 layer runs instead of 13). For evaluation: dropout must be off."""
        if self.training:
            raise ValueError("slice_logits shares layer outputs between slices, so dropout must be off: call eval()")
        maskf, add_mask = self._masks(mask)
        emb = self.embed(ids)
        done: dict[tuple, torch.Tensor] = {}
        logits = []
        for spec in slices:
            layer_ids, heads, neurons = self._plan(spec)
            key, x = (heads, neurons), emb
            for i in layer_ids:
                key += (i,)
                if key not in done:
                    done[key] = self.layers[i](x, add_mask, heads, neurons)[0]
                x = done[key]
            logits.append(self._head(x, maskf))
        return logits

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def extract(model: Encoder, spec: SubnetSpec) -> Encoder:
    """A physically smaller copy holding the first heads / neurons and the kept layers of `model`."""
    small = Encoder(model.cfg, spec)
    small.load_state_dict(sliced_state(model, spec))
    return small.eval()


def sliced_state(model: Encoder, spec: SubnetSpec) -> dict[str, torch.Tensor]:
    """The state dict of `model`'s slice `spec`, keyed like a model built as `spec`.

    Only Linear weights (and `weight*` tensors of their shape) and biases are sliced; anything else
    a subclass adds (e.g. activation ranges of quantization-aware training) is copied as it is.
    """
    if model.built != FULL:
        raise ValueError(f"can only extract from a full-size model, not {model.built}")
    heads, neurons = spec.kept_heads(model.cfg.heads), spec.kept_neurons(model.cfg.ffn)
    inner = heads * model.cfg.head_dim
    state = {}
    for name, t in model.state_dict().items():
        if not name.startswith("layers."):
            state[name] = t
    for j, i in enumerate(spec.kept_layers(model.cfg.layers)):
        src = model.layers[i]
        rows = {"q": inner, "k": inner, "v": inner, "ffn_in": neurons}
        cols = {"attn_out": inner, "ffn_out": neurons}
        for name, t in src.state_dict().items():
            mod, _, kind = name.partition(".")
            # "weight*" also covers per-weight statistics a subclass keeps (e.g. weight_curvature).
            if mod in rows and (kind == "bias" or kind.startswith("weight")):
                t = t[:rows[mod]]
            elif mod in cols and kind.startswith("weight"):
                t = t[:, :cols[mod]]
            state[f"layers.{j}.{name}"] = t.clone()
    return state
