"""Stock-runtime ternary fallbacks of a frozen QAT model: every ternary FC reads its input clipped
to the trained 8-bit range (MAXIMUM -> MINIMUM), not rounded to the trained grid (QUANTIZE ->
DEQUANTIZE), and the file still matches the frozen PyTorch model."""

import numpy as np
import pytest
import torch

from backends.registry import get_backend
from backends.tflite.ternary.tflite_graph import constant, load_model, op_name
from exporter.verify import compare, run_runner
from tests.backends.lowering import frozen_ternary
from tests.backends.tflite.ternary.eager import spec_for


@pytest.mark.parametrize("storage, fc_weight", [("off", "int8"), ("int4", "int4")])
def test_ternary_fcs_read_a_clipped_input(tiny_model, tiny_inputs, tmp_path, storage, fc_weight):
    ids, mask = tiny_inputs
    frozen = frozen_ternary(tiny_model, ids, mask)
    backend = get_backend("tflite")
    lowered = backend.lower(frozen, spec_for(ids, mask, custom_ops=storage))
    model = load_model(lowered.data)
    graph = model.subgraphs[0]
    producers = {int(t): op for op in graph.operators for t in op.outputs}
    quantized_fcs, clipped = 0, 0
    for op in graph.operators:
        if op_name(model, op) != "FULLY_CONNECTED" or constant(model, graph, op.inputs[1]) is None or \
                constant(model, graph, op.inputs[1]).dtype != np.int8:
            continue
        quantized_fcs += 1
        last = producers[int(op.inputs[0])]
        assert op_name(model, last) == "MINIMUM", op_name(model, last)
        first = producers[int(last.inputs[0])]
        assert op_name(model, first) == "MAXIMUM"
        lo, hi = constant(model, graph, first.inputs[1]), constant(model, graph, last.inputs[1])
        assert lo.shape == hi.shape == () and lo == -hi and hi > 0
        clipped += 1
    layers = len(frozen.layers)
    assert quantized_fcs == clipped == 6 * layers, (quantized_fcs, clipped)
    read = {int(t) for op in graph.operators for t in op.inputs}
    dead = [op_name(model, op) for op in graph.operators
            if op_name(model, op) in ("QUANTIZE", "DEQUANTIZE") and not read & {int(t) for t in op.outputs}]
    assert not dead, f"the FCs' former QUANTIZE/DEQUANTIZE still run with nobody reading them: {dead}"

    path = tmp_path / f"ternary-{fc_weight}.tflite"
    path.write_bytes(lowered.data)
    with torch.no_grad():
        ref = frozen(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    parity = compare(ref, run_runner(backend.load(path), ids, mask), ref.argmax(-1))
    assert parity.sqnr_db >= 25, f"{fc_weight} fallback SQNR {parity.sqnr_db:.1f} dB, max diff {parity.max_abs_diff:.2e}"
