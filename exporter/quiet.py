"""Keep third-party noise out of the CLI: CUDA-only extension warnings, converter progress dumps.

`console` runs a command with our messages and progress bars on the terminal and everything
else (C++ libraries writing to fd 1/2, other packages' loggers and prints: TensorFlow, JAX,
absl, cpuinfo, oneDNN, XNNPACK) written to a log file (one run's), unless --verbose. Either way stdout
carries only the command's result, so `--json` output is exactly one JSON document.
"""

import contextlib
import logging
import os
import sys
import warnings
from pathlib import Path


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
def console(log_path: Path | None):
    """While the body runs: sys.stderr (tqdm, our "dynaedge" logger) is the terminal; fd 1 and 2,
    sys.stdout and every other logger go to `log_path` (None: to the terminal too, --verbose)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    sink = open(log_path, "w", buffering=1, encoding="utf-8", errors="replace") if log_path else terminal
    root, ours = logging.getLogger(), logging.getLogger("dynaedge")
    saved_handlers, saved_propagate = root.handlers[:], ours.propagate
    saved_streams = sys.stdout, sys.stderr
    handler = logging.StreamHandler(terminal)
    handler.setFormatter(logging.Formatter("%(message)s"))
    try:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        sys.stdout, sys.stderr = sink, terminal
        root.handlers = [logging.StreamHandler(sink)]
        ours.addHandler(handler)
        ours.propagate = False
        logging.captureWarnings(True)  # warnings that pass silence_libraries' filters: to the log too
        yield
    finally:
        sys.stdout.flush()
        sink.flush()
        terminal.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        sys.stdout, sys.stderr = saved_streams
        root.handlers = saved_handlers
        ours.removeHandler(handler)
        ours.propagate = saved_propagate
        logging.captureWarnings(False)
        if sink is not terminal:
            sink.close()
        terminal.close()


def to_log():
    """For a library that writes its own progress bars or logs to Python's sys.stderr, which
    `console` keeps for ours (ExecuTorch's runtime, ai-edge-quantizer's tqdm bars that ignore
    enable_progress_bar=False): send them to fd 2, i.e. the run's log (the terminal with --verbose)."""
    return contextlib.redirect_stderr(sys.__stderr__)
