"""Run a .tflite with DYNAEDGE_TERNARY_FC registered, from Python, through LiteRT's C API.

ai_edge_litert's Python Interpreter and CompiledModel take no C custom ops in 2.3, so this
goes through ctypes over runtime/litert_driver.cpp (built by build.py, linked to the wheel's
libLiteRt.so). A corrupted op payload is rejected when the model is opened, with the node
and the bad field named: TernaryPayloadError.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from backends.tflite.ternary.build import build_library

_LIB: list[ctypes.CDLL] = []


class TernaryPayloadError(ValueError):
    """The model could not be opened: a DYNAEDGE_TERNARY_FC payload (or the file) is invalid."""


def _lib() -> ctypes.CDLL:
    if not _LIB:
        lib = ctypes.CDLL(str(build_library()))
        lib.dynaedge_litert_open.restype = ctypes.c_void_p
        lib.dynaedge_litert_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                             ctypes.c_size_t]
        lib.dynaedge_litert_input_size.restype = ctypes.c_size_t
        lib.dynaedge_litert_input_size.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.dynaedge_litert_output_size.restype = ctypes.c_size_t
        lib.dynaedge_litert_output_size.argtypes = [ctypes.c_void_p]
        lib.dynaedge_litert_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p,
                                            ctypes.c_char_p, ctypes.c_size_t]
        lib.dynaedge_litert_num_ternary_nodes.argtypes = [ctypes.c_void_p]
        lib.dynaedge_litert_close.argtypes = [ctypes.c_void_p]
        lib.dynaedge_litert_set_kernel_threads.argtypes = [ctypes.c_int]
        _LIB.append(lib)
    return _LIB[0]


class LiteRtTernaryRunner:
    """(ids, mask) int32 [1, seq] -> float32 logits, with the ternary kernel registered. `threads`
    sets the ternary kernel's pool and the CPU accelerator's threads for the model's other ops
    (LiteRT's "xnnpack" opaque options; by default its CompiledModel runs them on one thread)."""

    def __init__(self, path: Path, num_inputs: int = 2, threads: int = 2):
        self.handle = None  # set first: __del__ runs even when opening fails
        self.lib = _lib()
        self.lib.dynaedge_litert_set_kernel_threads(threads)
        error = ctypes.create_string_buffer(1024)
        handle = self.lib.dynaedge_litert_open(str(path).encode(), num_inputs, threads, error, len(error))
        if not handle:
            raise TernaryPayloadError(f"{path}: {error.value.decode()}")
        self.handle = handle
        self.sizes = [self.lib.dynaedge_litert_input_size(handle, i) for i in range(num_inputs)]
        self.out_size = self.lib.dynaedge_litert_output_size(handle)

    @property
    def ternary_nodes(self) -> int:
        return self.lib.dynaedge_litert_num_ternary_nodes(self.handle)

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        arrays = [np.ascontiguousarray(a, dtype=np.int32) for a in (ids, mask)]
        for i, (a, n) in enumerate(zip(arrays, self.sizes)):
            if a.size != n:
                raise ValueError(f"input {i} has {a.size} values, the model takes {n}")
        pointers = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
        out = np.empty(self.out_size, dtype=np.float32)
        error = ctypes.create_string_buffer(1024)
        if self.lib.dynaedge_litert_run(self.handle, pointers, out.ctypes.data, error, len(error)) != 0:
            raise RuntimeError(error.value.decode())
        return out.reshape(1, -1)

    def close(self) -> None:
        if self.handle:
            self.lib.dynaedge_litert_close(self.handle)
            self.handle = None

    def __del__(self):
        self.close()
