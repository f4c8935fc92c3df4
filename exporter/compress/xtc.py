"""XTC's layer reduction: a K-layer student initialised from K teacher layers, then distilled.

XTC (Wu et al. 2022, "Extreme Compression for Pre-trained Transformers Made Simple and Efficient")
skips pre-training distillation: the student starts from the fine-tuned teacher's own layers and
is trained on the task with distillation only. Which layers: every (L/K)-th, taking the top layer
of each block (6 -> 3 keeps 1, 3, 5), the same layers the student's outputs imitate
(distill.layer_map). DynaBERT's depth rule keeps the bottom one of each block (0, 2, 4) and
trains all depths jointly; the table compares the two at equal depth.
"""

from dataclasses import replace

import torch

from exporter.compress.distill import layer_map
from exporter.errors import UserError
from exporter.model.encoder import Encoder
from exporter.model.subnet import FULL


def xtc_layers(teacher_layers: int, k: int) -> tuple[int, ...]:
    if not 0 < k < teacher_layers:
        raise UserError(f"--student-layers {k} must be between 1 and {teacher_layers - 1} "
                        f"(the teacher has {teacher_layers} layers)")
    return layer_map(k, teacher_layers)


@torch.no_grad()
def xtc_student(teacher: Encoder, k: int) -> Encoder:
    """A full-width K-layer Encoder holding the teacher's embeddings, head and layers xtc_layers(L, K)."""
    if teacher.built != FULL:
        raise ValueError(f"XTC starts from the full-size teacher, not {teacher.built}")
    picked = xtc_layers(teacher.cfg.layers, k)
    student = Encoder(replace(teacher.cfg, layers=k))
    state = {}
    for name, t in teacher.state_dict().items():
        if not name.startswith("layers."):
            state[name] = t.clone()
    for j, i in enumerate(picked):
        for name, t in teacher.layers[i].state_dict().items():
            state[f"layers.{j}.{name}"] = t.clone()
    student.load_state_dict(state)
    return student
