"""Runs a .pte file (benchmarks, parity checks, timing children). Kept apart from the lowering
code: lowered-file caches are keyed by the code that shapes a file (exporter.bench_systems.
lowering_code_hash skips runner.py), and how a file is run does not shape it."""

from pathlib import Path

import numpy as np
import torch

from backends.base import at_own_length
from backends.executorch.backend import TERNARY_BACKEND_ID
from backends.executorch.lengths import MAX_LEN_METHOD
from exporter.quiet import to_log


class ExecuTorchRunner:
    """Runs a .pte with XNNPACK's threadpool set to `threads`, through the runtime's C extension
    itself: `executorch.runtime` wraps the same calls but imports `executorch.exir` (~5 s), which
    would dominate every fresh-process timing child. A length-adaptive file (lengths.py) gets each
    sentence at its own length; `max_len` is then its bound, else None (fixed-length: padded)."""

    def __init__(self, path: Path, threads: int):
        from executorch.extension.pybindings import _C

        if TERNARY_BACKEND_ID in path.read_bytes():
            from backends.executorch.ternary.build import load_backend

            load_backend()  # builds (cached) and registers the 2-bit delegate before the program loads
        # The runtime logs (cpuinfo, threadpool) through Python's sys.stderr, which the CLI keeps
        # for its own lines and progress bars: send them to fd 2 like other C++ libraries' output.
        with to_log():
            _C._unsafe_reset_threadpool(threads)
            self.program = _C._load_program(str(path), program_verification=_C.Verification.InternalConsistency)
            self.method = self.program.load_method("forward")
            names = {self.program.get_method_name(i) for i in range(self.program.num_methods())}
            self.max_len = (int(self.program.load_method(MAX_LEN_METHOD)([])[0])
                            if MAX_LEN_METHOD in names else None)

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.max_len is not None:
            ids, mask = at_own_length(ids, mask)
            if ids.shape[1] > self.max_len:
                raise ValueError(f"a sentence of {ids.shape[1]} tokens is longer than this file's {self.max_len}")
        out = self.method([torch.from_numpy(np.ascontiguousarray(ids, np.int32)),
                            torch.from_numpy(np.ascontiguousarray(mask, np.int32))])
        return out[0].numpy().astype(np.float32)
