"""`matmul = "bf16"`: training steps run under bfloat16 autocast where the CPU has native bfloat16,
in fp32 elsewhere (said once); the weights stay fp32; fp32 recipes hash as before."""

import copy
import logging
from dataclasses import replace

import pytest
import torch

from exporter.compress import matmul
from exporter.compress.recipe import TrainSpec
from exporter.compress.trainer import Batches, train
from exporter.errors import UserError
from tests.exporter.compress.tiny_recipe import tiny_splits

SPEC = TrainSpec(name="m", steps=3, batch_size=8, learning_rate=1e-3, seq_len=16, seed=5, checkpoint_every=10,
                 batching="trimmed")


def _data():
    s = tiny_splits().train
    return Batches(torch.from_numpy(s.ids), torch.from_numpy(s.mask), torch.from_numpy(s.labels))


def _train(model, spec, work):
    dtypes = []

    def loss(m, ids, mask, labels, step):
        logits = m(ids, mask)
        dtypes.append(logits.dtype)
        return torch.nn.functional.cross_entropy(logits.float(), labels)

    train(model, _data(), spec, loss, work)
    return dtypes


@pytest.fixture
def native(monkeypatch):
    def force(value: bool):
        monkeypatch.setattr(matmul, "native_bf16", lambda: value)
    return force


def test_bf16_steps_run_in_bfloat16_and_keep_fp32_weights(tiny_model, tmp_path, native):
    native(True)
    base = copy.deepcopy(tiny_model)
    fp32 = copy.deepcopy(tiny_model)
    got = _train(tiny_model, replace(SPEC, matmul="bf16"), tmp_path / "bf16")
    want = _train(fp32, SPEC, tmp_path / "fp32")
    assert set(got) == {torch.bfloat16} and set(want) == {torch.float32}
    assert all(p.dtype == torch.float32 for p in tiny_model.parameters())
    # Adam moves a weight by ~lr whatever its gradient's size, so a tiny gradient whose sign bfloat16
    # flips ends 2 lr apart: compare the mean moves, not the largest.
    a, b, start = (torch.cat([t.flatten() for t in m.state_dict().values()]) for m in (tiny_model, fp32, base))
    moved, apart = (b - start).abs().mean().item(), (a - b).abs().mean().item()
    print(f"3 steps at lr 1e-3: fp32 moved a weight by {moved:.2e} on average; bf16 ended {apart:.2e} from fp32")
    assert 0 < apart < 0.25 * moved


def test_bf16_without_native_support_runs_fp32_and_says_so(tiny_model, tmp_path, native, caplog):
    native(False)
    matmul._say_fallback.cache_clear()
    with caplog.at_level(logging.INFO, logger="dynaedge"):
        got = _train(tiny_model, replace(SPEC, matmul="bf16"), tmp_path / "w")
    assert set(got) == {torch.float32}
    assert [r.message for r in caplog.records].count(
        "this CPU has no native bfloat16 (AMX or AVX512-BF16): the recipe's bf16 matmuls run in fp32") == 1


def test_unknown_matmul_names_the_choices():
    with pytest.raises(UserError, match="'fp16'.*bf16.*fp32"):
        TrainSpec(name="x", matmul="fp16")


def test_fp32_recipes_hash_as_before():
    assert "matmul" not in TrainSpec(name="x").to_dict()
    assert TrainSpec(name="x", matmul="bf16").to_dict()["matmul"] == "bf16"


def test_activations_round_in_fp32_under_bf16_autocast():
    from exporter.compress.quant import ActQuant

    torch.manual_seed(0)
    x = torch.randn(8, 16, 64) * 3
    act = ActQuant().eval()
    act.range.fill_(9.0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = act(torch.nn.functional.linear(x, torch.eye(64)))  # a bfloat16 activation, as in a bf16 step
    lifted = act(x.bfloat16().float())  # the same bfloat16 values rounded in fp32
    steps = ((got - lifted).abs() / act.scale).max().item()
    print(f"bf16 input vs its fp32 rounding: {steps:.1e} steps apart")
    assert got.dtype == torch.float32 and steps == 0.0


def test_a_phase_overrides_the_recipe_matmul():
    from exporter.compress.supernet_recipe import load_supernet_recipe

    quick = load_supernet_recipe("quick")
    assert [(p.name, p.train.matmul) for p in quick.phases] == [
        ("width", "bf16"), ("width_depth", "bf16"), ("ternary", "fp32")]
    assert load_supernet_recipe("full").phases[0].train.matmul == "fp32"
