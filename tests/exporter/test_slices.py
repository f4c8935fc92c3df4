"""The rows a --budget export chooses from: the supernet grid plus int8 bounds derived from fp32."""

from exporter.slices import INT8_GATE, supernet_rows


def _table():
    rows = [{"width": w, "depth": 1.0, "precision": p, "dev_accuracy": acc, "variant": "supernet",
             "phase": "width_depth" if p == "fp32" else "ternary"}
            for w, p, acc in ((1.0, "fp32", 0.86), (0.5, "fp32", 0.84), (1.0, "ternary", 0.81))]
    rows.append({"width": 0.25, "depth": 1.0, "precision": "ternary", "dev_accuracy": 0.76, "variant": "no-distill"})
    rows.append({"width": 1.0, "depth": 0.5, "precision": "fp32", "dev_accuracy": 0.79, "variant": "xtc"})
    return {"rows": rows}


def test_ablation_and_xtc_rows_are_not_selectable():
    rows = supernet_rows(_table())
    assert {r.get("variant") for r in rows} == {"supernet"}


def test_each_fp32_row_gets_an_int8_bound_marked_as_such():
    rows = supernet_rows(_table())
    int8 = {(r["width"], r["depth"]): r for r in rows if r["precision"] == "int8"}
    assert set(int8) == {(1.0, 1.0), (0.5, 1.0)}
    assert abs(int8[(1.0, 1.0)]["dev_accuracy"] - (0.86 - INT8_GATE)) < 1e-9
    assert all(r["accuracy"] == "bound" and "bytes" not in r for r in int8.values())
    assert INT8_GATE == 0.01  # the export's int8 parity gate (verify.THRESHOLDS)


def test_measured_int8_rows_are_not_replaced_by_bounds():
    table = _table()
    table["rows"].append({"width": 1.0, "depth": 1.0, "precision": "int8", "dev_accuracy": 0.855,
                          "variant": "supernet"})
    int8 = [r for r in supernet_rows(table) if r["precision"] == "int8"]
    assert sorted((r["width"], r.get("accuracy", "measured")) for r in int8) == [(0.5, "bound"), (1.0, "measured")]


def test_each_variant_is_its_own_file_with_its_options_and_gate():
    from exporter.model.subnet import FULL
    from exporter.slices import Job
    from exporter.spec import ExportSpec

    spec = ExportSpec(variants=("ternary", "ternary-int8", "ternary-int4"), backends=("tflite",))
    jobs = [Job(FULL, v) for v in spec.file_variants()]
    assert [j.file_name for j in jobs] == ["w1-d1-ternary.tflite", "w1-d1-ternary-int8.tflite",
                                           "w1-d1-ternary-int4.tflite"]
    assert [j.variant.options for j in jobs] == [(("custom_ops", "on"),), (("custom_ops", "off"),),
                                                 (("custom_ops", "int4"),)]
    assert [j.variant.gate for j in jobs] == ["ternary-litert", "ternary-fallback", "ternary-fallback"]
    jobs = [Job(FULL, v) for v in ExportSpec(variants=("int8", "int8-dynamic")).file_variants()]
    assert [j.file_name for j in jobs] == ["w1-d1-int8.pte", "w1-d1-int8-dynamic.pte", "w1-d1-int8.tflite",
                                           "w1-d1-int8-dynamic.tflite"]
    assert {j.variant.gate for j in jobs} == {"int8"}


def test_precisions_write_each_backends_default_variants():
    from exporter.spec import ExportSpec

    assert [v.key for v in ExportSpec().file_variants()] == ["executorch/fp32", "executorch/int8", "tflite/fp32",
                                                            "tflite/int8"]
    assert [v.key for v in ExportSpec(precisions=("ternary",)).file_variants()] == ["executorch/ternary",
                                                                                  "tflite/ternary"]


def test_budget_candidates_are_stock_runtimes_unless_custom_ops_and_never_custom_for_executorch():
    from exporter.spec import ExportSpec

    stock = ExportSpec().candidate_variants()
    assert not any(v.custom for v in stock) and {"executorch/int8-dynamic", "executorch/ternary-int4",
                                                 "tflite/int8-dynamic", "tflite/ternary-int4"} <= {v.key for v in stock}
    custom = {v.key for v in ExportSpec(custom_ops=True).candidate_variants() if v.custom}
    assert custom == {"tflite/ternary", "tflite/mixed-op"}
    assert [v.key for v in ExportSpec(variants=("int8-dynamic",)).candidate_variants()] == [
        "executorch/int8-dynamic", "tflite/int8-dynamic"]
