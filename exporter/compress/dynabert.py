"""DynaBERT's adaptive training as a loss for trainer.train: every step trains several sub-networks.

Width phase (DynaBERT_W): for each width in the phase (widest first) the student runs that slice
at full depth and is distilled from the fine-tuned full-size teacher; the losses are summed, so
one optimizer step moves the shared weights toward all widths at once.

Width+depth phase (DynaBERT): for each depth and each width, the (w, d) slice is distilled from
the width-adaptive model's slice (w, depth 1) — DynaBERT's teacher-assistant choice: the teacher of
a narrow student is the equally narrow but full-depth network, not the full-size one. Student
layer outputs imitate the teacher layer at the end of their block (distill.layer_map).

Both models must be rewired with the same order (rewire.py), so head h of any slice is head h
of the teacher. All sub-networks of a step share one graph: memory grows with their number
(DynaBERT accumulates gradients sub-network by sub-network; one graph keeps DDP to one backward).
"""

import random
from dataclasses import dataclass

import torch

from exporter.compress.distill import LossWeights, distill_loss, teacher_features
from exporter.errors import UserError, unknown_choice
from exporter.model.encoder import Encoder
from exporter.model.subnet import FULL, SubnetSpec


TEACHER_SLICES = ("full", "width", "same")


@dataclass(frozen=True)
class AdaptiveSpec:
    widths: tuple[float, ...] = (1.0, 0.75, 0.5, 0.25)
    depths: tuple[float, ...] = (1.0,)
    # Which slice of the teacher a (w, d) student imitates: "full" the whole teacher (width phase),
    # "width" (w, 1.0) (DynaBERT's width+depth phase), "same" (w, d) (QAT of a supernet: the fp32
    # supernet's own slice, TernaryBERT's same-architecture teacher).
    teacher_slice: str = "full"
    # Sub-networks trained per step: 0 = all of them (DynaBERT). k >= 2 = the sandwich rule
    # (slimmable networks / BigNAS): the largest and the smallest every step plus k - 2 others
    # drawn by step number, so k/n of the cost per step and the extremes never drift.
    per_step: int = 0

    def __post_init__(self):
        if self.teacher_slice not in TEACHER_SLICES:
            raise unknown_choice("teacher slice", self.teacher_slice, TEACHER_SLICES)
        for w in self.widths + self.depths:
            SubnetSpec(w, 1.0)  # validates the range with a UserError
        if self.per_step == 1 or self.per_step < 0:
            raise UserError(f"per_step {self.per_step!r}: use 0 (every sub-network each step) or at least 2 "
                            "(largest + smallest + random others)")

    def subnets(self) -> list[SubnetSpec]:
        return [SubnetSpec(w, d) for d in sorted(self.depths, reverse=True) for w in sorted(self.widths, reverse=True)]

    def step_subnets(self, step: int) -> list[SubnetSpec]:
        """The sub-networks trained at `step`: a pure function of the step, so every DDP rank and a
        resumed run draw the same ones."""
        every = self.subnets()
        if self.per_step == 0 or self.per_step >= len(every):
            return every
        middle = every[1:-1]
        drawn = sorted(random.Random(step).sample(range(len(middle)), self.per_step - 2))
        return [every[0], *(middle[i] for i in drawn), every[-1]]


class AdaptiveLoss:
    """`loss_fn(model, ids, mask, labels, step)` summing the distillation loss of every sub-network."""

    def __init__(self, teacher: Encoder | None, spec: AdaptiveSpec, weights: LossWeights, real_tokens: bool = False):
        if weights.needs_teacher and teacher is None:
            raise ValueError("these loss weights need a teacher")
        # The teacher runs under no_grad (distill.teacher_features); its parameters are left as
        # they are, since the same model may later start another phase.
        self.teacher, self.spec, self.weights, self.real_tokens = teacher, spec, weights, real_tokens

    def _teacher_slice(self, sub: SubnetSpec) -> SubnetSpec:
        if self.spec.teacher_slice == "width":
            return SubnetSpec(sub.width, 1.0)
        return sub if self.spec.teacher_slice == "same" else FULL

    def __call__(self, model: Encoder, ids, mask, labels, step: int) -> torch.Tensor:
        cache: dict[SubnetSpec, object] = {}
        total = None
        try:
            for sub in self.spec.step_subnets(step):
                teacher = None
                if self.weights.needs_teacher:
                    key = self._teacher_slice(sub)
                    if key not in cache:
                        cache[key] = teacher_features(self.teacher, ids, mask, key)
                    teacher = cache[key]
                model.active = sub
                loss = distill_loss(model.features(ids, mask), teacher, labels, self.weights,
                                    real_tokens=self.real_tokens)
                total = loss if total is None else total + loss
        finally:
            model.active = FULL
        return total
