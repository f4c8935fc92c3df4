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


def test_per_token_quantization_keeps_each_tokens_range_on_a_256_step_grid():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 16) * torch.tensor([0.01, 1.0, 100.0, 3.0, 0.5]).view(1, 5, 1)  # ranges 4 decades apart
    x[0, 1] = x[0, 1].abs()  # an all-positive token: its range still holds 0
    q = int8_per_token(x)
    lo, hi = x.amin(-1, keepdim=True).clamp(max=0), x.amax(-1, keepdim=True).clamp(min=0)
    step = (hi - lo) / 255
    codes = q / step  # integers (0 is on the grid: the zero point is an integer), 256 of them at most
    assert torch.allclose(codes, codes.round(), atol=2e-3)
    assert ((codes.amax(-1) - codes.amin(-1)).round() <= 255).all()
    worst = ((q - x).abs() / step).max().item()
    print(f"\nper-token int8: worst error {worst:.3f} of the token's own step")
    assert worst <= 0.5 + 1e-3  # half a step of its own scale, whatever the other tokens' ranges


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


def test_the_tables_dynamic_ternary_row_computes_what_the_files_are_verified_against(tiny_model, tiny_inputs):
    """simulate_dynamic_inputs (a slice of the QAT supernet: the table row) and dynamic_reference
    (the frozen, extracted slice: the reference a stock-runtime ternary file must match) agree."""
    from exporter.compress.freeze import freeze_ternary
    from exporter.compress.ptq import dynamic_reference, simulate_dynamic_inputs
    from exporter.compress.quant import extract_quantized

    ids, mask = tiny_inputs
    quantize_model(tiny_model, QuantSpec(weights="ternary"))
    tiny_model.train()
    with torch.no_grad():  # calibrate the static activation ranges
        tiny_model(torch.from_numpy(ids).long(), torch.from_numpy(mask).long())
    tiny_model.eval()
    spec = SubnetSpec(0.5, 0.5)
    table = simulate_dynamic_inputs(tiny_model)
    table.active = spec
    frozen = freeze_ternary(extract_quantized(tiny_model, spec))
    row, ref, static = (torch_logits(m, ids, mask) for m in (table, dynamic_reference(frozen), frozen))
    print(f"\ndynamic row vs reference: max |diff| {np.abs(row - ref).max():.2e}; "
          f"dynamic vs static inputs: SQNR {_sqnr_db(static, ref):.1f} dB")
    assert np.abs(row - ref).max() < 1e-4
    assert np.abs(static - ref).max() > 1e-4  # the reference did change the inputs' quantization
