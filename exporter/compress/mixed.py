"""Mixed precision (AQ-BERT): a bit-width per group of weight rows, searched by gradient descent.

    make_mixed(model, MixedSpec(size_mb=10))   # in place: every Linear and the word table searchable
    ... search (mixed_search.py) ...
    fix_bits(model)                            # bit map = argmax of the architecture parameters

Each Linear's output rows are cut into groups of `group_size` rows (the word table's rows too);
each group holds architecture logits over its choices: 2 (ternary, TWN), 4 or 8 bits (symmetric,
one scale per row), and for FFN neuron groups also 0 (pruned). Every attention head has a
prune / keep choice. While searching, a forward draws Gumbel-softmax weights p over the choices
and computes with sum_c p_c * quantized_c(w) (straight-through to w), FFN neurons times their keep
probability after GELU and each head's context times its keep probability, so the task loss has a
gradient for every choice (Wu et al., FBNet; Zhao et al., AQ-BERT). After `fix_bits` each group
computes with its one chosen width: the same modules, one-hot weights.

Linear inputs are quantized per token at run time (int8, as XNNPACK's and LiteRT's dynamic kernels
do; ptq.int8_per_token); the attention matmuls stay fp32, as in those files. Mixed models are
full size: pruning does what width slicing does for the supernet.
"""

from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from exporter.compress.ptq import int8_per_token
from exporter.compress.quant import _Straight, ternarize
from exporter.errors import UserError, unknown_choice
from exporter.model.encoder import Encoder, Layer, SliceLinear

BIT_CHOICES = (2, 4, 8)
PRUNED = 0
# How the search prices a width (mixed_size.py): "packed" stores each at its own bits (ternary
# Linears at 2 bits: our delegate / custom op); "stock" as stock ExecuTorch's XNNPACK stores them,
# which has no 2-bit weights: ternary Linear rows cost 4-bit codes {-7, 0, 7} (the word table's
# 2-bit rows are unpacked by portable ops, so they stay at 2 bits).
PRICINGS = ("packed", "stock")


@dataclass(frozen=True)
class MixedSpec:
    size_mb: float                      # the search's target for the model's bytes (mixed_size.py)
    group_size: int = 64                # rows per group (Linear output rows, word-table rows)
    bits: tuple[int, ...] = BIT_CHOICES
    prune: bool = True                  # 0 bits for FFN neuron groups, prune / keep for heads
    pricing: str = "packed"             # PRICINGS: what a width costs in the target's files
    fixed: bool = False                 # after fix_bits: one width per group
    weights: str = "mixed"              # what checkpoints read to tell this from a QuantSpec

    def __post_init__(self):
        object.__setattr__(self, "bits", tuple(int(b) for b in self.bits))
        if not self.size_mb > 0:
            raise UserError(f"--size-mb {self.size_mb!r} must be a positive number of megabytes")
        if self.group_size < 1:
            raise UserError(f"mixed-precision group_size {self.group_size!r} must be >= 1 rows")
        if not self.bits or any(b not in BIT_CHOICES for b in self.bits) or len(set(self.bits)) != len(self.bits):
            raise UserError(f"mixed-precision bits {list(self.bits)!r}: choose distinct values among "
                            f"{', '.join(map(str, BIT_CHOICES))}")
        if self.pricing not in PRICINGS:
            raise unknown_choice("mixed-precision pricing", self.pricing, PRICINGS)
        if self.weights != "mixed":
            raise UserError(f"MixedSpec.weights is always 'mixed', not {self.weights!r}")

    def to_dict(self) -> dict:
        return {**asdict(self), "bits": list(self.bits)}


def is_mixed(model: nn.Module) -> bool:
    return isinstance(getattr(model, "quant_spec", None), MixedSpec)


def symmetric_codes(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row (last dim), 4 or 8 bits: (integer codes in [-(2^(b-1)-1), 2^(b-1)-1] as w's float dtype,
    scale [..., 1] = max|row| / that bound). The search computes with codes * scale; the frozen
    model (freeze_mixed.py) stores the same codes and scales."""
    qmax = 2 ** (bits - 1) - 1
    scale = w.abs().amax(-1, keepdim=True).clamp(min=1e-12) / qmax
    return (w / scale).round_().clamp_(-qmax, qmax), scale


def quantize_rows(w: torch.Tensor, bits: int) -> torch.Tensor:
    """Per row (last dim): 2 = TWN ternary, 4 / 8 = symmetric_codes x scale, 0 = zeros. No gradient
    (callers pass it through `_Straight`)."""
    w = w.detach()
    if bits == PRUNED:
        return torch.zeros_like(w)
    if bits == 2:
        return ternarize(w)
    codes, scale = symmetric_codes(w, bits)
    return codes.mul_(scale)


def _relaxed(logits: torch.Tensor, tau: float, noise: bool) -> torch.Tensor:
    """softmax((logits + Gumbel noise) / tau) over the last dim."""
    if noise:
        u = torch.rand_like(logits).clamp_(1e-10, 1.0 - 1e-7)
        logits = logits - torch.log(-torch.log(u))
    return torch.softmax(logits / tau, dim=-1)


class Searchable(nn.Module):
    """The choice state every mixed module carries: logits `arch` [groups, choices], the fixed
    choice per group `choice` (after fix_bits), the Adam moments of `arch` (mixed_search.py keeps
    them here so a resumed search continues exactly), and the temperature of the relaxation."""

    choices: tuple[int, ...]
    fixed: bool
    tau: float

    def init_choices(self, groups: int, choices: tuple[int, ...]) -> None:
        self.choices, self.fixed, self.tau = tuple(choices), False, 1.0
        self.arch = nn.Parameter(torch.zeros(groups, len(choices)))
        self.register_buffer("choice", torch.zeros(groups, dtype=torch.int64))
        self.register_buffer("arch_m", torch.zeros(groups, len(choices)))
        self.register_buffer("arch_v", torch.zeros(groups, len(choices)))

    def probs(self, noise: bool | None = None) -> torch.Tensor:
        """[groups, choices]: one-hot once fixed; else the relaxation (noise while training)."""
        if self.fixed:
            return F.one_hot(self.choice, len(self.choices)).to(self.arch.dtype)
        return _relaxed(self.arch, self.tau, self.training if noise is None else noise)

    def fix(self) -> None:
        self.choice.copy_(self.arch.detach().argmax(-1))
        self.fixed = True

    def chosen_bits(self) -> torch.Tensor:
        """The fixed width of every group (argmax of `arch` before fix_bits)."""
        index = self.choice if self.fixed else self.arch.detach().argmax(-1)
        return torch.tensor(self.choices)[index]

    def row_bits(self) -> torch.Tensor:
        """chosen_bits per row of the module's weight (Linear output rows, word-table rows)."""
        return self.chosen_bits().repeat_interleave(self.group)[:self.weight.shape[0]]


def _mix(w: torch.Tensor, row_probs: torch.Tensor, choices: tuple[int, ...]) -> torch.Tensor:
    """sum over nonzero widths of p_c * q_c(w), renormalized over them (a pruned row's output is
    gated after the layer, not here); straight-through to w, exact gradient to p."""
    one = torch.ones((), dtype=w.dtype)
    out, kept = None, None
    for c, bits in enumerate(choices):
        if bits == PRUNED:
            continue
        p = row_probs[..., c:c + 1]
        term = p * _Straight.apply(w, quantize_rows(w, bits), one)
        out, kept = (term, p) if out is None else (out + term, kept + p)
    return out / kept.clamp(min=1e-6)


class MixedLinear(SliceLinear, Searchable):
    """A full-size Linear whose row groups each compute at their own width; inputs int8 per token.

    `in_keep` (set by MixedLayer once the bit map is fixed): 1 / 0 per input column, 0 for the
    columns of pruned heads or neurons, which a file does not store: zeroed, they do not move a row's
    max |w| (the 4 / 8-bit scale), and the file's codes are computed from the same zero-filled rows
    (TWN's mean |w| counts them), so file and model agree exactly."""

    group: int
    in_keep: torch.Tensor | None = None

    def row_probs(self, probs: torch.Tensor) -> torch.Tensor:
        return probs.repeat_interleave(self.group, dim=0)[:self.out_features]

    def stored_rows(self) -> torch.Tensor | None:
        """Fixed bit map: 1 / 0 per output row (0 = pruned); None while searching."""
        if not self.fixed:
            return None
        return (self.row_bits() != PRUNED).to(self.weight.dtype)

    def keep_rows(self, probs: torch.Tensor) -> torch.Tensor:
        """Per output row: 1 - p(pruned) under group probabilities `probs` (the current forward's
        draw, or the noise-free ones the size term prices)."""
        probs = self.row_probs(probs)
        if PRUNED not in self.choices:
            return probs.new_ones(self.out_features)
        return 1.0 - probs[:, self.choices.index(PRUNED)]

    def forward(self, x, rows=None, cols=None):
        self.current = self.probs()  # one draw per forward, shared by the weight and the neuron gate
        return super().forward(x, rows, cols)

    def effective_weight(self, rows: int, cols: int) -> torch.Tensor:
        if (rows, cols) != (self.out_features, self.in_features):
            raise ValueError(f"a mixed-precision Linear runs at full size, not {rows}x{cols}")
        w = self.weight if self.in_keep is None else self.weight * self.in_keep
        return _mix(w, self.row_probs(self.current), self.choices)

    def quantize_input(self, x: torch.Tensor) -> torch.Tensor:
        return _Straight.apply(x, int8_per_token(x.detach()), torch.ones((), dtype=x.dtype))


class MixedEmbedding(nn.Embedding, Searchable):
    """Word table with a width per group of rows; only the looked-up rows are quantized."""

    group: int

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        rows = super().forward(ids)
        probs = self.probs()[torch.div(ids, self.group, rounding_mode="floor")]  # [..., choices]
        return _mix(rows, probs, self.choices)


class MixedLayer(Layer):
    """A Layer whose heads and FFN neurons can be pruned: each head's context and each neuron's
    activation times its keep probability (1 or 0 once fixed)."""

    heads_arch: "HeadChoice | None"

    def forward(self, x, add_mask, heads, neurons):
        # Once fixed, the next Linear stores no columns for pruned heads / neurons (MixedLinear.in_keep).
        self.ffn_out.in_keep = self.ffn_in.stored_rows()
        self.attn_out.in_keep = None
        if self.heads_arch is not None and self.heads_arch.fixed:
            self.attn_out.in_keep = self.heads_arch.keep().repeat_interleave(self.head_dim)
        return super().forward(x, add_mask, heads, neurons)

    def attention_context(self, probs, v):
        ctx = super().attention_context(probs, v)
        if self.heads_arch is None:
            return ctx
        keep = self.heads_arch.keep()
        return ctx * keep[None, :, None, None]

    def ffn_hidden(self, x, neurons):
        return super().ffn_hidden(x, neurons) * self.ffn_in.keep_rows(self.ffn_in.current)[:neurons]


class HeadChoice(Searchable):
    """Keep (1) or prune (0) each attention head; keep first, so a tie keeps the head."""

    def __init__(self, heads: int):
        super().__init__()
        self.init_choices(heads, (1, 0))

    def keep(self, noise: bool | None = None) -> torch.Tensor:
        return self.probs(noise)[:, 0]


def _become(module: nn.Module, cls: type, groups: int, choices: tuple[int, ...], group: int) -> None:
    module.__class__ = cls  # keeps the Parameters (same state_dict keys plus the choice state)
    module.group = group
    Searchable.init_choices(module, groups, choices)


def make_mixed(model: Encoder, spec: MixedSpec) -> Encoder:
    """Make a full-size fp32 `model` searchable (or, with spec.fixed, ready to load a fixed one) in place."""
    if getattr(model, "quant_spec", None) is not None:
        raise ValueError(f"model is already quantized with {model.quant_spec}")
    if model.active != model.built:
        raise ValueError("mixed precision runs the full model; slice it with pruning instead")
    g = spec.group_size
    bits = tuple(sorted(spec.bits, reverse=True))  # widest first: a tie (the zero start) fixes to the widest
    for layer in model.layers:
        for name in ("q", "k", "v", "attn_out", "ffn_in", "ffn_out"):
            lin = getattr(layer, name)
            choices = (*bits, PRUNED) if (name == "ffn_in" and spec.prune) else bits
            _become(lin, MixedLinear, -(-lin.out_features // g), choices, g)
        layer.__class__ = MixedLayer
        layer.heads_arch = HeadChoice(layer.heads) if spec.prune else None
    _become(model.word, MixedEmbedding, -(-model.word.num_embeddings // g), bits, g)
    model.quant_spec = replace(spec, fixed=False)
    if spec.fixed:
        fix_bits(model)
    return model


def searchables(model: nn.Module) -> list[Searchable]:
    return [m for m in model.modules() if isinstance(m, Searchable)]


def arch_parameters(model: nn.Module) -> list[nn.Parameter]:
    return [m.arch for m in searchables(model)]


def set_temperature(model: nn.Module, tau: float) -> None:
    for m in searchables(model):
        m.tau = tau


def fix_bits(model: Encoder) -> Encoder:
    """End of search: every group keeps the argmax of its logits, from now on exactly."""
    if not is_mixed(model):
        raise ValueError("fix_bits needs a mixed-precision model (make_mixed)")
    for m in searchables(model):
        m.fix()
    model.quant_spec = replace(model.quant_spec, fixed=True)
    return model

