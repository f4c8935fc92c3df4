"""The whole supernet pipeline on a tiny model: phases, checkpoints, resume, table, recipes."""

import json

import pytest
import torch

from exporter.compress.recipe import recipe_names
from exporter.compress.supernet import load_phase, run_supernet
from exporter.compress.supernet_recipe import is_supernet_recipe, load_supernet_recipe, parse_supernet_recipe
from exporter.compress.table import subnet_bytes
from exporter.errors import UserError
from exporter.model.subnet import SubnetSpec
from tests.conftest import TINY
from tests.exporter.compress.tiny_recipe import TINY_RECIPE, tiny_splits


def _max_state_diff(a, b) -> float:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    return max((sa[k].float() - sb[k].float()).abs().max().item() for k in sa)


def test_pipeline_table_and_phase_resume(tiny_model, tmp_path):
    recipe = parse_supernet_recipe(TINY_RECIPE, "tiny")
    splits = tiny_splits()
    full = run_supernet(tiny_model, splits, recipe, tmp_path / "a", {"data": {"sha256": "x"}})
    rows = full.table["rows"]
    # grid: 2 widths x 2 depths x (fp32, ternary, and simulated with dynamic activations: int8 from fp32,
    # ternary) + 1 no-distill row + 1 xtc row
    assert len(rows) == 18, rows
    assert {(r["precision"], r["variant"]) for r in rows} == {("fp32", "supernet"), ("ternary", "supernet"),
                                                             ("int8", "supernet"), ("ternary", "no-distill"),
                                                             ("fp32", "xtc")}
    int8 = {(r["width"], r["depth"]): r for r in rows if r["precision"] == "int8"}
    fp32 = {(r["width"], r["depth"]): r for r in rows if r["precision"] == "fp32" and r["variant"] == "supernet"}
    assert int8.keys() == fp32.keys() and all(r["accuracy"] == "simulated" for r in int8.values())
    dynamic = [r for r in rows if r["precision"] == "ternary" and r.get("activations") == "dynamic"]
    assert len(dynamic) == 4 and all(r["activations"] == "dynamic" for r in int8.values())
    assert all(int8[k]["bytes"] < fp32[k]["bytes"] for k in fp32)
    xtc = [r for r in rows if r["variant"] == "xtc"][0]
    assert xtc["depth"] == 0.5 and xtc["layers"] == 2
    for r in rows:
        assert 0.0 <= r["dev_accuracy"] <= 1.0 and r["bytes"] > 0
    tern = {(r["width"], r["depth"]): r["bytes"] for r in rows if r["precision"] == "ternary" and r["variant"] == "supernet"}
    fp = {(r["width"], r["depth"]): r["bytes"] for r in rows if r["precision"] == "fp32" and r["variant"] == "supernet"}
    assert all(tern[k] < fp[k] for k in fp)
    meta = json.loads((full.checkpoint_dir / "ternary" / "checkpoint.json").read_text())
    assert meta["quant"]["weights"] == "ternary" and len(meta["order"]["heads"]) == TINY.layers
    assert meta["recipe"]["name"] == "tiny" and meta["data"]["sha256"] == "x"
    assert not (full.checkpoint_dir / "ternary" / "work").exists()

    # Interrupted after the width phase, then rerun: finished phases are reused, the rest recomputed.
    run_supernet(tiny_model, splits, recipe, tmp_path / "b", {}, stop_after="width")
    assert not (tmp_path / "b" / "ternary").exists()
    resumed = run_supernet(tiny_model, splits, recipe, tmp_path / "b", {})
    diff = _max_state_diff(full.model, resumed.model)
    print(f"phase resume: final supernet max weight diff {diff:.2e}")
    assert diff == 0.0
    loaded, _ = load_phase(tmp_path / "b" / "ternary")
    assert _max_state_diff(loaded, resumed.model) == 0.0

    # A table written before int8 rows existed gains them on reuse, from the same fp32 phase.
    table = json.loads((tmp_path / "b" / "table.json").read_text())
    old = [r for r in table["rows"] if r.get("activations") != "dynamic"]
    (tmp_path / "b" / "table.json").write_text(json.dumps({**table, "rows": old}))
    again = run_supernet(tiny_model, splits, recipe, tmp_path / "b", {})
    assert again.table == table


def test_shipped_recipes_parse():
    names = [n for n in recipe_names() if is_supernet_recipe(n)]
    assert {"quick", "full", "mixed"} <= set(names)
    mixed = load_supernet_recipe("mixed")  # AQ-BERT: search, then QAT at the fixed bit map
    assert [(p.name, p.kind, p.precision) for p in mixed.phases] == [("search", "mixed_search", "fp32"),
                                                                      ("mixed", "adaptive", "mixed")]
    assert mixed.phases[0].mixed.pricing == "stock" and mixed.phases[0].mixed.group_size == 64
    for name in (n for n in names if n != "mixed"):
        r = load_supernet_recipe(name)
        assert [p.name for p in r.phases][:3] == ["width", "width_depth", "ternary"]
        research = any(p.variant == "no-distill" for p in r.phases) and any(p.kind == "xtc" for p in r.phases)
        assert research == (name == "full"), f"{name}: the ablation and XTC rows belong to full only"
        grid = {p.name: p.precision for p in r.phases if p.report == "grid"}
        assert grid.get("width_depth") == "fp32" and grid.get("ternary") == "ternary" and "width" not in grid
    with pytest.raises(UserError, match="not a supernet recipe"):
        load_supernet_recipe("finetune")
    with pytest.raises(UserError, match="unknown recipe 'quik'; choose one of: .*quick"):
        load_supernet_recipe("quik")


def test_recipe_errors_name_the_bad_value():
    bad = {**TINY_RECIPE, "phase": [{**TINY_RECIPE["phase"][0], "precision": "int4"}]}
    with pytest.raises(UserError, match="unknown precision 'int4'; choose one of: fp32, int8, mixed, ternary"):
        parse_supernet_recipe(bad, "tiny")
    bad = {**TINY_RECIPE, "phase": [{**TINY_RECIPE["phase"][0], "start": "later"}]}
    with pytest.raises(UserError, match="unknown start phase 'later'"):
        parse_supernet_recipe(bad, "tiny")
    bad = {**TINY_RECIPE, "phase": [{**TINY_RECIPE["phase"][0], "lerning_rate": 1}]}
    with pytest.raises(UserError, match="unknown keys \\['lerning_rate'\\]"):
        parse_supernet_recipe(bad, "tiny")


def test_bytes_follow_precision_and_slice():
    full32 = subnet_bytes(TINY, SubnetSpec(), "fp32")
    assert full32 == 4 * sum(p.numel() for p in __import__("exporter.model.encoder", fromlist=["Encoder"])
                             .Encoder(TINY).parameters())
    assert subnet_bytes(TINY, SubnetSpec(), "ternary") < subnet_bytes(TINY, SubnetSpec(), "int8") < full32
    assert subnet_bytes(TINY, SubnetSpec(0.5, 0.5), "ternary") < subnet_bytes(TINY, SubnetSpec(), "ternary")


def test_run_dir_is_keyed_by_hashes_and_table_absent_until_finished(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from exporter.compress.supernet import read_table, supernet_run_dir

    monkeypatch.setenv("DYNAEDGE_CACHE", str(tmp_path))
    inputs = SimpleNamespace(source=SimpleNamespace(sha256="m1"), task=SimpleNamespace(sha256="d1"))
    a = supernet_run_dir(inputs, "quick")
    assert a.parent == tmp_path / "runs" and a.name.startswith("supernet-quick-")
    assert supernet_run_dir(SimpleNamespace(source=inputs.source, task=SimpleNamespace(sha256="d2")), "quick") != a
    assert supernet_run_dir(inputs, "full") != a
    assert read_table(a) is None


def test_train_supernet_entry_point_caches_by_hash(tiny_model, tmp_path, monkeypatch):
    """train_supernet's glue: fine-tuned teacher (cached), run directory, provenance, seq_len check."""
    from types import SimpleNamespace

    import exporter.compress.recipe as recipe_mod
    import exporter.compress.supernet as supernet
    from exporter.compress.recipe import TrainSpec

    monkeypatch.setenv("DYNAEDGE_CACHE", str(tmp_path))
    monkeypatch.setattr(supernet, "load_supernet_recipe", lambda name: parse_supernet_recipe(TINY_RECIPE, name))
    monkeypatch.setattr(recipe_mod, "load_recipe", lambda name: TrainSpec(name="finetune", epochs=1, batch_size=16,
                                                                         seq_len=16, learning_rate=1e-3))
    describe = {"name": "tiny", "sha256": "d1"}
    inputs = SimpleNamespace(model=tiny_model, seq_len=16, splits=tiny_splits(),
                             source=SimpleNamespace(sha256="m1", describe=lambda: {"name": "tiny", "sha256": "m1"}),
                             task=SimpleNamespace(sha256="d1", describe=lambda: describe),
                             describe_data=lambda: {**describe, "seq_len": 16})
    result = supernet.train_supernet(inputs, "tiny")
    assert result.checkpoint_dir == supernet.supernet_run_dir(inputs, "tiny")
    assert supernet.read_table(result.checkpoint_dir) == result.table and len(result.table["rows"]) == 18
    meta = json.loads((result.checkpoint_dir / "width" / "checkpoint.json").read_text())
    assert meta["model"]["sha256"] == "m1" and meta["data"]["seq_len"] == 16 and "metrics" in meta["teacher"]
    assert list((tmp_path / "runs").glob("finetune-*/final/checkpoint.json")), "the teacher is cached by hash"
    with pytest.raises(UserError, match="trains at seq_len 16, inputs were tokenized at 32"):
        supernet.train_supernet(SimpleNamespace(**{**vars(inputs), "seq_len": 32}), "tiny")


def test_student_layers_override_changes_the_xtc_phase_and_the_hash():
    from exporter.compress.supernet_recipe import with_student_layers

    recipe = load_supernet_recipe("full")
    two = with_student_layers(recipe, 2)
    assert [p.student_layers for p in two.phases if p.kind == "xtc"] == [2]
    assert two.sha256 != recipe.sha256
    assert [p["student_layers"] for p in recipe.raw["phase"] if p.get("kind") == "xtc"] == [3]
    with pytest.raises(UserError, match="recipe 'quick' has no XTC phase; --student-layers needs one"):
        with_student_layers(load_supernet_recipe("quick"), 2)
    with pytest.raises(UserError, match="--student-layers 0 must be a positive"):
        with_student_layers(recipe, 0)
