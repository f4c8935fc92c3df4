"""Build libdynaedge_tflite_ternary.so: the DYNAEDGE_TERNARY_FC kernel + a ctypes driver.

The kernel sources are the ExecuTorch delegate's (backends/executorch/ternary/runtime),
compiled in from where they live, not copied. The library links against libLiteRt.so from
the ai-edge-litert wheel. Cached under <repo>/build/tflite_ternary/<hash of sources>
(or $DYNAEDGE_BUILD_DIR); two compile jobs at a time (the machine is shared).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent / "runtime"
ET_RUNTIME = Path(__file__).resolve().parents[2] / "executorch" / "ternary" / "runtime"
ET_SOURCES = ("ternary_blob.cpp", "ternary_kernel.cpp", "ternary_kernel_x86.cpp", "ternary_kernel_neon.cpp")
OWN_SOURCES = ("ternary_fc_op.cpp", "litert_driver.cpp")
LIB = "libdynaedge_tflite_ternary.so"
# Same float rules as the delegate's CMake build: no FMA contraction, so every path is bit-identical.
FLAGS = ("-std=c++17", "-O2", "-fPIC", "-Wall", "-Wextra", "-ffp-contract=off")


def litert_dir() -> Path:
    """The installed ai_edge_litert package (holds libLiteRt.so)."""
    import ai_edge_litert

    return Path(list(ai_edge_litert.__path__)[0])


def _sources() -> list[Path]:
    return [ET_RUNTIME / s for s in ET_SOURCES] + [HERE / s for s in OWN_SOURCES]


def _hash(cxx: str) -> str:
    digest = hashlib.sha256(cxx.encode() + repr(FLAGS).encode())
    for path in sorted(_sources() + list(HERE.glob("*.h")) + list(ET_RUNTIME.glob("*.h"))):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-4000:]}")


def build_library() -> Path:
    """Compile (cached by source hash) and return the path of the shared library."""
    cxx = shutil.which(os.environ.get("CXX", "g++"))
    if cxx is None:
        raise RuntimeError("C++ compiler not found; install it with `apt-get install -y g++` or set $CXX")
    root = Path(os.environ.get("DYNAEDGE_BUILD_DIR", Path(__file__).resolve().parents[3] / "build"))
    out = root / "tflite_ternary" / _hash(cxx)
    lib = out / LIB
    if lib.exists():
        return lib
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    includes = [f"-I{HERE}", f"-I{ET_RUNTIME}"]
    objects = [tmp / (s.stem + ".o") for s in _sources()]
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cores shared with training jobs
        list(pool.map(lambda so: _run([cxx, *FLAGS, *includes, "-c", str(so[0]), "-o", str(so[1])]),
                      zip(_sources(), objects)))
    lite = litert_dir()
    _run([cxx, "-shared", "-o", str(tmp / LIB), *map(str, objects), f"-L{lite}", "-l:libLiteRt.so",
          f"-Wl,-rpath,{lite}", "-pthread"])
    try:
        tmp.rename(out)
    except OSError:  # another process finished the same build first
        shutil.rmtree(tmp, ignore_errors=True)
    return lib
