"""Quantization-aware training: ternary (TernaryBERT/TWN, optionally loss-aware) or int8 weights,
8-bit symmetric activations, straight-through estimators.

    quantize_model(model, QuantSpec(weights="ternary", activations=8, lat=False))

swaps, in place, every SliceLinear for a QuantLinear, the word embedding for a QuantEmbedding and
every Layer for a QuantLayer (8-bit inputs of the two attention matmuls). The swap changes the
modules' class and keeps their Parameters, so weight keys stay those of a plain Encoder and
`extract_quantized` can slice a quantized supernet like `extract` slices a plain one; the only
new state is one activation range per quantized tensor (`*.act*.range`).

Weights are quantized *after* width slicing: a slice keeps the first rows/columns and its
per-row scale is computed on what it keeps, so every sub-network of the supernet is itself a
valid ternary model (an input-column slice changes a row's mean |w|, hence its threshold).
"""

from contextlib import contextmanager
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from exporter.compress import distributed
from exporter.errors import UserError, unknown_choice
from exporter.model.encoder import Encoder, Layer, SliceLinear, sliced_state
from exporter.model.subnet import SubnetSpec

WEIGHT_KINDS = ("ternary", "int8", "fp32")
TWN_THRESHOLD = 0.7   # Δ = 0.7 · mean|w| (Li & Liu, Ternary Weight Networks)
QMAX = 127            # symmetric 8-bit: [-127, 127], zero point 0 (what the ternary delegate expects)


@dataclass(frozen=True)
class QuantSpec:
    weights: str = "ternary"
    activations: int = 8       # 8: fake-quantize Linear and attention-matmul inputs; 0: keep fp32
    lat: bool = False          # loss-aware ternarization (needs the optimizer: attach_lat)
    embeddings: bool = True    # quantize the word embeddings per row like the Linear weights
    momentum: float = 0.9      # of the running activation range

    def __post_init__(self):
        if self.weights not in WEIGHT_KINDS:
            raise unknown_choice("weight precision", self.weights, WEIGHT_KINDS)
        if self.activations not in (0, 8):
            raise unknown_choice("activation bits", self.activations, (0, 8))
        if self.lat and self.weights != "ternary":
            raise UserError(f"lat (loss-aware ternarization) needs weights='ternary', not {self.weights!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise UserError(f"activation range momentum {self.momentum!r} must be in [0, 1)")

    def to_dict(self) -> dict:
        return asdict(self)


def ternarize(w: torch.Tensor, d: torch.Tensor | None = None) -> torch.Tensor:
    """Per row (last dim): values in {-α, 0, +α}. No gradient; see `fake_weight` for the STE.

    TWN: Δ = 0.7·mean|w|, α = mean of |w| above Δ. With `d` (loss-aware, LAT) the means are
    weighted by the curvature estimate d = sqrt(Adam's second moment): one step of Hou & Kwok's
    alternating solution as TernaryBERT approximates it, so weights the loss is sensitive to
    dominate the threshold and the scale.
    """
    w = w.detach()
    a = w.abs()
    if d is None:
        delta = TWN_THRESHOLD * a.mean(-1, keepdim=True)
        keep = a > delta  # bool masks and where(): the same values as float masks, fewer passes
        alpha = torch.where(keep, a, 0.0).sum(-1, keepdim=True) / keep.sum(-1, keepdim=True).clamp(min=1)
    else:
        d = d.detach()
        delta = TWN_THRESHOLD * (d * a).sum(-1, keepdim=True) / d.sum(-1, keepdim=True).clamp(min=1e-12)
        keep = a > delta
        da = torch.where(keep, d, 0.0)
        alpha = (da * a).sum(-1, keepdim=True) / da.sum(-1, keepdim=True).clamp(min=1e-12)
    return torch.sign(w).mul_(keep).mul_(alpha)


def _symmetric_int8(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """round(x / scale) clamped to [-127, 127], times scale; in place on one new tensor, not four."""
    return (x / scale).round_().clamp_(-QMAX, QMAX).mul_(scale)


def int8_rows(w: torch.Tensor) -> torch.Tensor:
    """Per-row symmetric int8: scale = max|w_row| / 127, values round(w / scale) · scale."""
    w = w.detach()
    return _symmetric_int8(w, w.abs().amax(-1, keepdim=True).clamp(min=1e-12) / QMAX)


class _Straight(torch.autograd.Function):
    """Forward: the given quantized values, exactly (`w + (q - w).detach()` would round to values
    that are not exactly ternary). Backward: the gradient times `pass_mask` (1 or True = straight
    through; a bool mask is a quarter of a float one's memory)."""

    @staticmethod
    def forward(ctx, x, q, pass_mask):
        ctx.save_for_backward(pass_mask)
        return q

    @staticmethod
    def backward(ctx, grad):
        (pass_mask,) = ctx.saved_tensors
        return grad * pass_mask, None, None


def fake_weight(w: torch.Tensor, kind: str, d: torch.Tensor | None = None) -> torch.Tensor:
    """Quantized values forward, identity gradient backward (straight-through estimator)."""
    if kind == "fp32":
        return w
    q = ternarize(w, d) if kind == "ternary" else int8_rows(w)
    return _Straight.apply(w, q, torch.ones((), dtype=w.dtype))


def fake_act(x: torch.Tensor, bound: torch.Tensor) -> torch.Tensor:
    """8-bit symmetric fake quantization with range `bound`; the STE passes gradients inside the range.
    Rounds in fp32 whatever `x` is: under bfloat16 autocast (matmul.py) x / scale has 8 significant
    bits, so values near the range would round to another step than the exported file's."""
    x = x.to(torch.promote_types(x.dtype, torch.float32))  # bfloat16 -> fp32; fp32 and float64 stay
    q = _symmetric_int8(x.detach(), bound.detach().clamp(min=1e-8) / QMAX)
    if not (torch.is_grad_enabled() and x.requires_grad):
        return q  # evaluation: the same values, no gradient mask to build
    return _Straight.apply(x, q, x.detach().abs() <= bound)


class ActQuant(nn.Module):
    """Per-tensor 8-bit activations. The range is a running max of |x| over training batches (EMA),
    reduced over ranks under DDP, and used as it is in eval: the export's static scale is range/127."""

    def __init__(self, momentum: float = 0.9):
        super().__init__()
        self.momentum = momentum
        self.register_buffer("range", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                seen = distributed.all_max_(x.detach().abs().amax().reshape(()).clone())
                new = seen if self.range == 0 else self.momentum * self.range + (1 - self.momentum) * seen
                self.range.copy_(new)
        bound = self.range if self.range > 0 else x.detach().abs().amax()  # uncalibrated: dynamic range
        return fake_act(x, bound)

    @property
    def scale(self) -> float:
        return float(self.range.clamp(min=1e-8)) / QMAX


class QuantLinear(SliceLinear):
    """SliceLinear whose (sliced) weight is ternary or int8 and whose input is 8-bit."""

    kind: str
    act: ActQuant | None
    second_moment = None  # set by attach_lat: a callable returning Adam's exp_avg_sq of the weight

    def _curvature(self, rows: int, cols: int) -> torch.Tensor | None:
        """LAT's d = sqrt(v): live from the optimizer while training, else the stored copy (bake_lat)."""
        v = self.second_moment() if self.second_moment is not None else None
        if v is None:
            v = getattr(self, "weight_curvature", None)
            if v is None or not bool(v.any()):
                return None  # no statistics yet: TWN
        return v[:rows, :cols].sqrt() + 1e-8

    def effective_weight(self, rows: int, cols: int) -> torch.Tensor:
        w = super().effective_weight(rows, cols)
        return fake_weight(w, self.kind, self._curvature(rows, cols) if self.kind == "ternary" else None)

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.act is None else self.act(x)


@contextmanager
def fixed_weights(model: nn.Module):
    """Evaluation over many batches (under torch.no_grad): each Linear's effective weight (sliced and
    quantized: ternarized, or int8 per row) computed once per shape instead of once per batch. The
    same values as without it; ternary evaluation spent most of its time re-quantizing weights."""
    patched = []
    for module in model.modules():
        if isinstance(module, SliceLinear) and type(module).effective_weight is not SliceLinear.effective_weight:
            compute, memo = module.effective_weight, {}

            def cached(rows: int, cols: int, compute=compute, memo=memo) -> torch.Tensor:
                if (rows, cols) not in memo:
                    memo[rows, cols] = compute(rows, cols)
                return memo[rows, cols]

            module.effective_weight = cached  # an instance attribute shadows the method
            patched.append(module)
    try:
        yield model
    finally:
        for module in patched:
            del module.effective_weight


class QuantEmbedding(nn.Embedding):
    """Word embeddings quantized per row; only the looked-up rows are quantized (same values, less work)."""

    kind: str

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return fake_weight(super().forward(ids), self.kind)


class QuantLayer(Layer):
    """8-bit inputs of the attention matmuls: q, k for the scores, probabilities and v for the context."""

    def attention_scores(self, q, k):
        return super().attention_scores(self.act_q(q), self.act_k(k))

    def attention_context(self, probs, v):
        return super().attention_context(self.act_p(probs), self.act_v(v))


def _become(module: nn.Module, cls: type) -> None:
    # Changing the class keeps the module's Parameters (same objects, same state_dict keys).
    module.__class__ = cls


def quantize_model(model: Encoder, spec: QuantSpec) -> Encoder:
    """Make `model` quantization-aware in place (see module docstring); returns it for chaining."""
    if getattr(model, "quant_spec", None) is not None:
        raise ValueError(f"model is already quantized with {model.quant_spec}")
    acts = spec.activations == 8
    for layer in model.layers:
        for name in ("q", "k", "v", "attn_out", "ffn_in", "ffn_out"):
            lin = getattr(layer, name)
            _become(lin, QuantLinear)
            lin.kind = spec.weights
            lin.act = ActQuant(spec.momentum) if acts else None
            if spec.lat:
                # Adam's second moments, kept with the weights so evaluation, extraction and export
                # ternarize exactly as the last training step did.
                lin.register_buffer("weight_curvature", torch.zeros_like(lin.weight))
        if acts:
            _become(layer, QuantLayer)
            for name in ("act_q", "act_k", "act_p", "act_v"):
                setattr(layer, name, ActQuant(spec.momentum))
    if spec.embeddings and spec.weights != "fp32":
        _become(model.word, QuantEmbedding)
        model.word.kind = spec.weights
    model.quant_spec = spec
    return model


def extract_quantized(model: Encoder, spec: SubnetSpec) -> Encoder:
    """`extract` for a quantized supernet: a smaller quantized model computing the same slice."""
    qspec = getattr(model, "quant_spec", None)
    if qspec is None:
        raise ValueError("model is not quantized; use exporter.model.encoder.extract")
    small = quantize_model(Encoder(model.cfg, spec), qspec)
    small.load_state_dict(sliced_state(model, spec))
    return small.eval()


def attach_lat(model: Encoder, optimizer: torch.optim.Optimizer) -> None:
    """Loss-aware ternarization reads each weight's Adam second moment (exp_avg_sq) at forward time.

    Pass as `trainer.train(..., on_optimizer=lambda opt: attach_lat(model, opt))`. Before the first
    optimizer step there is no second moment yet and TWN's unweighted rule is used.
    """
    for module in model.modules():
        if isinstance(module, QuantLinear):
            weight = module.weight
            module.second_moment = (lambda w=weight: optimizer.state.get(w, {}).get("exp_avg_sq"))


@torch.no_grad()
def bake_lat(model: Encoder) -> None:
    """After training: store each weight's second moment in `weight_curvature` and let go of the optimizer."""
    for module in model.modules():
        if isinstance(module, QuantLinear) and module.second_moment is not None:
            v = module.second_moment()
            if v is not None:
                module.weight_curvature.copy_(v)
            module.second_moment = None


def weight_bits(spec: QuantSpec | None) -> int:
    if spec is None or spec.weights == "fp32":
        return 32
    return 2 if spec.weights == "ternary" else 8
