"""Fused blocks (blocks.py, runtime/ternary_block.h): the C++ block against the delegate's own
Linear reference plus torch's GELU / LayerNorm, the blob writer's checks, and a lowered op whose
inputs arrive residual first. Reports the largest differences."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backends.executorch.ternary import blocks  # noqa: F401  registers torch.ops.dynaedge
from backends.executorch.ternary.blob import ActivationQuant, ActMode, BlobFormatError, TernaryLinearSpec, twn_ternarize
from backends.executorch.ternary.block_blob import BlockKind, TernaryBlockSpec, pack_block_blob
from backends.executorch.ternary.kernel_api import KernelPath, path_available, run_block, validate_blob
from backends.executorch.ternary.reference import reference_linear

HIDDEN, INNER, ROWS = 48, 80, 7


def _linear(n, k, rng, static):
    values, scales = twn_ternarize(rng.normal(size=(n, k)))
    act = ActivationQuant(ActMode.STATIC_PER_TENSOR, 0.05) if static else ActivationQuant()
    return TernaryLinearSpec(values, scales, rng.normal(size=n).astype(np.float32) * 0.1, act)


def _block(kind, static, seed=0, residual_first=False):
    rng = np.random.default_rng(seed)
    if kind == BlockKind.QKV:
        return TernaryBlockSpec(kind, tuple(_linear(INNER, HIDDEN, rng, static) for _ in range(3)), None, None, 0.0)
    linears = ((_linear(HIDDEN, INNER, rng, static),) if kind == BlockKind.LINEAR_ADD_NORM else
               (_linear(INNER, HIDDEN, rng, static), _linear(HIDDEN, INNER, rng, static)))
    return TernaryBlockSpec(kind, linears, (1 + 0.1 * rng.normal(size=HIDDEN)).astype(np.float32),
                            (0.1 * rng.normal(size=HIDDEN)).astype(np.float32), 1e-12, residual_first)


def _expected(spec: TernaryBlockSpec, x: np.ndarray, residual: np.ndarray | None) -> np.ndarray:
    """The delegate's Linears exactly (reference_linear), then torch's erf GELU and LayerNorm
    (Q/K/V: the three Linears, concatenated)."""
    if spec.kind == BlockKind.QKV:
        return np.concatenate([reference_linear(s, x) for s in spec.linears], axis=1)
    if spec.kind == BlockKind.FFN_ADD_NORM:
        h = F.gelu(torch.from_numpy(reference_linear(spec.linears[0], x))).numpy()
        y, residual = reference_linear(spec.linears[1], h), x
    else:
        y = reference_linear(spec.linears[0], x)
    return F.layer_norm(torch.from_numpy(residual + y), (spec.hidden,), torch.from_numpy(spec.norm_weight),
                        torch.from_numpy(spec.norm_bias), spec.eps).numpy()


@pytest.mark.parametrize("kind", list(BlockKind))
@pytest.mark.parametrize("static", [False, True])
def test_block_matches_its_pieces_on_every_path(kind, static):
    spec = _block(kind, static)
    blob = pack_block_blob(spec)
    assert validate_blob(blob) == (0, "ok")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(ROWS, spec.linears[0].k)).astype(np.float32)
    residual = rng.normal(size=(ROWS, HIDDEN)).astype(np.float32) if kind == BlockKind.LINEAR_ADD_NORM else None
    expected = _expected(spec, x, residual)
    outputs = {}
    for path in KernelPath:
        if path != KernelPath.AUTO and path_available(path):
            y = run_block(blob, x, residual, path)
            outputs[path.name] = np.concatenate(y, axis=1) if kind == BlockKind.QKV else y
    diff = max(float(np.abs(y - expected).max()) for y in outputs.values())
    print(f"{kind.name} static={static}: max |block - pieces| {diff:.2e} over paths {sorted(outputs)}")
    # the rational erf (~4e-7) and the LayerNorm's summation order, nothing else
    assert diff < 1e-5
    scalar = outputs["SCALAR"]
    assert all(np.array_equal(y, scalar) for y in outputs.values()), "paths differ in their bits"


def test_writer_refuses_blocks_that_do_not_chain():
    spec = _block(BlockKind.FFN_ADD_NORM, False)
    with pytest.raises(BlobFormatError, match="do not fit a LayerNorm of width 48"):
        pack_block_blob(TernaryBlockSpec(spec.kind, (spec.linears[0], spec.linears[0]), spec.norm_weight,
                                         spec.norm_bias, spec.eps))
    with pytest.raises(BlobFormatError, match="holds 1 Linear"):
        pack_block_blob(TernaryBlockSpec(BlockKind.LINEAR_ADD_NORM, spec.linears, spec.norm_weight,
                                         spec.norm_bias, spec.eps))
    with pytest.raises(BlobFormatError, match="eps must be finite and > 0"):
        pack_block_blob(TernaryBlockSpec(spec.kind, spec.linears, spec.norm_weight, spec.norm_bias, 0.0))


def test_corrupt_block_rejected_with_its_reason():
    blob = bytearray(pack_block_blob(_block(BlockKind.FFN_ADD_NORM, True)))
    blob[-1] ^= 1
    assert validate_blob(bytes(blob))[1] == "CRC32 checksum mismatch"
    assert validate_blob(bytes(blob[:-4]))[1] == "header total size differs from the blob length"


class _ResidualFirst(torch.nn.Module):
    """The op called as (x, residual) while the program's inputs are (residual, x)."""

    def __init__(self, spec: TernaryBlockSpec):
        super().__init__()
        (linear,) = spec.linears
        self.weight = torch.nn.Parameter(torch.from_numpy(linear.dense_weight()), requires_grad=False)
        self.bias = torch.nn.Parameter(torch.from_numpy(linear.bias), requires_grad=False)
        self.norm_weight = torch.nn.Parameter(torch.from_numpy(spec.norm_weight), requires_grad=False)
        self.norm_bias = torch.nn.Parameter(torch.from_numpy(spec.norm_bias), requires_grad=False)

    def forward(self, residual, x):
        return torch.ops.dynaedge.ternary_linear_add_norm(x, residual, self.weight, self.bias, 0.05,
                                                          self.norm_weight, self.norm_bias, 1e-12)


def test_lowered_block_takes_its_inputs_in_program_order():
    from backends.executorch.delegates import count_delegated_ops
    from backends.executorch.ternary.lowering import lower_ternary, run_pte

    spec = _block(BlockKind.LINEAR_ADD_NORM, True)
    model = _ResidualFirst(spec).eval()
    rng = np.random.default_rng(2)
    residual = torch.from_numpy(rng.normal(size=(1, ROWS, HIDDEN)).astype(np.float32))
    x = torch.from_numpy(rng.normal(size=(1, ROWS, INNER)).astype(np.float32))
    edge = lower_ternary(model, (residual, x))
    assert count_delegated_ops(edge).get("DynaedgeTernaryBackend") == 1
    out = run_pte(edge.to_executorch().buffer, [residual, x])[0]
    reference = model(residual, x)
    diff = (out - reference).abs().max().item()
    print(f"residual-first block .pte vs torch: max abs diff {diff:.2e}")
    assert diff < 1e-5
