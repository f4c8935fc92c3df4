"""The int8 simulation the selector's int8 rows come from: what it quantizes, and how far it moves the logits."""

import numpy as np
import pytest
import torch

from exporter.compress.ptq import int8_per_token, simulate_int8
from exporter.compress.quant import QuantSpec, quantize_model
from exporter.evaluate import torch_logits
from exporter.model.encoder import extract
from exporter.model.subnet import SubnetSpec


def _sqnr_db(ref: np.ndarray, got: np.ndarray) -> float:
    return float(10 * np.log10((ref ** 2).sum() / max(((ref - got) ** 2).sum(), 1e-30)))


def test_per_token_quantization_keeps_each_tokens_range_on_a_255_step_grid():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 16) * torch.tensor([0.01, 1.0, 100.0, 3.0, 0.5]).view(1, 5, 1)  # ranges 4 decades apart
    q = int8_per_token(x)
    scale = x.abs().amax(-1, keepdim=True) / 127
    codes = q / scale
    assert torch.allclose(codes, codes.round(), atol=1e-3) and codes.abs().max() <= 127 + 1e-3
    rel = ((q - x).abs().amax(-1) / x.abs().amax(-1)).max().item()
    print(f"\nper-token int8: worst error {rel:.2e} of each token's range")
    assert rel <= 0.5 / 127 + 1e-6  # half a step of its own scale, whatever the other tokens' ranges


def test_simulated_int8_is_close_to_fp32_leaves_the_model_alone_and_slices(tiny_model, tiny_inputs):
    ids, mask = tiny_inputs
    before = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    sim = simulate_int8(tiny_model)
    assert all(torch.equal(before[k], v) for k, v in tiny_model.state_dict().items())  # a copy is quantized
    ref, got = torch_logits(tiny_model, ids, mask), torch_logits(sim, ids, mask)
    db = _sqnr_db(ref, got)
    print(f"simulated int8 vs fp32 (tiny): SQNR {db:.1f} dB, max |diff| {np.abs(ref - got).max():.2e}")
    assert 25 < db < 120  # moved, as int8 does, but not far
    # A slice of the simulated supernet (model.active) = the simulation of the extracted slice.
    spec = SubnetSpec(0.5, 0.5)
    sim.active = spec
    sliced = torch_logits(sim, ids, mask)
    alone = torch_logits(simulate_int8(extract(tiny_model, spec)), ids, mask)
    print(f"slice of the simulation vs simulation of the slice: max |diff| {np.abs(sliced - alone).max():.2e}")
    assert np.abs(sliced - alone).max() < 1e-5


def test_a_quantized_model_is_refused(tiny_model):
    quantize_model(tiny_model, QuantSpec(weights="ternary"))
    with pytest.raises(ValueError, match="takes an fp32 model"):
        simulate_int8(tiny_model)
