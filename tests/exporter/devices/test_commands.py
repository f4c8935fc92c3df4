"""The functions the CLI and the export pipeline call: shapes, agreement, errors, light imports."""

import json
import subprocess
import sys

import pytest

from backends.registry import find_variant
from exporter.devices import commands
from exporter.devices.preference import Preference
from exporter.devices.profile import load_profiles
from exporter.errors import UserError


def test_query_is_shaped_like_a_manifest_choice(synthetic_fit, table_rows):
    c = commands.query("pixel-8", "5 ms", table_rows)
    assert c["device"] == "pixel-8" and c["budget_ms"] == 5.0 and c["predicted_ms"] <= 5.0
    assert set(c["subnet"]) == {"width", "depth", "precision"} and c["backend"] == "executorch"
    assert c["family"] == "executorch" and c["runtime"] == "executorch"  # the demo app's stock runtime
    assert c["path"] == f"w{c['subnet']['width']:g}-d{c['subnet']['depth']:g}-{c['variant']}.pte"
    lite = commands.query("pixel-8", "5 ms", table_rows, family="litert")
    assert lite["backend"] == "tflite" and lite["path"].endswith(".tflite")
    assert c["reason"].startswith("chosen within 5 ms on pixel-8")
    json.dumps(c)


def test_query_and_export_choices_agree_for_every_profile_and_runtime(synthetic_fit, table_rows):
    for target in ("android", "linux-arm64", "host"):
        chosen, infeasible = commands.plan_for_target(target, "20ms", table_rows)
        assert not infeasible
        assert [(c["device"], c["family"]) for c in chosen] == [(p.name, f) for p in load_profiles(target)
                                                                 for f in ("executorch", "litert")]
        for c in chosen:
            assert c == commands.query(c["device"], "20ms", table_rows, family=c["family"])


def test_new_variants_compete(synthetic_fit, table_rows):
    """Dynamic int8 and ternary-as-int4 are candidates wherever a latency fit exists for them."""
    chosen, _ = commands.plan_for_target("android", "1.5ms", table_rows)
    assert {c["variant"] for c in chosen} & {"int8-dynamic", "ternary-int4"}, chosen


def test_one_device_and_dedup_of_artifacts(synthetic_fit, table_rows):
    one, _ = commands.plan_for_target("android", "20ms", table_rows, device="kirin-990")
    assert [(c["device"], c["family"]) for c in one] == [("kirin-990", "executorch"), ("kirin-990", "litert")]
    everyone, _ = commands.plan_for_target("android", "1000ms", table_rows)
    needed = commands.needed_artifacts(everyone)
    # with a generous budget every phone takes the same option, one file per runtime: the full-size
    # int8 file (0.4 points below fp32 here: within the slack, and a quarter of the size) ...
    assert [n["path"][:9] for n in needed] == ["w1-d1-int", "w1-d1-int"], needed
    assert sorted(needed[0]["devices"]) == sorted(c["device"] for c in everyone if c["family"] == "executorch")
    # ... or, with no slack, the most accurate one: fp32, in its smaller storage (int8 word table;
    # the table's fp32 row stands for both fp32 variants, and they time alike)
    exact, _ = commands.plan_for_target("android", "1000ms", table_rows, preference=Preference(slack=0.0))
    assert [n["path"] for n in commands.needed_artifacts(exact)] == ["w1-d1-fp32-emb8.pte", "w1-d1-fp32-emb8.tflite"]


def test_errors_name_the_choices(synthetic_fit, table_rows):
    with pytest.raises(UserError, match="unknown device profile 'pixel-77'; choose one of: .*pixel-8"):
        commands.query("pixel-77", "5ms", table_rows)
    with pytest.raises(UserError, match="'linux-arm64' is for target 'linux-arm64', not 'android'"):
        commands.plan_for_target("android", "5ms", table_rows, device="linux-arm64")
    with pytest.raises(UserError, match="not understood"):
        commands.query("pixel-8", "5", table_rows)
    with pytest.raises(UserError, match="unknown runtime 'coreml'; choose one of: executorch, litert"):
        commands.query("pixel-8", "5ms", table_rows, family="coreml")
    with pytest.raises(UserError, match="no android profile fits 0.01 ms: .*no sub-network fits 0.01 ms on budget-a53"):
        commands.plan_for_target("android", "10us", table_rows)


def test_profile_list_and_show(synthetic_fit):
    listed = commands.profile_list()["profiles"]
    assert {"host", "linux-arm64", "pixel-8"} <= {p["name"] for p in listed}
    shown = commands.profile_show("kirin-990")
    assert shown["fp32_gflops"]["source"] and shown["references"]
    assert "executorch/int8" in shown["latency_fits"]
    json.dumps(shown)


def test_device_modules_do_not_load_runtimes():
    heavy = ("executorch", "tensorflow", "litert_torch", "ai_edge_litert", "onnxruntime", "torch")
    code = ("import json, sys, exporter.devices.commands, exporter.devices.selector, exporter.devices.latency, "
            "exporter.devices.importer, exporter.devices.calibrate;"
            f"print(json.dumps([m for m in {heavy!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [], out.stdout


def test_export_plan_leaves_out_a_profile_no_option_fits(synthetic_fit, table_rows):
    from exporter.devices.selector import candidates
    from exporter.model.config import EncoderConfig
    from exporter.spec import candidate_variants

    profiles = load_profiles("android")
    executorch = tuple(v for v in candidate_variants() if v.family == "executorch")
    fastest = {p.name: min(c.predicted_ms for c in candidates(table_rows, p, synthetic_fit, EncoderConfig(), 64,
                                                                executorch)) for p in profiles}
    lo, hi = min(fastest.values()), max(fastest.values())
    assert lo < hi
    budget = f"{(lo + hi) / 2:.4f}ms"   # fits the fastest phone, not the slowest
    choices, infeasible = commands.plan_for_target("android", budget, table_rows, variants=executorch)
    fit_names = {c["device"] for c in choices}
    assert fit_names == {n for n, ms in fastest.items() if ms <= (lo + hi) / 2}
    assert {i["device"] for i in infeasible} == set(fastest) - fit_names
    for item in infeasible:
        assert item["fastest"]["predicted_ms"] == pytest.approx(fastest[item["device"]], abs=1e-3)
        assert "use --budget" in item["reason"] and item["family"] == "executorch"
    assert all(c == commands.query(c["device"], budget, table_rows) for c in choices)  # query agrees
    with pytest.raises(UserError, match="no android profile fits"):
        commands.plan_for_target("android", f"{lo / 2:.4f}ms", table_rows)


def test_query_and_export_agree_at_a_stated_length_and_say_it(synthetic_fit, table_rows):
    chosen, _ = commands.plan_for_target("android", "3ms", table_rows, length=24)
    for c in chosen:
        assert c == commands.query(c["device"], "3ms", table_rows, family=c["family"], length=24)
        assert c["budget_length"] == 24 and "within 3 ms at 24 tokens" in c["reason"]
        assert c["predicted_at_length"] == find_variant(c["backend"], c["variant"]).run_length(64, 24)
    at_seq_len, _ = commands.plan_for_target("android", "3ms", table_rows)
    shorter = {(c["device"], c["family"]): c["dev_accuracy"] for c in chosen}
    # a budget met by one short sentence buys at least the accuracy of one met at 64 tokens
    assert all(shorter.get((c["device"], c["family"]), 0) >= c["dev_accuracy"] for c in at_seq_len)
