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


def test_tflite_ternary_variants_are_separate_files_with_their_options():
    from exporter.model.subnet import FULL
    from exporter.slices import Job
    from exporter.spec import ExportSpec

    storages = ExportSpec(precisions=("ternary",), tflite_ternary=("custom-op", "int8", "int4")).tflite_ternary
    jobs = [Job(FULL, "ternary", "tflite", storage=s) for s in storages]
    assert [j.file_name(".tflite") for j in jobs] == ["w1-d1-ternary.tflite", "w1-d1-ternary-int8.tflite",
                                                     "w1-d1-ternary-int4.tflite"]
    assert [j.options for j in jobs] == [(("custom_ops", "on"),), (("custom_ops", "off"),), (("custom_ops", "int4"),)]
    assert [j.fallback for j in jobs] == [False, True, True]
    assert Job(FULL, "ternary", "executorch").options == () and Job(FULL, "int8", "tflite").options == ()


def test_tflite_int8_modes_are_separate_files_with_their_options():
    from exporter.model.subnet import FULL
    from exporter.pipeline import _tflite_variants
    from exporter.slices import Job
    from exporter.spec import ExportSpec

    spec = ExportSpec(tflite_int8=("static", "dynamic"))
    assert _tflite_variants(spec, "tflite", "int8") == ("static", "dynamic")
    assert _tflite_variants(spec, "executorch", "int8") == ("",) and _tflite_variants(spec, "tflite", "fp32") == ("",)
    jobs = [Job(FULL, "int8", "tflite", storage=s) for s in spec.tflite_int8]
    assert [j.file_name(".tflite") for j in jobs] == ["w1-d1-int8.tflite", "w1-d1-int8-dynamic.tflite"]
    assert [j.options for j in jobs] == [(("int8_mode", "static"),), (("int8_mode", "dynamic"),)]
    assert [j.fallback for j in jobs] == [False, False]  # int8 gate either way
