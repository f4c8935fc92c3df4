"""custom_ops="int4": ternary tiny encoder -> fp32 .tflite -> ai-edge-quantizer per-channel int4 weights
in standard FULLY_CONNECTED -> the stock Python Interpreter -> compare with eager PyTorch."""

import numpy as np
import torch

from backends.registry import get_backend
from backends.tflite.backend import TFLiteRunner
from backends.tflite.ternary.tflite_graph import constant, load_model, op_name, tensor_type_name
from exporter.verify import compare, run_runner
from tests.backends.tflite.ternary.eager import eager_fp32, spec_for


def test_int4_fallback_runs_in_stock_interpreter(ternary_model, tiny_inputs, tmp_path):
    ids, mask = tiny_inputs
    backend = get_backend("tflite")
    lowered = backend.lower(ternary_model, spec_for(ids, mask, custom_ops="int4"))
    assert lowered.fallbacks == ("custom ops off (int4 fallback): ternary weights stored as per-channel int4 "
                                 "through ai-edge-quantizer in standard FULLY_CONNECTED (25 ops)",), lowered.fallbacks
    path = tmp_path / "ternary-int4.tflite"
    path.write_bytes(lowered.data)
    runner = backend.load(path)
    assert isinstance(runner, TFLiteRunner)  # no custom op: the plain interpreter runs it
    out = run_runner(runner, ids, mask)
    ref = eager_fp32(ternary_model, ids, mask)
    parity = compare(ref, out, ref.argmax(-1))
    int8 = backend.lower(ternary_model, spec_for(ids, mask, custom_ops="off")).data
    print(f"\nint4 fallback: SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}, agreement "
          f"{parity.label_agreement:.3f}; size int4 {len(lowered.data)} B vs int8 fallback {len(int8)} B")
    # Float activations are quantized per row inside each FC (dynamic range), as in the int8 fallback.
    assert parity.sqnr_db >= 25, f"int4 fallback SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}"
    assert parity.label_agreement >= 0.9, f"label agreement {parity.label_agreement:.3f}"
    assert len(lowered.data) < len(int8), f"int4 {len(lowered.data)} B vs int8 {len(int8)} B"


def test_int4_weights_are_the_ternary_values(ternary_model, tiny_inputs):
    ids, mask = tiny_inputs
    lowered = get_backend("tflite").lower(ternary_model, spec_for(ids, mask, custom_ops="int4"))
    model = load_model(lowered.data)
    graph = model.subgraphs[0]
    fcs = [op for op in graph.operators if op_name(model, op) == "FULLY_CONNECTED"]
    assert [tensor_type_name(graph.tensors[op.inputs[1]]) for op in fcs] == ["INT4"] * 25
    linears = [m.weight.detach().numpy() for m in ternary_model.modules() if isinstance(m, torch.nn.Linear)]
    worst = 0.0
    for op in fcs:
        weight = graph.tensors[op.inputs[1]]
        codes = constant(model, graph, op.inputs[1])
        scales = np.asarray(weight.quantization.scale, dtype=np.float32)
        assert weight.quantization.quantizedDimension == 0 and len(scales) == codes.shape[0]
        assert not np.any(weight.quantization.zeroPoint)
        assert set(np.unique(codes)) <= {-7, 0, 7}  # symmetric int4 scale max|w_n|/7 = a_n/7
        match = [w for w in linears if w.shape == codes.shape and np.array_equal(np.sign(w), codes // 7)]
        assert match, "no Linear of the model has this FC's ternary pattern"
        alpha = np.abs(match[0]).max(axis=1)
        # Up to one global factor where the converter had folded LayerNorm's gamma into the columns
        # (the factorization W = diag(a)·T·diag(g) fixes a and g only up to a constant).
        ratio = 7 * scales / alpha
        worst = max(worst, float(np.abs(ratio / ratio.mean() - 1).max()))
    print(f"\nint4 codes in {{-7,0,7}}; max per-row deviation of 7*scale/alpha from its op's constant: {worst:.1e}")
    assert worst < 1e-5
