"""The precision training runs its matrix multiplies in: `matmul = "fp32" | "bf16"` in a recipe.

"bf16" runs each training step's forward (student and distillation teacher) under CPU autocast to
bfloat16 when the CPU multiplies bfloat16 natively (AMX or AVX512-BF16): the weights, optimizer
state, losses and gradients' accumulation stay fp32, only the matmuls' inputs are rounded. On a CPU
without native bfloat16 the same recipe runs in fp32 (emulated bfloat16 would be slower than
fp32), and says so once. Evaluation, the tables and every exported file are fp32 either way.

Measured (2026-12-08, "Intel(R) Xeon(R) Processor" with AMX, 2 cores): one MiniLM step of 32 x 51
tokens 0.68 s in fp32, 0.36 s under bfloat16 autocast.
"""

import contextlib
import functools

MATMUL = ("bf16", "fp32")


@functools.cache
def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AMX tiles or AVX512-BF16 dot products)."""
    import torch

    # torch's own CPU feature probes (cpuinfo), the ones its oneDNN kernels dispatch on; private, so
    # a torch without them counts as "no native bfloat16" rather than failing the run.
    probes = (getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
    return any(bool(probe()) for probe in probes if probe is not None)


def effective(matmul: str) -> str:
    """What a recipe's `matmul` runs as on this machine."""
    return "bf16" if matmul == "bf16" and native_bf16() else "fp32"


@functools.cache
def _say_fallback() -> None:
    import logging

    logging.getLogger("dynaedge").info(
        "this CPU has no native bfloat16 (AMX or AVX512-BF16): the recipe's bf16 matmuls run in fp32")


def autocast(matmul: str):
    """The context one training step's forward runs in."""
    import torch

    if effective(matmul) == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    if matmul == "bf16":
        _say_fallback()
    return contextlib.nullcontext()
