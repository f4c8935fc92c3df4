"""Build the C++ runtime on demand with CMake and load it into this process.

    build_runtime()                      -> build dir with libdynaedge_ternary_backend.so
    build_runtime(RuntimeBuild("aarch64", with_executorch=False))  -> arm64 kernel tests
    load_backend()                       -> registers DynaedgeTernaryBackend with ExecuTorch

Builds are cached under <repo>/build/ternary_runtime/<hash of sources and
options> (or $DYNAEDGE_BUILD_DIR), so a changed source rebuilds and an
unchanged one loads at once.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
BACKEND_LIB = "libdynaedge_ternary_backend.so"
KERNEL_LIB = "libdynaedge_ternary_kernel.so"
TARGETS = ("host", "aarch64")
MIN_CMAKE = (3, 28)


class ToolchainMissing(RuntimeError):
    """A compiler or CMake this build needs is not installed; the message says how to get it."""


@dataclass(frozen=True)
class RuntimeBuild:
    target: str = "host"  # "host", or "aarch64" (cross, needs g++-aarch64-linux-gnu)
    with_executorch: bool = True  # the backend library; off for kernel-only builds
    fuzz: bool = False  # the ASan/UBSan fuzz driver (+ libFuzzer target with clang++)
    cxx: str | None = None  # compiler override, e.g. "clang++" for libFuzzer
    arm_march: str = "armv8-a"  # aarch64 only; SDOT and i8mm are picked at run time

    def __post_init__(self) -> None:
        if self.target not in TARGETS:
            raise ValueError(f"unknown runtime target {self.target!r}; choose one of: {', '.join(TARGETS)}")
        if self.target == "aarch64" and self.with_executorch:
            raise ValueError("the aarch64 build is kernel-only: pass with_executorch=False")


def _find_cmake() -> str:
    venv_cmake = Path(sys.executable).parent / "cmake"
    cmake = str(venv_cmake) if venv_cmake.exists() else shutil.which("cmake")
    if cmake is None:
        raise ToolchainMissing("cmake not found; install it into the venv with `pip install 'cmake>=3.28'`")
    out = subprocess.run([cmake, "--version"], capture_output=True, text=True, check=True).stdout
    version = tuple(int(p) for p in out.split()[2].split(".")[:2])
    if version < MIN_CMAKE:
        raise ToolchainMissing(f"{cmake} is version {out.split()[2]}; the executorch wheel needs >= 3.28 "
                               "(`pip install 'cmake>=3.28'`)")
    return cmake


def _compiler(spec: RuntimeBuild) -> str:
    name = spec.cxx or ("aarch64-linux-gnu-g++" if spec.target == "aarch64" else "g++")
    path = shutil.which(name)
    if path is None:
        package = {"aarch64-linux-gnu-g++": "g++-aarch64-linux-gnu", "clang++": "clang"}.get(name, "g++")
        raise ToolchainMissing(f"C++ compiler {name!r} not found; install it with `apt-get install -y {package}`")
    return path


def _source_hash(spec: RuntimeBuild, cxx: str) -> str:
    digest = hashlib.sha256(repr((spec, cxx)).encode())
    for path in sorted(RUNTIME_DIR.rglob("*")):
        if path.is_file() and path.suffix in {".cpp", ".h", ".txt", ".cmake"}:
            digest.update(str(path.relative_to(RUNTIME_DIR)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _build_root() -> Path:
    default = Path(__file__).resolve().parents[3] / "build"
    return Path(os.environ.get("DYNAEDGE_BUILD_DIR", default)) / "ternary_runtime"


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-40:])
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{tail}")


def build_runtime(spec: RuntimeBuild = RuntimeBuild()) -> Path:
    """Configure and build with CMake (cached by source hash); returns the build dir."""
    cmake, cxx = _find_cmake(), _compiler(spec)
    # One directory per build flavour and source hash; older hashes of the same
    # flavour are removed after a rebuild (a loaded .so survives its unlink).
    flavour = "-".join([spec.target, "et" if spec.with_executorch else "kernel", Path(cxx).name]
                       + (["fuzz"] if spec.fuzz else []) + ([spec.arm_march] if spec.target == "aarch64" else []))
    out = _build_root() / f"{flavour}-{_source_hash(spec, cxx)}"
    if (out / "BUILD_OK").exists():
        return out
    tmp = out.with_name(out.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    args = [cmake, "-S", str(RUNTIME_DIR), "-B", str(tmp), f"-DCMAKE_CXX_COMPILER={cxx}",
            f"-DDYNAEDGE_TERNARY_WITH_EXECUTORCH={'ON' if spec.with_executorch else 'OFF'}",
            f"-DDYNAEDGE_TERNARY_FUZZ={'ON' if spec.fuzz else 'OFF'}"]
    if spec.target == "aarch64":
        args.append(f"-DCMAKE_TOOLCHAIN_FILE={RUNTIME_DIR / 'cmake' / 'aarch64-linux-gnu.cmake'}")
        args.append(f"-DDYNAEDGE_ARM_MARCH={spec.arm_march}")
    if spec.with_executorch:
        import executorch  # lazily: only the backend library needs the wheel

        args.append(f"-DCMAKE_PREFIX_PATH={Path(list(executorch.__path__)[0]) / 'share' / 'cmake'}")
    _run(args)
    _run([cmake, "--build", str(tmp), "-j2"])  # two cores shared with training jobs
    (tmp / "BUILD_OK").write_text("ok\n")
    try:
        tmp.rename(out)
    except OSError:  # another process finished the same build first
        shutil.rmtree(tmp, ignore_errors=True)
    for stale in out.parent.glob(f"{flavour}-*"):
        if stale != out and stale.name.rsplit("-", 1)[0] == flavour and ".tmp" not in stale.name:
            shutil.rmtree(stale, ignore_errors=True)
    return out


_LOADED: dict[str, ctypes.CDLL] = {}


def load_backend() -> Path:
    """Build if needed and load the backend with RTLD_GLOBAL, before loading a .pte.

    Safe to call repeatedly. Raises if ExecuTorch does not list the backend.
    """
    path = build_runtime() / BACKEND_LIB
    if "backend" not in _LOADED:
        lib = ctypes.CDLL(str(path), mode=os.RTLD_GLOBAL | os.RTLD_NOW)
        if lib.dynaedge_ternary_backend_registered() != 1:
            raise RuntimeError(f"{path} loaded but register_backend failed (registered twice?)")
        _LOADED["backend"] = lib
    from executorch.extension.pybindings import portable_lib

    names = portable_lib._get_registered_backend_names()
    if "DynaedgeTernaryBackend" not in names:
        raise RuntimeError(f"DynaedgeTernaryBackend missing from ExecuTorch's backends {names}: "
                           "the library and the pybindings use different libexecutorch copies")
    return path


def load_kernel_library() -> ctypes.CDLL:
    """The kernel + C API without ExecuTorch (tests, microbenchmark)."""
    if "kernel" not in _LOADED:
        path = build_runtime(RuntimeBuild(with_executorch=False)) / KERNEL_LIB
        _LOADED["kernel"] = ctypes.CDLL(str(path))
    return _LOADED["kernel"]
