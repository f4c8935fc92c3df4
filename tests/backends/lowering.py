"""Shared chain for backend tests: lower -> write -> load in the runtime -> run -> compare with eager."""

import numpy as np
import torch

from backends.base import LowerSpec
from exporter.verify import compare, run_runner


def lower_and_compare(backend, model, ids, mask, precision, tmp_path, options=()):
    spec = LowerSpec(precision, ids.shape[1], ids, mask, options)
    lowered = backend.lower(model, spec)
    path = tmp_path / f"model-{precision}{backend.suffix}"
    path.write_bytes(lowered.data)
    runner = backend.load(path, threads=2)
    out = run_runner(runner, ids, mask)
    with torch.no_grad():
        ref = model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
    labels = ref.argmax(-1)
    return lowered, compare(ref, out, labels), np.abs(ref).max()


def frozen_ternary(model, ids, mask, spec=None):
    """A tiny QAT encoder with calibrated activation ranges, sliced and frozen for export."""
    from exporter.compress.freeze import freeze_ternary
    from exporter.compress.quant import QuantSpec, extract_quantized, quantize_model
    from exporter.model.subnet import SubnetSpec

    model = quantize_model(model, QuantSpec(weights="ternary"))
    model.train()
    with torch.no_grad():  # calibrate the running activation ranges
        for _ in range(3):
            model(torch.from_numpy(ids), torch.from_numpy(mask))
    model.eval()
    return freeze_ternary(extract_quantized(model, spec or SubnetSpec()))
