"""ctypes view of the runtime's C API (runtime/ternary_c_api.cpp): validate a
blob and run one Linear or one fused block on a chosen kernel path, outside ExecuTorch."""

from __future__ import annotations

import ctypes
from enum import IntEnum

import numpy as np

from .build import load_kernel_library


class KernelPath(IntEnum):
    AUTO = 0
    SCALAR = 1
    AVX2 = 2
    AVX512_VNNI = 3
    NEON = 4        # ARMv8.0 widening multiplies
    NEON_DOT = 5    # ARMv8.2 SDOT
    I8MM = 6        # ARMv8.6 SMMLA


def _lib() -> ctypes.CDLL:
    lib = load_kernel_library()
    lib.dynaedge_ternary_validate.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    lib.dynaedge_ternary_status_name.restype = ctypes.c_char_p
    lib.dynaedge_ternary_run.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]
    lib.dynaedge_ternary_run_block.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p,
        ctypes.c_int]
    lib.dynaedge_ternary_set_min_parallel_macs.argtypes = [ctypes.c_uint64]
    return lib


def validate_blob(blob: bytes) -> tuple[int, str]:
    """(status code, status name) from the C++ validator; 0 means valid."""
    lib = _lib()
    status = lib.dynaedge_ternary_validate(blob, len(blob))
    return status, lib.dynaedge_ternary_status_name(status).decode()


def set_threads(threads: int) -> None:
    """Threads of the kernel's own pool (the caller plus threads - 1 workers)."""
    _lib().dynaedge_ternary_set_num_threads(threads)


def set_min_parallel_macs(macs: int) -> None:
    """Linears below this many multiply-adds run on one thread (measuring the threshold needs 0)."""
    _lib().dynaedge_ternary_set_min_parallel_macs(macs)


def path_available(path: KernelPath) -> bool:
    return bool(_lib().dynaedge_ternary_path_available(int(path)))


def run_linear(
    blob: bytes, x: np.ndarray, path: KernelPath = KernelPath.AUTO, *, accumulators: bool = False,
    repeats: int = 1,
) -> tuple[np.ndarray, float]:
    """Runs the blob's Linear on x[M, K]; returns (y float32 or acc int32 [M, N], seconds per run)."""
    lib = _lib()
    status, name = validate_blob(blob)
    if status != 0:
        raise ValueError(f"invalid ternary blob: {name}")
    n = int.from_bytes(blob[8:12], "little")
    x = np.ascontiguousarray(x, dtype=np.float32)
    out = np.empty((x.shape[0], n), dtype=np.int32 if accumulators else np.float32)
    seconds = ctypes.c_double()
    y_ptr, acc_ptr = (None, out.ctypes.data) if accumulators else (out.ctypes.data, None)
    rc = lib.dynaedge_ternary_run(blob, len(blob), x.ctypes.data, x.shape[0], y_ptr, acc_ptr,
                                  int(path), repeats, ctypes.byref(seconds))
    if rc == -1:
        raise RuntimeError(f"kernel path {path.name} is not available on this CPU/build")
    if rc != 0:
        raise RuntimeError(f"kernel run failed with status {rc}")
    return out, seconds.value


def run_block(blob: bytes, x: np.ndarray, residual: np.ndarray | None = None,
              path: KernelPath = KernelPath.AUTO) -> np.ndarray | tuple[np.ndarray, ...]:
    """Runs a fused-block blob (block_blob.py) on x[M, K] (and residual[M, hidden] for a
    LINEAR_ADD_NORM block); returns y float32 [M, hidden], or (q, k, v) for a QKV block."""
    status, name = validate_blob(blob)
    if status != 0:
        raise ValueError(f"invalid ternary block blob: {name}")
    hidden = int.from_bytes(blob[12:16], "little")
    x = np.ascontiguousarray(x, dtype=np.float32)
    qkv = blob[8] == 3
    # a QKV block's outputs: N of each Linear's own header (slots at 24, 32, 40; N at +8)
    widths = [int.from_bytes(blob[o + 8:o + 12], "little")
              for o in (int.from_bytes(blob[24 + 8 * s:28 + 8 * s], "little") for s in range(3))] if qkv else [hidden]
    out = np.empty((x.shape[0] * sum(widths),), dtype=np.float32)
    res = None if residual is None else np.ascontiguousarray(residual, dtype=np.float32)
    rc = _lib().dynaedge_ternary_run_block(blob, len(blob), x.ctypes.data, None if res is None else res.ctypes.data,
                                           x.shape[0], out.ctypes.data, int(path))
    if rc == -1:
        raise RuntimeError(f"kernel path {path.name} is not available on this CPU/build")
    if rc == -2:
        raise ValueError("a LINEAR_ADD_NORM block takes a residual, the other kinds none")
    if rc != 0:
        raise RuntimeError(f"block run failed with status {rc}")
    parts = np.split(out, np.cumsum([x.shape[0] * w for w in widths])[:-1])
    parts = tuple(p.reshape(x.shape[0], w) for p, w in zip(parts, widths))
    return parts if qkv else parts[0]
