"""Build the demo APK offline: aapt package -> javac -> dx -> aapt add -> zipalign -> apksigner.

Inputs: the app sources in android_demo/app (the same tree Android Studio opens), the
pinned ExecuTorch runtime (runtime.py), the Debian toolchain (toolchain.py) and a bundle
directory written by `dynaedge export --target android`, of which assets/bundle/ gets what the
app's stock ExecuTorch runtime runs: its ExecuTorch choices and a manifest listing only those
(app_bundle.py). Before packing, every .pte's operators and delegates are checked
against what the shipped libexecutorch.so registers (deployable.py); the APK is checked
(checks.py) before it is reported.

Native libraries are stored compressed and extracted at install time
(android:extractNativeLibs="true"): Debian's zipalign can only page-align stored .so
files to 4 KB, and libfbjni.so is itself only 4 KB aligned, so loading libraries
straight from the APK would not help 16 KB-page devices anyway.
"""

import logging
import shutil
import subprocess
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from exporter.android.app_bundle import app_bundle
from exporter.android.checks import ApkChecks, check_apk
from exporter.android.deployable import DeployReport, check_programs
from exporter.android.fbjni import write_patched_sources
from exporter.android.registry import runtime_registry
from exporter.android.runtime import EXECUTORCH, Runtime, ensure_runtime
from exporter.android.signing import DebugKey, ensure_debug_key
from exporter.android.toolchain import Toolchain, ensure_toolchain
from exporter.atomic import sha256_file
from exporter.errors import UserError

log = logging.getLogger("dynaedge")

PACKAGE = "com.dynaedge.demo"
MIN_SDK = 26  # ExecuTorch's runtime and dx's --min-sdk-version both want 26+
TARGET_SDK = 34
VERSION_CODE, VERSION_NAME = 1, "0.1"
DEMO_DIR = Path(__file__).resolve().parents[2] / "android_demo"
APP_SRC = DEMO_DIR / "app" / "src" / "main"
STUBS = DEMO_DIR / "offline" / "stubs"
ASSET_DIR = "bundle"  # the app reads assets/bundle/manifest.json
# Model files are always deflated (aapt stores files that shrink by less than ~10 %): the app
# streams each out of the APK once (AssetManager.open, BundleStore.copy), so storing them buys no
# mmap, and int8 weights deflate to ~90 % (the make-export bundle's APK: 63.8 MB stored).
MODEL_EXTENSIONS = (".pte", ".tflite")


@dataclass(frozen=True)
class ApkReport:
    apk: Path
    bytes: int
    sha256: str
    package: str
    min_sdk: int
    target_sdk: int
    native_libs: tuple[str, ...]
    bundle_files: tuple[str, ...]
    left_out: tuple[str, ...]  # bundle artifacts not packed ("path: why"): the app's runtime cannot run them
    runtime: tuple[str, ...]  # npm package@version of each runtime source
    deployable: DeployReport  # every .pte's operators and delegates, checked against libexecutorch.so
    checks: ApkChecks
    seconds: float


def _deployability(files: tuple[Path, ...], runtime: Runtime) -> DeployReport:
    """Each .pte's operators and delegates against the shipped libexecutorch.so (UserError if one lacks any)."""
    lib = next(p for p in runtime.native_libs if p.name == "libexecutorch.so")
    package, _, version = EXECUTORCH.rpartition("@")
    return check_programs(files, runtime_registry(lib, f"{lib.name} ({package} {version})"))


def _run(cmd: list, what: str, cwd: Path | None = None) -> str:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd)
    if done.returncode != 0:
        raise UserError(f"{what} failed (exit {done.returncode}): {' '.join(map(str, cmd))[:300]}\n"
                        f"{(done.stderr or done.stdout).strip()[-2000:]}")
    return done.stdout


def _offline_manifest(dest: Path) -> Path:
    """The Gradle-style source manifest (no package, no uses-sdk) plus what Gradle would add."""
    text = (APP_SRC / "AndroidManifest.xml").read_text(encoding="utf-8")
    if "<manifest " not in text or "package=" in text:
        raise UserError(f"{APP_SRC / 'AndroidManifest.xml'}: expected a <manifest> without package=")
    text = text.replace("<manifest ", f'<manifest package="{PACKAGE}" ', 1)
    dest.write_text(text, encoding="utf-8")
    return dest


def _java_sources(work: Path, runtime: Runtime) -> list[Path]:
    app = sorted((APP_SRC / "java").rglob("*.java"))
    stubs = sorted(STUBS.rglob("*.java"))
    if not app or not stubs:
        raise UserError(f"app sources missing under {APP_SRC / 'java'} or {STUBS}")
    return app + stubs + write_patched_sources(runtime.fbjni_sources, work / "fbjni-src")


def _compile_dex(tools: Toolchain, runtime: Runtime, work: Path) -> Path:
    classes = work / "classes"
    classes.mkdir()
    _run([tools.javac, "--release", "8", "-Xlint:-options", "-nowarn", "-encoding", "UTF-8", "-d", classes,
          "-cp", f"{tools.android_jar}:{runtime.executorch_jar}", *_java_sources(work, runtime)], "javac")
    dex = work / "stage" / "classes.dex"
    dex.parent.mkdir()
    # the whole ExecuTorch jar: its native library registers natives for every class it knows
    _run([tools.java, "-cp", tools.dx_jar, "com.android.dx.command.Main", "--dex",
          f"--min-sdk-version={MIN_SDK}", f"--output={dex}", classes, runtime.executorch_jar], "dx --dex")
    return dex


def _package(tools: Toolchain, runtime: Runtime, files: tuple[Path, ...], work: Path) -> Path:
    assets = work / "assets"
    (assets / ASSET_DIR).mkdir(parents=True)
    models = [f for f in files if f.suffix in MODEL_EXTENSIONS]
    for f in files:
        if f not in models:
            shutil.copy2(f, assets / ASSET_DIR / f.name)
    unsigned = work / "unsigned.apk"
    _run([tools.aapt, "package", "-f", "-M", _offline_manifest(work / "AndroidManifest.xml"),
          "-I", tools.android_jar, "-A", assets,
          "--min-sdk-version", MIN_SDK, "--target-sdk-version", TARGET_SDK,
          "--version-code", VERSION_CODE, "--version-name", VERSION_NAME, "-F", unsigned], "aapt package")
    with zipfile.ZipFile(unsigned, "a") as apk:
        for f in models:  # aapt's fixed timestamp, so that a rebuild gives the same bytes
            entry = zipfile.ZipInfo(f"assets/{ASSET_DIR}/{f.name}", date_time=(1980, 1, 1, 0, 0, 0))
            apk.writestr(entry, f.read_bytes(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    _compile_dex(tools, runtime, work)
    libs = work / "stage" / "lib" / "arm64-v8a"
    libs.mkdir(parents=True)
    for lib in runtime.native_libs:
        shutil.copy2(lib, libs / lib.name)
    entries = ["classes.dex", *(f"lib/arm64-v8a/{lib.name}" for lib in runtime.native_libs)]
    _run([tools.aapt, "add", unsigned, *entries], "aapt add", cwd=work / "stage")
    return unsigned


def _align_and_sign(tools: Toolchain, key: DebugKey, unsigned: Path, out_apk: Path, work: Path) -> None:
    aligned = work / "aligned.apk"
    _run([tools.zipalign, "-f", "-p", "4", unsigned, aligned], "zipalign")
    tmp_out = work / "signed.apk"
    _run([tools.apksigner, "sign", "--ks", key.keystore, "--ks-key-alias", key.alias,
          "--ks-pass", f"pass:{key.password}", "--key-pass", f"pass:{key.password}",
          "--min-sdk-version", MIN_SDK, "--out", tmp_out, aligned], "apksigner sign")
    out_apk.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(tmp_out, out_apk)


def build_apk(bundle_dir: Path, out_apk: Path) -> ApkReport:
    """A signed, aligned, checked APK with the bundle in assets/bundle/."""
    start = time.perf_counter()
    out_apk = Path(out_apk)
    if out_apk.suffix != ".apk":
        raise UserError(f"output {out_apk} must end in .apk")
    tools, runtime = ensure_toolchain(), ensure_runtime()
    key = ensure_debug_key(tools.keytool)
    with tempfile.TemporaryDirectory(prefix="dynaedge-apk-") as tmp:
        work = Path(tmp)
        app = app_bundle(Path(bundle_dir), work / "app-bundle")
        files = app.files
        for line in app.left_out:
            log.info("not packed: %s", line)
        deployable = _deployability(files, runtime)
        unsigned = _package(tools, runtime, files, work)
        _align_and_sign(tools, key, unsigned, out_apk, work)
    checks = check_apk(out_apk)
    if checks.problems:
        # our build is wrong, not the user's input: an internal error (exit code 1)
        raise RuntimeError(f"built {out_apk} but it fails its checks: " + "; ".join(checks.problems))
    return ApkReport(apk=out_apk, bytes=out_apk.stat().st_size, sha256=sha256_file(out_apk), package=PACKAGE,
                     min_sdk=checks.min_sdk, target_sdk=checks.target_sdk,
                     native_libs=tuple(lib.name for lib in runtime.native_libs),
                     bundle_files=tuple(f.name for f in files), left_out=app.left_out, runtime=runtime.versions,
                     deployable=deployable, checks=checks, seconds=round(time.perf_counter() - start, 2))
