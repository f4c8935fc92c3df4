"""`dynaedge bench` summary lines: the int8 race against ONNX Runtime and ternary against int8."""

import pytest

from exporter.bench import BenchSpec, _summary, encoder_ops
from exporter.errors import UserError
from exporter.model.config import EncoderConfig


def _row(system, precision, seq, ms):
    return {"system": system, "precision": precision, "seq_len": seq, "median_ms": ms}


def test_summary_ratios():
    rows = [_row("executorch-int8", "int8", 64, 2.0), _row("tflite-int8", "int8", 64, 2.5),
            _row("tflite-int8-dynamic", "int8", 64, 1.9),
            _row("onnxruntime-dynamic", "int8", 64, 2.2), _row("executorch-ternary", "ternary", 64, 3.0),
            _row("tflite-ternary", "ternary", 64, 2.0)]
    out = _summary(rows)
    assert out["seq64_best_int8_vs_onnxruntime_int8"] == "tflite-int8-dynamic 1.90 ms / onnxruntime-dynamic 2.20 ms = 0.86x"
    assert out["seq64_executorch-ternary_vs_executorch-int8_int8"] == "3.00 ms / 2.00 ms = 1.50x"
    assert out["seq64_tflite-ternary_vs_tflite-int8_int8"] == "2.00 ms / 2.50 ms = 0.80x"


def test_ops_count_of_minilm():
    # 6 layers x (2 * 128 * 1,769,472 + 4 * 128^2 * 384) = 2.87 GOP: DESIGN.md's "about 2.9 GOP"
    assert encoder_ops(EncoderConfig(), 128) == pytest.approx(2.869e9, rel=1e-3)


def test_bad_bench_specs():
    with pytest.raises(UserError, match="sequence length 4 out of range"):
        BenchSpec(seq_lens=(4,))
    with pytest.raises(UserError, match="--runs 2 is too few"):
        BenchSpec(runs=2)
    with pytest.raises(UserError, match="--rounds 0"):
        BenchSpec(rounds=0)


def test_bench_times_every_variant_of_the_table_once():
    from backends.registry import get_backend, variants
    from exporter.bench_systems import system_name

    names = [system_name(v) for v in variants()]
    assert len(set(names)) == len(names), names  # one row (and one cached file) each
    assert {"executorch-int8-dynamic", "executorch-ternary-int4", "tflite-int8-full", "tflite-ternary-int4"} <= set(names)
    for v in variants():
        assert v.precision in get_backend(v.backend).precisions, v.key


def test_artifact_cache_key_follows_weights_backend_and_model_code(tmp_path, monkeypatch):
    import torch

    import exporter.bench_systems as systems

    (tmp_path / "exporter").mkdir()
    (tmp_path / "backends").mkdir()
    kernel = tmp_path / "backends" / "kernel.cpp"
    kernel.write_text("int f() { return 1; }")
    monkeypatch.setattr(systems, "__file__", str(tmp_path / "exporter" / "bench_systems.py"))
    model = torch.nn.Linear(3, 2)
    key = systems._teacher_key(model)
    assert systems._teacher_key(model) == key
    kernel.write_text("int f() { return 2; }")  # a backend fix: cached artifacts must not be reused
    changed = systems._teacher_key(model)
    assert changed != key
    (tmp_path / "exporter" / "model").mkdir()
    (tmp_path / "exporter" / "model" / "encoder.py").write_text("MASK_VALUE = -100.0")  # graph-shaping code
    assert systems._teacher_key(model) != changed
    changed = systems._teacher_key(model)
    with torch.no_grad():
        model.weight.add_(1e-3)
    assert systems._teacher_key(model) != changed


def test_dev_accuracy_is_run_once_per_file_and_sentences(tmp_path, monkeypatch):
    """The bench keeps each file's dev accuracy beside it: a rerun only times, and a changed file or
    changed sentences are run again."""
    import numpy as np

    import exporter.bench as bench
    import exporter.bench_timing as timing
    from exporter.bench_systems import System
    from exporter.data.tokenize import EncodedSplit

    calls = []

    def fake_runner(path, threads):
        calls.append(path.read_bytes())
        return lambda ids, mask: np.stack([ids[:, 0] % 2, 1 - ids[:, 0] % 2], -1).astype(np.float32)

    monkeypatch.setattr(timing, "load_runner", fake_runner)
    file = tmp_path / "bench-int8.pte"
    file.write_bytes(b"v1")
    system = System("executorch-int8", "int8", file, 2)
    ids = np.array([[1], [2], [3], [4]], dtype=np.int32)
    dev = EncodedSplit(ids, np.ones_like(ids), np.array([0, 1, 0, 0]), ("",) * 4)
    first = bench._dev_accuracy(system, dev, 1, 64)
    assert first == 0.75 and bench._dev_accuracy(system, dev, 1, 64) == first and len(calls) == 1
    file.write_bytes(b"v2")
    bench._dev_accuracy(system, dev, 1, 64)
    other = EncodedSplit(ids, np.ones_like(ids), np.array([1, 1, 0, 0]), ("",) * 4)
    assert bench._dev_accuracy(system, other, 1, 64) == 0.5 and len(calls) == 3


def test_bench_rows_get_the_host_prediction_of_their_full_size_file():
    """The page's predicted-vs-measured plot reads `predicted_ms` from the rows: our fitted variants
    get the latency model's host figure for the full-size model, peers and unfitted variants none."""
    from backends.registry import find_variant
    from exporter.bench import _host_predictor
    from exporter.devices.fit import load_fit
    from exporter.devices.latency import predict_ms
    from exporter.devices.profile import load_profile
    from exporter.model.subnet import FULL

    cfg = EncoderConfig()
    predict, origin = _host_predictor(cfg)
    fit = load_fit()
    expected = predict_ms(fit, load_profile("host"), find_variant("tflite", "int8-dynamic"), cfg, FULL, 64)
    assert predict("tflite-int8-dynamic", 64) == pytest.approx(expected, rel=1e-3)
    assert predict("tflite-int8-dynamic", 128) > predict("tflite-int8-dynamic", 64)
    assert predict("onnxruntime-fused-dynamic", 64) is None and predict("torch-eager", 64) is None
    unfitted = [f"{b}-{v}" for b, v in (("executorch", "ternary"), ("tflite", "ternary")) if (b, v) not in fit.keys()]
    assert all(predict(name, 64) is None for name in unfitted)
    assert origin.startswith("host fit of")
    # at real lengths: the mean of per-length predictions; a fixed-length file costs seq_len per sentence
    lengths = [10, 20, 30]
    et = find_variant("executorch", "int8-dynamic")
    mean = sum(predict_ms(fit, load_profile("host"), et, cfg, FULL, n) for n in lengths) / 3
    assert predict("executorch-int8-dynamic", 64, lengths) == pytest.approx(mean, rel=1e-3)
    assert predict("executorch-int8-dynamic", 64, lengths) < predict("executorch-int8-dynamic", 64)
    lite = find_variant("tflite", "int8-dynamic")  # bucketed: 10 -> 16 tokens, 20 and 30 -> 32
    mean = sum(predict_ms(fit, load_profile("host"), lite, cfg, FULL, b) for b in (16, 32, 32)) / 3
    assert predict("tflite-int8-dynamic", 64, lengths) == pytest.approx(mean, rel=1e-3)
    full = find_variant("tflite", "int8-full")
    if (full.backend, full.name) in fit.keys():  # fixed length: every sentence costs 64 tokens
        assert predict("tflite-int8-full", 64, lengths) == predict("tflite-int8-full", 64)


def test_fixed_length_input_is_all_real_tokens_so_length_adaptive_files_run_at_seq_len():
    import numpy as np

    from exporter.bench import full_length_input

    ids = np.array([[2, 5, 6, 3, 0, 0], [2, 7, 3, 0, 0, 0], [2, 8, 9, 10, 3, 0]], np.int32)
    mask = (ids != 0).astype(np.int32)
    one = full_length_input(ids, mask, 6)
    assert one["ids"].tolist() == [[2, 5, 6, 3, 2, 7]] and one["mask"].tolist() == [[1] * 6]
    assert one["ids"].dtype == ids.dtype and one["mask"].dtype == mask.dtype
    with pytest.raises(UserError, match="hold 12 tokens, fewer than --seq-len 64"):
        full_length_input(ids, mask, 64)
