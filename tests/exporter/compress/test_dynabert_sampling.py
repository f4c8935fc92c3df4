"""Sandwich sampling of sub-networks per step: extremes always, the rest drawn by step number."""

import pytest

from exporter.compress.dynabert import AdaptiveSpec
from exporter.errors import UserError
from exporter.model.subnet import SubnetSpec

GRID = AdaptiveSpec(widths=(1.0, 0.75, 0.5, 0.25), depths=(1.0, 0.75, 0.5), teacher_slice="same", per_step=4)


def test_largest_and_smallest_every_step_and_a_fixed_count():
    for step in range(50):
        subs = GRID.step_subnets(step)
        assert len(subs) == 4 and len(set(subs)) == 4
        assert subs[0] == SubnetSpec(1.0, 1.0) and subs[-1] == SubnetSpec(0.25, 0.5)


def test_draws_depend_on_the_step_only_and_cover_the_grid():
    again = AdaptiveSpec(widths=(1.0, 0.75, 0.5, 0.25), depths=(1.0, 0.75, 0.5), teacher_slice="same", per_step=4)
    assert [GRID.step_subnets(s) for s in range(20)] == [again.step_subnets(s) for s in range(20)]
    seen = {sub for s in range(40) for sub in GRID.step_subnets(s)}
    assert seen == set(GRID.subnets()), f"never trained in 40 steps: {set(GRID.subnets()) - seen}"
    assert len({tuple(GRID.step_subnets(s)) for s in range(20)}) > 5


def test_zero_means_every_subnetwork():
    spec = AdaptiveSpec(widths=(1.0, 0.5), depths=(1.0, 0.5))
    assert spec.step_subnets(7) == spec.subnets() and len(spec.subnets()) == 4


def test_one_per_step_is_a_user_error():
    with pytest.raises(UserError, match="per_step 1"):
        AdaptiveSpec(per_step=1)
