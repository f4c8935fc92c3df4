"""Importance + rewiring: the full-width function is unchanged, slicing equals masking the dropped units."""

import pytest
import torch

from exporter.compress.importance import UnitMasks, compute_importance
from exporter.compress.rewire import RewireOrder, order_from_importance, rewire
from exporter.compress.trainer import Batches
from exporter.model.subnet import SubnetSpec
from tests.conftest import TINY


def _batches(tiny_inputs) -> Batches:
    ids, mask = (torch.from_numpy(a) for a in tiny_inputs)
    labels = (ids[:, 1] % 2).long()
    return Batches(ids, mask, labels)


def test_importance_is_nonzero_and_orders_are_permutations(tiny_model, tiny_inputs):
    imp = compute_importance(tiny_model, _batches(tiny_inputs), batches=3, batch_size=8)
    assert imp.heads.shape == (TINY.layers, TINY.heads) and imp.neurons.shape == (TINY.layers, TINY.ffn)
    assert (imp.heads > 0).all(), imp.heads
    order = order_from_importance(imp)
    order.check(TINY)
    first = order.heads[0][0]
    assert imp.heads[0, first] == imp.heads[0].max()
    assert RewireOrder.from_dict(order.to_dict()) == order
    # Only the masks got gradients: the model's own parameters are untouched.
    assert all(p.grad is None for p in tiny_model.parameters())


def test_rewiring_keeps_the_full_width_function(tiny_model, tiny_inputs):
    ids, mask = (torch.from_numpy(a) for a in tiny_inputs)
    with torch.no_grad():
        before = tiny_model(ids, mask)
    order = order_from_importance(compute_importance(tiny_model, _batches(tiny_inputs), batches=3, batch_size=8))
    assert order != RewireOrder.identity(TINY), "test needs a non-trivial permutation"
    rewire(tiny_model, order)
    with torch.no_grad():
        after = tiny_model(ids, mask)
    diff = (before - after).abs().max().item()
    print(f"rewired full width: max abs diff {diff:.2e}")
    assert diff <= 1e-5, f"rewiring changed the full-width logits by {diff:.2e}"


@pytest.mark.parametrize("width", [0.25, 0.5, 0.75])
def test_slicing_equals_masking_the_dropped_units(tiny_model, tiny_inputs, width):
    ids, mask = (torch.from_numpy(a) for a in tiny_inputs)
    rewire(tiny_model, order_from_importance(compute_importance(tiny_model, _batches(tiny_inputs), 2, 8)))
    spec = SubnetSpec(width)
    heads = torch.zeros(TINY.layers, TINY.heads)
    heads[:, :spec.kept_heads(TINY.heads)] = 1
    neurons = torch.zeros(TINY.layers, TINY.ffn)
    neurons[:, :spec.kept_neurons(TINY.ffn)] = 1
    with torch.no_grad(), UnitMasks(tiny_model, heads, neurons):
        masked = tiny_model(ids, mask)
    tiny_model.active = spec
    with torch.no_grad():
        sliced = tiny_model(ids, mask)
    diff = (masked - sliced).abs().max().item()
    print(f"width {width}: slice vs mask max abs diff {diff:.2e}")
    assert diff <= 1e-5, f"width {width}: slicing differs from masking by {diff:.2e}"
    # And the masked units matter: the slice is not the full model.
    tiny_model.active = SubnetSpec()
    with torch.no_grad():
        assert (tiny_model(ids, mask) - sliced).abs().max() > 1e-4


def test_bad_order_is_rejected(tiny_model):
    bad = RewireOrder(((0, 0, 1, 2),) * TINY.layers, RewireOrder.identity(TINY).neurons)
    with pytest.raises(ValueError, match="not a permutation"):
        rewire(tiny_model, bad)
