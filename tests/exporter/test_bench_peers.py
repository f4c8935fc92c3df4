"""The bench's peers (exporter/peers/, GitHub issue #21), on the tiny random encoder: the HF-form
copy computes the encoder's function, ONNX Runtime's fuser fuses it, each file loads in the bench's
runner, and every peer is a system of build_systems."""

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from exporter.bench_timing import ROOT
from tests.conftest import TINY


def _example(ids, mask):
    return torch.from_numpy(ids[:1].copy()), torch.from_numpy(mask[:1].copy())


def _reference(model, ids, mask):
    from exporter.peers.parity import teacher_logits

    return teacher_logits(model, ids, mask)


def test_bert_form_is_the_encoder(tiny_model, tiny_inputs):
    from exporter.peers.bert_form import BertForm

    ids, mask = tiny_inputs
    with torch.no_grad():
        form = BertForm.from_encoder(tiny_model)(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    diff = np.abs(form - _reference(tiny_model, ids, mask)).max()
    assert diff < 1e-5, f"BertForm vs Encoder: max abs diff {diff:.3g} over {len(ids)} padded sentences"


def test_fused_graph_fuses_and_computes_the_encoder(tiny_model, tiny_inputs, tmp_path):
    from exporter.peers import onnx_bert
    from exporter.peers.parity import peer_parity

    ids, mask = tiny_inputs
    files = onnx_bert.build_fused(tiny_model, _example(ids, mask), tmp_path, "test")
    layers = TINY.layers
    ops = onnx_bert.file_ops(files.fp32)
    expected = {"Attention": layers, "SkipLayerNormalization": 2 * layers, "EmbedLayerNormalization": 1,
                "BiasGelu": layers}
    assert {k: ops.get(k) for k in expected} == expected, ops
    assert "Softmax" not in ops and "LayerNormalization" not in ops, ops  # nothing left unfused
    assert onnx_bert.fusion_note(files.fp32, layers).startswith("optimize_model fused every layer"), ops

    parity = peer_parity(files.fp32, _reference(tiny_model, ids, mask), ids, mask, threads=1)
    assert parity["max_abs_diff"] < 1e-4 and (parity["sqnr_db"] is None or parity["sqnr_db"] > 80), parity

    int8_ops = onnx_bert.runtime_ops(files.int8, threads=1)
    assert int8_ops.get("QAttention") == layers and int8_ops.get("DynamicQuantizeMatMul"), int8_ops
    assert int8_ops.get("SkipLayerNormalization") == 2 * layers, int8_ops
    parity8 = peer_parity(files.int8, _reference(tiny_model, ids, mask), ids, mask, threads=1)
    # 18.5 dB padded / 17.0 at own lengths on an AVX2 host (ONNX Runtime's u8 x s8 kernels without VNNI),
    # above 20 on AVX-512 VNNI hosts: a quantized encoder either way, never a different function
    assert parity8["sqnr_db"] > 15 and parity8["label_agreement"] == 1.0, f"fused dynamic int8 vs encoder: {parity8}"


def test_fusion_note_names_what_did_not_fuse(tiny_model, tiny_inputs, tmp_path):
    """The teacher's own graph (the plain peers) has nothing fused: the note says so per op."""
    from exporter.peers.onnx_bert import fusion_note
    from exporter.peers.onnx_plain import build_plain

    ids, mask = tiny_inputs
    build_plain(tiny_model, _example(ids, mask), tmp_path / "fp32.onnx", tmp_path / "int8.onnx")
    note = fusion_note(tmp_path / "fp32.onnx", TINY.layers)
    assert note == ("optimize_model did not fuse all: Attention 0/4, SkipLayerNormalization 0/8, "
                    "EmbedLayerNormalization 0/1, BiasGelu 0/4"), note


def test_torch_dynamic_loads_in_the_bench_runner(tiny_model, tiny_inputs, tmp_path):
    from exporter.bench_timing import TorchRunner, load_runner
    from exporter.peers.parity import peer_parity
    from exporter.peers.torch_dynamic import save_torch_dynamic, shipped_bytes

    ids, mask = tiny_inputs
    path = tmp_path / "torch-eager-dynamic.pt"
    save_torch_dynamic(tiny_model, path)
    runner = load_runner(path, 1)
    assert isinstance(runner, TorchRunner)
    linears = [m for m in runner.model.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert len(linears) == 6 * TINY.layers + 1, runner.model  # q, k, v, out, ffn in/out per layer + head
    assert runner(ids[:2], mask[:2]).shape == (2, TINY.num_labels)
    parity = peer_parity(path, _reference(tiny_model, ids, mask), ids, mask, threads=1)
    assert parity["sqnr_db"] > 20, f"torch dynamic int8 vs encoder: {parity}"
    # The bench's child is a fresh process: the pickle must load there too (exporter.peers not yet imported).
    code = ("import numpy as np; from exporter.bench_timing import load_runner; "
            f"print(load_runner(__import__('pathlib').Path({str(path)!r}), 1)(np.full((1, 8), 7, np.int32), "
            "np.ones((1, 8), np.int32)).shape)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0 and done.stdout.strip() == f"(1, {TINY.num_labels})", done.stderr[-2000:]
    fp32 = tmp_path / "fp32-state.pt"
    torch.save(tiny_model.state_dict(), fp32)  # the same serialization, fp32 weights
    assert shipped_bytes(path) < 0.75 * fp32.stat().st_size, (shipped_bytes(path), fp32.stat().st_size)


def test_build_systems_has_every_peer(tiny_model, tiny_inputs, tmp_path, monkeypatch):
    import exporter.bench_systems as bench_systems
    from exporter.data.tokenize import EncodedSplit

    monkeypatch.setenv("DYNAEDGE_CACHE", str(tmp_path))
    monkeypatch.setattr(bench_systems, "variants", lambda: [])  # our lowered files: test_bench and the backends
    ids, mask = tiny_inputs
    split = EncodedSplit(ids, mask, np.zeros(len(ids), dtype=np.int64), ("",) * len(ids))
    inputs = SimpleNamespace(splits=SimpleNamespace(train=split, dev=split))
    systems = {s.name: s for s in bench_systems.build_systems(tiny_model, inputs, ids.shape[1])}
    assert list(systems) == ["torch-eager", "onnxruntime-fp32", "onnxruntime-dynamic", "onnxruntime-fused-fp32",
                             "onnxruntime-fused-dynamic", "torch-eager-dynamic"]
    for name, s in systems.items():
        assert s.file.exists() and s.bytes > 0, s
        if name != "torch-eager":
            assert s.parity["sentences"] == len(ids) and s.note, s
            assert (s.fused_ops is not None) == name.startswith("onnxruntime"), s
    assert systems["onnxruntime-fused-dynamic"].fused_ops["QAttention"] == TINY.layers
    assert "Attention" not in systems["onnxruntime-dynamic"].fused_ops  # ORT does not fuse our own graph
    for name in ("onnxruntime-fp32", "onnxruntime-fused-fp32"):
        assert systems[name].parity["max_abs_diff"] < 1e-4, systems[name].parity
    # Exported with dynamic axes, as ONNX Runtime users do: each sentence runs at its own length.
    from exporter.bench_timing import load_runner

    for name in ("onnxruntime-fp32", "onnxruntime-dynamic", "onnxruntime-fused-fp32", "onnxruntime-fused-dynamic"):
        assert load_runner(systems[name].file, 1).dynamic_length, name


def test_peer_rows_carry_fused_ops_note_and_parity(tmp_path):
    from exporter.bench import _peer_fields
    from exporter.bench_systems import System

    ours = System("executorch-int8", "int8", tmp_path / "a.pte", 1)
    peer = System("onnxruntime-fused-dynamic", "int8", tmp_path / "b.onnx", 1, {"QAttention": 6}, "fused",
                  {"sqnr_db": 30.0})
    assert _peer_fields(ours) == {}
    assert _peer_fields(peer) == {"fused_ops": {"QAttention": 6}, "note": "fused", "parity": {"sqnr_db": 30.0}}


@pytest.mark.parametrize("fused_ms, expected", [(2.0, "onnxruntime-fused-dynamic 2.00"),
                                                (3.0, "onnxruntime-dynamic 2.20")])
def test_summary_races_the_fastest_onnx_runtime_int8(fused_ms, expected):
    from exporter.bench import _summary

    rows = [{"system": s, "precision": p, "seq_len": 64, "median_ms": ms} for s, p, ms in (
        ("tflite-int8-dynamic", "int8", 1.9), ("torch-eager-dynamic", "int8", 1.0),  # a peer, not ours
        ("onnxruntime-fused-fp32", "fp32", 0.5), ("onnxruntime-dynamic", "int8", 2.2),
        ("onnxruntime-fused-dynamic", "int8", fused_ms))]
    line = _summary(rows)["seq64_best_int8_vs_onnxruntime_int8"]
    assert line.startswith(f"tflite-int8-dynamic 1.90 ms / {expected} ms"), line
