"""TinyBERT's distillation losses, composable per training phase through a frozen LossWeights.

    loss = embedding * MSE(student embeddings, teacher embeddings)
         + hidden    * sum_j MSE(student layer j output, teacher layer map[j] output)
         + attention * sum_j MSE(student scores of layer j, teacher's first heads of layer map[j])
         + logits    * soft cross-entropy(student / T, teacher / T)
         + hard      * cross-entropy(student, labels)

Attention compares pre-softmax scores (TinyBERT) with the padded keys' scores set to 0 so the
mask itself is never part of the error. With `real_tokens` (every batching but "padded") the MSE
terms average over real tokens only (real queries x real keys for attention), so a batch trimmed
to its longest sentence has the same loss as the padded one; "padded" keeps TinyBERT's average
over every position, padding included, as the recipes measured so far were trained. The student's heads are compared with the teacher's
*first* heads: rewiring (rewire.py) orders both models' heads by the same importance, so head h of
a width-sliced student is head h of the teacher. Hidden states of different sizes go through a
learned projection (TinyBERT's W_h); our widths keep the hidden size, so it is only needed for a
student of another hidden size.
"""

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

from exporter.errors import UserError
from exporter.model.encoder import Encoder, Features
from exporter.model.subnet import FULL, SubnetSpec

@dataclass(frozen=True)
class LossWeights:
    logits: float = 1.0
    hidden: float = 0.0
    embedding: float = 0.0
    attention: float = 0.0
    hard: float = 0.0          # cross-entropy on the labels; the only term when training without a teacher
    temperature: float = 1.0

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if value < 0:
                raise UserError(f"loss weight {f.name} = {value!r} must be >= 0")
        if self.temperature <= 0:
            raise UserError(f"distillation temperature {self.temperature!r} must be > 0")
        if self.logits + self.hidden + self.embedding + self.attention + self.hard == 0:
            raise UserError("all loss weights are 0; set at least one of logits, hidden, embedding, "
                            "attention, hard")

    @property
    def needs_teacher(self) -> bool:
        return self.logits + self.hidden + self.embedding + self.attention > 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict, where: str = "loss") -> "LossWeights":
        known = {f.name for f in fields(cls)}
        extra = set(d) - known
        if extra:
            raise UserError(f"{where}: unknown loss weights {sorted(extra)}; known: {sorted(known)}")
        return cls(**d)


HARD_LABELS = LossWeights(logits=0.0, hard=1.0)


def layer_map(student_layers: int, teacher_layers: int) -> tuple[int, ...]:
    """Which teacher layer output each student layer output imitates: the end of its block.

    Student layer j of n covers teacher layers up to ceil((j+1)·L/n) - 1, so the last student
    layer always imitates the teacher's last layer (6 -> 3: 1, 3, 5; 6 -> 4: 1, 2, 4, 5).
    """
    if not 0 < student_layers <= teacher_layers:
        raise UserError(f"student with {student_layers} layers cannot map onto a teacher with {teacher_layers}")
    return tuple(math.ceil((j + 1) * teacher_layers / student_layers - 1e-9) - 1 for j in range(student_layers))


class HiddenProjection(nn.Module):
    """TinyBERT's learned W_h: student hidden size -> teacher hidden size (shared by all layers)."""

    def __init__(self, student_hidden: int, teacher_hidden: int):
        super().__init__()
        self.proj = nn.Linear(student_hidden, teacher_hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


@torch.no_grad()
def teacher_features(teacher: Encoder, ids: torch.Tensor, mask: torch.Tensor, spec: SubnetSpec = FULL) -> Features:
    """The teacher's features in eval mode (no dropout), optionally of one of its own slices."""
    was_training, was_active = teacher.training, teacher.active
    teacher.eval()
    teacher.active = spec
    try:
        return teacher.features(ids, mask)
    finally:
        teacher.active = was_active
        teacher.train(was_training)


def soft_cross_entropy(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    target = torch.softmax(teacher_logits / temperature, dim=-1)
    return -(target * torch.log_softmax(student_logits / temperature, dim=-1)).sum(-1).mean()


def attention_mse(student: torch.Tensor, teacher: torch.Tensor, key_mask: torch.Tensor,
                  real_tokens: bool = False) -> torch.Tensor:
    """MSE of the first heads' scores, padded keys (key_mask False) set to 0 in both; with
    `real_tokens` the mean over real query x real key pairs only."""
    heads = student.shape[1]
    if heads > teacher.shape[1]:
        raise ValueError(f"student has {heads} heads, teacher only {teacher.shape[1]}")
    teacher = teacher[:, :heads]
    if real_tokens:
        keys = key_mask[:, 0, 0, :]                                   # [B, S]
        pairs = (keys[:, :, None] & keys[:, None, :])[:, None]        # [B, 1, S(query), S(key)]
        return token_mse(student, teacher, pairs)
    zero = student.new_zeros(())
    return F.mse_loss(torch.where(key_mask, student, zero), torch.where(key_mask, teacher, zero))


def token_mse(student: torch.Tensor, teacher: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the entries where `real` holds, `real` broadcast over the inputs'
    trailing dims and any of its dims of size 1 (a weighted sum: no gather in the backward pass)."""
    while real.dim() < student.dim():
        real = real.unsqueeze(-1)
    w = real.to(student.dtype)
    count = w.sum() * (student.numel() // w.numel())
    return ((student - teacher) ** 2 * w).sum() / count.clamp(min=1)


def distill_loss(student: Features, teacher: Features | None, labels: torch.Tensor, weights: LossWeights,
                 projection: HiddenProjection | None = None, real_tokens: bool = False) -> torch.Tensor:
    """The weighted TinyBERT loss of one student forward against one teacher forward; `real_tokens`:
    the MSE terms over real tokens only (module docstring)."""
    loss = student.logits.new_zeros(())
    if weights.hard:
        loss = loss + weights.hard * F.cross_entropy(student.logits, labels)
    if not weights.needs_teacher:
        return loss
    if teacher is None:
        raise ValueError("these loss weights need a teacher's features")
    lift = projection if projection is not None else (lambda x: x)
    tokens = student.key_mask[:, 0, 0, :]  # [B, S] True for real tokens

    def mse(s: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return token_mse(s, t, tokens) if real_tokens else F.mse_loss(s, t)
    if weights.logits:
        loss = loss + weights.logits * soft_cross_entropy(student.logits, teacher.logits, weights.temperature)
    if weights.embedding:
        loss = loss + weights.embedding * mse(lift(student.embeddings), teacher.embeddings)
    mapping = layer_map(len(student.hidden), len(teacher.hidden)) if (weights.hidden or weights.attention) else ()
    if weights.hidden:
        loss = loss + weights.hidden * sum(mse(lift(student.hidden[j]), teacher.hidden[t])
                                           for j, t in enumerate(mapping))
    if weights.attention:
        loss = loss + weights.attention * sum(attention_mse(student.attention[j], teacher.attention[t], student.key_mask,
                                                            real_tokens)
                                              for j, t in enumerate(mapping))
    return loss
