"""End to end: torch.export -> [TernaryPartitioner, XnnpackPartitioner] ->
.pte -> executorch.runtime, against eager PyTorch that applies the same int8
activation quantization. Reports SQNR (dB) and max abs diff."""

import numpy as np
import pytest
import torch

from backends.executorch.ternary.blob import ActivationQuant, ActMode, twn_ternarize
from backends.executorch.delegates import count_delegated_ops
from backends.executorch.ternary.lowering import lower_ternary
from backends.executorch.ternary.lowering import run_pte as run_pte_outputs
from backends.executorch.ternary.partitioner import TernaryPartitionSpec
from backends.executorch.ternary.reference import fake_quant_linear

MIN_SQNR_DB = 40.0


class TinyEncoderBlock(torch.nn.Module):
    """64 -> 128 -> LayerNorm -> GELU -> 64, plus a float Linear head that
    must stay on XNNPACK."""

    def __init__(self, acts: dict[str, ActivationQuant] | None = None, simulate: bool = False):
        super().__init__()
        self.up = torch.nn.Linear(64, 128)
        self.norm = torch.nn.LayerNorm(128)
        self.down = torch.nn.Linear(128, 64)
        self.head = torch.nn.Linear(64, 3)  # not ternary
        self.acts = acts or {}
        self.simulate = simulate

    def _linear(self, name, layer, x):
        if self.simulate:
            return fake_quant_linear(x, layer.weight, layer.bias, self.acts.get(name, ActivationQuant()))
        return layer(x)

    def forward(self, x):
        h = self._linear("up.weight", self.up, x)
        h = torch.nn.functional.gelu(self.norm(h))
        h = self._linear("down.weight", self.down, h)
        return self.head(h)


def ternarized_model(seed=0) -> TinyEncoderBlock:
    torch.manual_seed(seed)
    model = TinyEncoderBlock().eval()
    with torch.no_grad():
        for layer in (model.up, model.down):
            values, scales = twn_ternarize(layer.weight.numpy())
            layer.weight.copy_(torch.from_numpy(values.astype(np.float32) * scales[:, None]))
    return model


def lower(model, example, spec=TernaryPartitionSpec()):
    return lower_ternary(model, (example,), spec)


def run_pte(pte: bytes, x: torch.Tensor) -> torch.Tensor:
    return run_pte_outputs(pte, [x])[0]


def parity(reference: torch.Tensor, out: torch.Tensor) -> tuple[float, float]:
    err = (reference - out).double()
    sqnr = 10 * torch.log10(reference.double().pow(2).sum() / err.pow(2).sum().clamp_min(1e-30)).item()
    return sqnr, err.abs().max().item()


@pytest.mark.parametrize("mode", ["dynamic", "static"])
def test_tiny_model_parity_and_delegate_counts(mode):
    model = ternarized_model()
    x = torch.randn(2, 16, 64)
    acts, spec = {}, TernaryPartitionSpec()
    if mode == "static":  # scales as quantization-aware training would store them
        with torch.no_grad():
            h = torch.nn.functional.gelu(model.norm(model.up(x)))
        acts = {"up.weight": ActivationQuant(ActMode.STATIC_PER_TENSOR, x.abs().max().item() / 127),
                "down.weight": ActivationQuant(ActMode.STATIC_PER_TENSOR, 0.8 * h.abs().max().item() / 127)}
        spec = TernaryPartitionSpec(activation_scales={k: a.scale for k, a in acts.items()})
    edge = lower(model, x, spec)
    counts = count_delegated_ops(edge)
    assert counts.get("DynaedgeTernaryBackend") == 2, counts
    assert counts.get("XnnpackBackend", 0) >= 1, counts  # the float head at least
    pte = edge.to_executorch().buffer
    assert count_delegated_ops(pte)["DynaedgeTernaryBackend"] == 2

    out = run_pte(pte, x)
    simulated = TinyEncoderBlock(acts, simulate=True).eval()
    simulated.load_state_dict(model.state_dict())
    with torch.no_grad():
        want = simulated(x)
        float_out = model(x)
    sqnr, max_diff = parity(want, out)
    sqnr_float, _ = parity(float_out, out)
    assert sqnr >= MIN_SQNR_DB and max_diff < 1e-3, (
        f"{mode}: SQNR {sqnr:.1f} dB (want >= {MIN_SQNR_DB}), max abs diff {max_diff:.2e} "
        f"vs eager int8-simulated; vs plain fp32 eager SQNR {sqnr_float:.1f} dB")
    print(f"\n{mode}: SQNR {sqnr:.1f} dB, max abs diff {max_diff:.2e} vs int8-simulated eager; "
          f"{sqnr_float:.1f} dB vs fp32 eager; delegates {counts}")


def test_non_ternary_linears_stay_with_xnnpack():
    torch.manual_seed(1)
    model = TinyEncoderBlock().eval()  # no ternarization at all
    counts = count_delegated_ops(lower(model, torch.randn(1, 4, 64)))
    assert "DynaedgeTernaryBackend" not in counts, counts


def test_corrupted_blob_in_pte_fails_to_load_without_crashing():
    model = ternarized_model()
    x = torch.randn(1, 4, 64)
    pte = bytearray(lower(model, x).to_executorch().buffer)
    at = pte.find(b"DTRN")
    assert at >= 0, "no ternary blob found in the .pte"
    pte[at + 100] ^= 0x01  # a weight byte: the checksum must catch it
    with pytest.raises(Exception):
        run_pte(bytes(pte), x)
