"""The bytes a mixed-precision model stores: expected under the search's distribution (a
differentiable function of the architecture logits: the size term) or exact once the bit map is
fixed. The convention of table.subnet_bytes: b/8 bytes per quantized weight plus one fp32 scale
per stored row; biases, LayerNorms, position and type embeddings and the head in fp32. A pruned
head drops its q/k/v rows and biases and its attn_out columns; a pruned FFN neuron its ffn_in row
and bias and its ffn_out column. Expectations of products are taken as products of expectations
(keep probabilities and widths are drawn independently).
"""

import torch

from exporter.compress.mixed import PRUNED, MixedLinear, is_mixed
from exporter.model.encoder import Encoder

_LINEARS = ("q", "k", "v", "attn_out", "ffn_in", "ffn_out")
MB = 1e6


def stored_bits(bits: int, linear: bool, pricing: str) -> int:
    """The bits a weight of width `bits` takes in a file (mixed.PRICINGS)."""
    return 4 if (pricing == "stock" and linear and bits == 2) else bits


def _row_bytes(module, cols, pricing: str) -> torch.Tensor:
    """Expected bytes of each stored row of a MixedLinear / MixedEmbedding given `cols` kept columns
    (a number or a 0-dim tensor); a pruned choice stores nothing, not even its scale."""
    probs = module.probs(noise=False)
    cols = torch.as_tensor(cols, dtype=probs.dtype)
    linear = isinstance(module, MixedLinear)
    per_choice = torch.stack([torch.zeros((), dtype=probs.dtype) if b == PRUNED
                              else cols * (stored_bits(b, linear, pricing) / 8) + 4.0 for b in module.choices])
    rows = module.out_features if linear else module.num_embeddings
    return (probs * per_choice).sum(-1).repeat_interleave(module.group)[:rows]


def _fp32_bytes(model: Encoder) -> int:
    """Everything not priced by width: position / type embeddings, LayerNorms, the head."""
    skip = {"word.weight"} | {f"layers.{i}.{n}.{k}" for i in range(len(model.layers)) for n in _LINEARS
                              for k in ("weight", "bias")}
    return sum(4 * p.numel() for name, p in model.named_parameters()
               if name not in skip and not name.endswith("arch"))


def model_bytes(model: Encoder) -> torch.Tensor:
    """Expected bytes (differentiable in the logits) while searching; the exact bytes once fixed."""
    if not is_mixed(model):
        raise ValueError("model_bytes needs a mixed-precision model (make_mixed)")
    pricing = model.quant_spec.pricing
    total = torch.tensor(float(_fp32_bytes(model)))
    total = total + _row_bytes(model.word, model.word.embedding_dim, pricing).sum()
    for layer in model.layers:
        head_keep = (layer.heads_arch.keep(noise=False) if layer.heads_arch is not None
                     else torch.ones(layer.heads))
        qkv_keep = head_keep.repeat_interleave(layer.head_dim)
        for lin in (layer.q, layer.k, layer.v):
            total = total + ((_row_bytes(lin, lin.in_features, pricing) + 4.0) * qkv_keep).sum()
        inner = layer.head_dim * head_keep.sum()
        total = total + _row_bytes(layer.attn_out, inner, pricing).sum() + 4.0 * layer.attn_out.out_features
        ffn_in = layer.ffn_in
        keep = ffn_in.keep_rows(ffn_in.probs(noise=False))
        total = total + _row_bytes(ffn_in, ffn_in.in_features, pricing).sum() + 4.0 * keep.sum()
        total = total + _row_bytes(layer.ffn_out, keep.sum(), pricing).sum() + 4.0 * layer.ffn_out.out_features
    return total


def size_term(expected_bytes: torch.Tensor, target_bytes: float) -> torch.Tensor:
    """(log(expected bytes / target))^2: pulls the expected size to the target from either side,
    its pull the same for 10 % over as for 10 % under."""
    return torch.log(expected_bytes / target_bytes) ** 2


def size_loss(model: Encoder, target_bytes: float) -> torch.Tensor:
    return size_term(model_bytes(model), target_bytes)
