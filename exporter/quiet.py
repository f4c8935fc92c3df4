"""Keep third-party noise out of the CLI: CUDA-only extension warnings, converter progress dumps.

`stdout_to_stderr` also moves C++ prints (fd 1) to stderr while work runs, so `--json`
output on stdout is exactly one JSON document.
"""

import contextlib
import logging
import os
import sys
import warnings


def silence_libraries() -> None:
    # torchao warns that its CUDA-only extensions (_C_mxfp8, _C_cutlass_90a) do not load on CPU.
    logging.getLogger("torchao").setLevel(logging.ERROR)
    # torch's pytree warns about torchao's enum registration on every import.
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
    os.environ.setdefault("LITERT_TORCH_SHOW_PROGRESS", "n")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("GLOG_minloglevel", "2")
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


@contextlib.contextmanager
def stdout_to_stderr():
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
