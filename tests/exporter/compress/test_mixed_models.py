"""A trained mixed-precision run as export sees it (compress/mixed_models.py, slices.MixedSlices): its
selector row carries the kept units and stored bytes of the model its file is lowered from, and the
slices hand out that frozen model for its size only."""

import pytest
import torch

from backends.registry import find_variant
from exporter.compress.mixed_map import bit_summary
from exporter.errors import UserError
from exporter.model.subnet import FULL
from exporter.slices import Job, MixedSlices, Slice
from tests.exporter.compress.test_mixed import TINY_MIXED


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from exporter.compress.supernet import run_supernet
    from exporter.compress.supernet_recipe import parse_supernet_recipe
    from exporter.model.encoder import Encoder
    from tests.conftest import TINY
    from tests.exporter.compress.tiny_recipe import tiny_splits

    torch.manual_seed(0)
    where = tmp_path_factory.mktemp("mixed") / "run"
    result = run_supernet(Encoder(TINY).eval(), tiny_splits(), parse_supernet_recipe(TINY_MIXED, "tiny-mixed"), where, {})
    return where, result.table


def test_the_row_carries_the_frozen_models_shape(tiny_run):
    from exporter.compress.freeze_mixed import SplitLinear, freeze_mixed
    from exporter.compress.mixed_models import load_mixed, mixed_row

    run, table = tiny_run
    row = mixed_row(run, table, 0.035)
    model = load_mixed(run)
    summary = bit_summary(model)
    assert (row["precision"], row["size_mb"], row["run"], row["activations"]) == ("mixed", 0.035, run.name, "dynamic")
    assert row["shape"]["heads"] == [layer["heads_kept"] for layer in summary["layers"]]
    assert row["shape"]["neurons"] == [layer["neurons_kept"] for layer in summary["layers"]]
    # stored Linear bytes: int8 codes 1 B, int4 codes half a byte, one fp32 scale per stored row
    frozen = freeze_mixed(model)
    expected = sum(getattr(m, f"{s}_codes").numel() * (1 if s == "int8" else 0.5) + 4 * len(getattr(m, f"{s}_codes"))
                   for m in frozen.modules() if isinstance(m, SplitLinear) for s in m.storages)
    assert abs(row["shape"]["linear_bytes"] - expected) <= len(frozen.layers) * 6  # odd int4 counts round up
    assert row["shape"]["int4_weights"] == sum(m.int4_codes.numel() for m in frozen.modules()
                                               if isinstance(m, SplitLinear) and "int4" in m.storages) > 0
    print(f"\ntiny mixed row: heads {row['shape']['heads']}, neurons {row['shape']['neurons']}, "
          f"Linear bytes {row['shape']['linear_bytes']} of {row['bytes']} B in all, "
          f"{row['shape']['int4_weights']} 4-bit weights")


def test_mixed_slices_hand_out_the_frozen_model_of_its_size_only(tiny_run):
    from exporter.compress.mixed_models import MixedRun

    run, table = tiny_run
    other = Slice(torch.nn.Identity(), torch.nn.Identity())
    from exporter.compress.mixed_models import frozen_model

    slices = MixedSlices([MixedRun(0.035, run, {}, frozen_model(run))],
                         type("Others", (), {"get": lambda self, job: other})())
    mixed = find_variant("executorch", "mixed")
    got = slices.get(Job(FULL, mixed, (), 0.035))
    assert got.model is got.reference and hasattr(got.model.layers[0].q, "storages")
    assert slices.get(Job(FULL, mixed, (), 0.035)).model is got.model  # frozen once
    assert slices.get(Job(FULL, find_variant("executorch", "int8"))) is other
    with pytest.raises(UserError, match=r"no mixed-precision model of 9.5 MB in this export \(--mixed-mb: 0.035\)"):
        slices.get(Job(FULL, mixed, (), 9.5))
