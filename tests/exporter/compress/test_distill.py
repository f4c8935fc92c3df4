"""TinyBERT losses, layer mapping, DynaBERT adaptive loss and the XTC student on the tiny config."""

import copy

import pytest
import torch

from exporter.compress.distill import (HiddenProjection, LossWeights, attention_mse, distill_loss, layer_map,
                                       soft_cross_entropy, teacher_features)
from exporter.compress.dynabert import AdaptiveLoss, AdaptiveSpec
from exporter.compress.xtc import xtc_layers, xtc_student
from exporter.errors import UserError
from exporter.model.subnet import SubnetSpec
from tests.conftest import TINY


def _t(tiny_inputs):
    return tuple(torch.from_numpy(a) for a in tiny_inputs)


def test_layer_maps():
    assert layer_map(3, 6) == (1, 3, 5)
    assert layer_map(4, 6) == (1, 2, 4, 5)
    assert layer_map(6, 6) == tuple(range(6))
    assert xtc_layers(12, 6) == (1, 3, 5, 7, 9, 11)
    with pytest.raises(UserError, match="--student-layers 6 must be between 1 and 5"):
        xtc_layers(6, 6)


def test_student_equal_to_teacher_has_zero_loss(tiny_model, tiny_inputs):
    ids, mask = _t(tiny_inputs)
    labels = torch.zeros(len(ids), dtype=torch.long)
    every = LossWeights(logits=0.0, hidden=1.0, embedding=1.0, attention=1.0)
    t = teacher_features(tiny_model, ids, mask)
    loss = distill_loss(tiny_model.eval().features(ids, mask), t, labels, every)
    print(f"self-distillation loss: {loss.item():.2e}")
    assert loss.item() <= 1e-10
    # Soft cross-entropy against itself is the entropy, its minimum over students.
    p = t.logits
    assert soft_cross_entropy(p, p, 2.0) <= soft_cross_entropy(p + torch.randn_like(p), p, 2.0)


def test_attention_loss_ignores_padding_and_uses_first_heads():
    torch.manual_seed(0)
    teacher = torch.randn(2, 4, 5, 5)
    key_mask = torch.ones(2, 1, 1, 5, dtype=torch.bool)
    key_mask[..., -1] = False  # a padded key
    student = teacher[:, :2].clone()
    student[..., -1] += 50.0  # differs only where the mask is
    assert attention_mse(student, teacher, key_mask).item() == 0.0
    assert attention_mse(student, teacher, torch.ones_like(key_mask)).item() > 100.0
    assert attention_mse(teacher[:, 2:], teacher, key_mask).item() > 0.1


def test_loss_terms_are_weighted_and_projection_learns(tiny_model, tiny_inputs):
    ids, mask = _t(tiny_inputs)
    labels = torch.zeros(len(ids), dtype=torch.long)
    student = copy.deepcopy(tiny_model)
    with torch.no_grad():
        student.layers[1].ffn_out.weight.mul_(1.5)
    t = teacher_features(tiny_model, ids, mask)
    s = student.features(ids, mask)
    hidden = distill_loss(s, t, labels, LossWeights(logits=0.0, hidden=1.0))
    twice = distill_loss(s, t, labels, LossWeights(logits=0.0, hidden=2.0))
    assert hidden > 0 and torch.allclose(twice, 2 * hidden)
    proj = HiddenProjection(TINY.hidden, TINY.hidden)
    distill_loss(s, t, labels, LossWeights(logits=0.0, hidden=1.0), proj).backward()
    assert proj.proj.weight.grad.abs().sum() > 0
    with pytest.raises(UserError, match="all loss weights are 0"):
        LossWeights(logits=0.0)
    with pytest.raises(UserError, match="unknown loss weights \\['hiden'\\]"):
        LossWeights.from_dict({"hiden": 1.0})


def test_adaptive_loss_trains_every_subnet(tiny_model, tiny_inputs):
    ids, mask = _t(tiny_inputs)
    labels = torch.zeros(len(ids), dtype=torch.long)
    student = copy.deepcopy(tiny_model).train()
    spec = AdaptiveSpec(widths=(0.5, 1.0), depths=(0.5, 1.0), teacher_slice="width")
    assert spec.subnets() == [SubnetSpec(1.0, 1.0), SubnetSpec(0.5, 1.0), SubnetSpec(1.0, 0.5), SubnetSpec(0.5, 0.5)]
    loss = AdaptiveLoss(tiny_model, spec, LossWeights(logits=1.0, hidden=1.0))(student, ids, mask, labels, 0)
    loss.backward()
    assert student.active == SubnetSpec()
    # Layer 3 only runs at depth 1.0; the widest heads only at width 1.0: both got gradients.
    assert student.layers[3].q.weight.grad.abs().sum() > 0
    assert student.layers[0].q.weight.grad[-TINY.head_dim:].abs().sum() > 0
    assert all(p.requires_grad for p in tiny_model.parameters()), "the teacher is left as it was"
    with pytest.raises(UserError, match="unknown teacher slice 'half'"):
        AdaptiveSpec(teacher_slice="half")


def test_xtc_student_copies_teacher_layers(tiny_model, tiny_inputs):
    ids, mask = _t(tiny_inputs)
    student = xtc_student(tiny_model, 2).eval()
    assert student.cfg.layers == 2 and len(student.layers) == 2
    for j, i in enumerate(xtc_layers(TINY.layers, 2)):
        assert torch.equal(student.layers[j].ffn_in.weight, tiny_model.layers[i].ffn_in.weight)
    with torch.no_grad():
        s, t = student.features(ids, mask), tiny_model.eval().features(ids, mask)
    # The first student layer is teacher layer 1 applied to the embeddings: not the teacher's layer-1 output.
    assert torch.equal(s.embeddings, t.embeddings)
    assert (s.hidden[0] - t.hidden[1]).abs().max() > 1e-3


def test_real_token_loss_of_a_trimmed_batch_equals_the_padded_one(tiny_model, tiny_inputs):
    """With real_tokens every MSE term averages over real tokens (real query x key pairs), so the
    step a trimmed batch computes has the padded batch's loss; TinyBERT's all-position average
    (padded recipes) does not, which is why trimming needs it."""
    from exporter.compress.batching import trim

    ids, mask = (torch.from_numpy(a) for a in tiny_inputs)
    mask = mask.clone()
    mask[:, -3:] = 0  # padding no sentence uses, so trimming drops it
    ids = ids * mask
    student = copy.deepcopy(tiny_model)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in student.parameters():
            p.add_(0.02 * torch.randn_like(p))
    weights = LossWeights(logits=1.0, hidden=1.0, embedding=1.0, attention=0.1)
    student.eval()
    labels = torch.zeros(len(ids), dtype=torch.long)

    def loss(real_tokens, ids, mask):
        with torch.no_grad():
            return float(distill_loss(student.features(ids, mask), teacher_features(tiny_model, ids, mask), labels,
                                      weights, real_tokens=real_tokens))
    short_ids, short_mask = trim(ids, mask)
    assert short_mask.shape[1] < mask.shape[1]
    padded, trimmed = loss(True, ids, mask), loss(True, short_ids, short_mask)
    print(f"real-token loss padded {padded:.6f} trimmed {trimmed:.6f}; all-position padded {loss(False, ids, mask):.6f} "
          f"trimmed {loss(False, short_ids, short_mask):.6f}")
    assert trimmed == pytest.approx(padded, rel=1e-5)
    assert loss(False, short_ids, short_mask) != pytest.approx(loss(False, ids, mask), rel=1e-3)
