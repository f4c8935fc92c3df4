"""fbjni's Java side for the offline build, from react-native 0.61.5's sources.

ExecuTorch's natives are fbjni hybrid classes, so the app needs com.facebook.jni.HybridData
and friends in its dex. react-native 0.61.5 ships them as plain sources that load the
native side with SoLoader.loadLibrary("fb"); the offline APK has no SoLoader and its
fbjni library is libfbjni.so (from react-native 0.70.15's AAR), so the copy compiled here
calls System.loadLibrary("fbjni") instead. androidx.annotation.Nullable, DoNotStrip and
SoLoader's NativeLoader (used by ExecuTorch's jar) come from android_demo/offline/stubs.
"""

from pathlib import Path

from exporter.errors import UserError

_IMPORT = "import com.facebook.soloader.SoLoader;\n"
_LOAD = 'SoLoader.loadLibrary("fb");'
_SYSTEM_LOAD = 'System.loadLibrary("fbjni");'


def patched_source(text: str, name: str) -> str:
    """One fbjni source with its SoLoader call pointed at System.loadLibrary("fbjni")."""
    if _LOAD in text:
        text = text.replace(_IMPORT, "").replace(_LOAD, _SYSTEM_LOAD)
    if "SoLoader" in text:
        raise UserError(f"fbjni source {name} still uses SoLoader after patching; "
                        f"the pinned react-native 0.61.5 sources changed?")
    return text


def write_patched_sources(sources: tuple[Path, ...], out_dir: Path) -> list[Path]:
    """Patched copies under out_dir/com/facebook/jni/, ready for javac."""
    if not any(p.name == "HybridData.java" for p in sources):
        raise UserError("fbjni Java sources (HybridData.java ...) missing from the runtime cache")
    pkg = out_dir / "com" / "facebook" / "jni"
    pkg.mkdir(parents=True, exist_ok=True)
    written = []
    for src in sources:
        dest = pkg / src.name
        dest.write_text(patched_source(src.read_text(encoding="utf-8"), src.name), encoding="utf-8")
        written.append(dest)
    return written
