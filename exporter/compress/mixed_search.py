"""The AQ-BERT search as a loss for trainer.train: weights and bit-widths on separate data halves
and separate optimizers.

Each training step first moves the architecture logits (mixed.py) on a batch of the *other* half
of the training data: TinyBERT distillation from the teacher plus `size_weight` times the size term
(mixed_size.size_loss), one Adam step on the logits only. Then the trainer's AdamW moves the
weights on its own batch with the logits held still. The Gumbel-softmax temperature falls
geometrically from `tau_start` to `tau_end` over the search, so the relaxed model ends close to
the argmax bit map `fix_bits` keeps. The logits' Adam moments live in the model's buffers
(`arch_m`, `arch_v`), and the other half's batches and the Gumbel noise are drawn from the step
number, so a resumed search continues exactly.
"""

from dataclasses import asdict, dataclass

import torch

from exporter.compress import distributed
from exporter.compress.batching import trim
from exporter.compress.distill import LossWeights, distill_loss, teacher_features
from exporter.compress.mixed import searchables, set_temperature
from exporter.compress.mixed_size import MB, model_bytes, size_term
from exporter.compress.recipe import TrainSpec
from exporter.compress.trainer import Batches, StepOrder
from exporter.errors import UserError

ADAM_BETAS = (0.5, 0.999)   # DARTS' architecture optimizer (AQ-BERT follows DARTS)


@dataclass(frozen=True)
class SearchSpec:
    arch_learning_rate: float = 0.02
    size_weight: float = 5.0
    tau_start: float = 1.0
    tau_end: float = 0.2

    def __post_init__(self):
        if not self.arch_learning_rate > 0:
            raise UserError(f"arch_learning_rate {self.arch_learning_rate!r} must be > 0")
        if self.size_weight < 0:
            raise UserError(f"size_weight {self.size_weight!r} must be >= 0")
        if not 0 < self.tau_end <= self.tau_start:
            raise UserError(f"temperatures tau_start {self.tau_start!r} >= tau_end {self.tau_end!r} > 0 needed")

    def to_dict(self) -> dict:
        return asdict(self)


def split_halves(data: Batches, seed: int) -> tuple[Batches, Batches]:
    """(weights' half, architecture's half): a seeded split of the training sentences."""
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    a, b = order[: len(data) // 2], order[len(data) // 2:]
    return (Batches(data.ids[a], data.mask[a], data.labels[a]),
            Batches(data.ids[b], data.mask[b], data.labels[b]))


def temperature(spec: SearchSpec, step: int, total: int) -> float:
    return spec.tau_start * (spec.tau_end / spec.tau_start) ** (step / max(1, total - 1))


@torch.no_grad()
def _adam_step(modules, grads, lr: float, t: int) -> None:
    b1, b2 = ADAM_BETAS
    for m, g in zip(modules, grads):
        if g is None:
            continue
        m.arch_m.mul_(b1).add_(g, alpha=1 - b1)
        m.arch_v.mul_(b2).addcmul_(g, g, value=1 - b2)
        m.arch.sub_(lr * (m.arch_m / (1 - b1 ** t)) / ((m.arch_v / (1 - b2 ** t)).sqrt() + 1e-8))


class SearchLoss:
    """`loss_fn(model, ids, mask, labels, step)`: one architecture step, then the weights' loss."""

    def __init__(self, teacher, weights: LossWeights, other: Batches, spec: SearchSpec, size_mb: float,
                 train: TrainSpec, total_steps: int, real_tokens: bool):
        if distributed.current().size > 1:
            raise UserError("the mixed-precision search runs in one process; start it without torchrun")
        self.teacher, self.weights, self.other, self.spec = teacher, weights, other, spec
        self.target = size_mb * MB
        self.train, self.total, self.real_tokens = train, total_steps, real_tokens
        self.order = StepOrder(other.lengths, train)
        self.postfix: dict = {}   # shown on the trainer's progress bar

    def _distill(self, model, ids, mask, labels) -> torch.Tensor:
        teacher = teacher_features(self.teacher, ids, mask) if self.weights.needs_teacher else None
        return distill_loss(model.features(ids, mask), teacher, labels, self.weights, real_tokens=self.real_tokens)

    def arch_step(self, model, step: int) -> None:
        idx = self.order(step)
        ids, mask = self.other.ids[idx], self.other.mask[idx]
        if self.train.batching != "padded":
            ids, mask = trim(ids, mask)
        modules = searchables(model)
        task = self._distill(model, ids, mask, self.other.labels[idx])
        expected = model_bytes(model)
        size = size_term(expected, self.target)
        grads = torch.autograd.grad(task + self.spec.size_weight * size, [m.arch for m in modules],
                                    allow_unused=True)
        _adam_step(modules, grads, self.spec.arch_learning_rate, step + 1)
        self.postfix = {"MB": f"{float(expected) / MB:.2f}", "tau": f"{model.word.tau:.2f}"}

    def __call__(self, model, ids, mask, labels, step: int) -> torch.Tensor:
        set_temperature(model, temperature(self.spec, step, self.total))
        if model.training:
            self.arch_step(model, step)
        archs = [m.arch for m in searchables(model)]
        for a in archs:
            a.requires_grad_(False)  # the weights' step: the logits stay where the arch step left them
        try:
            return self._distill(model, ids, mask, labels)
        finally:
            for a in archs:
                a.requires_grad_(True)
