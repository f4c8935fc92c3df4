"""Check a built APK the way a phone would, with host tools only.

- apksigner verify (v2/v3 signature), zipalign -c 4;
- aapt dump badging: package name, minSdk, targetSdk, a launchable activity;
- lib/arm64-v8a holds the three runtime libraries;
- classes.dex defines the app, org.pytorch.executorch and com.facebook.jni classes, and
  every com/facebook/... or org/pytorch/... class name the native libraries mention (JNI
  FindClass targets): a missing one would crash on the phone, not here;
- assets/bundle/manifest.json is there and every artifact it lists has its sha256;
- every .pte carries a program identifier (ET12 ...) that libexecutorch.so knows.
Each failed check becomes one line in `problems`; an empty tuple means the APK passed.
"""

import hashlib
import json
import re
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

from exporter.android.dex import dex_class_names
from exporter.android.toolchain import system_tool

REQUIRED_LIBS = ("libc++_shared.so", "libexecutorch.so", "libfbjni.so")
REQUIRED_CLASSES = ("com.dynaedge.demo.MainActivity", "org.pytorch.executorch.Module",
                    "com.facebook.jni.HybridData")
PTE_ID = re.compile(rb"ET\d\d")  # flatbuffer file identifier at bytes 4..8 of a .pte
JNI_CLASS = re.compile(rb"(?:com/facebook|org/pytorch)/[A-Za-z0-9_/$]+")
REQUIRED_PACKAGES = ("com.dynaedge.demo.", "org.pytorch.executorch.", "com.facebook.jni.")


@dataclass(frozen=True)
class ApkChecks:
    package: str
    min_sdk: int
    target_sdk: int
    launchable_activity: str
    native_libs: tuple[str, ...]
    dex_classes: dict  # package prefix -> number of classes defined
    jni_classes: int  # class names found in the .so files, all defined in the dex
    bundle_files: tuple[str, ...]  # under assets/bundle/, sha256-checked where the manifest has one
    signature: str  # apksigner's verdict
    problems: tuple[str, ...]


def _tool(cmd: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(system_tool(cmd[0])), *cmd[1:]], capture_output=True, text=True)


def _badging(apk: Path, problems: list) -> dict:
    done = _tool(["aapt", "dump", "badging", str(apk)])
    if done.returncode != 0:
        problems.append(f"aapt dump badging failed: {done.stderr.strip()[:300]}")
        return {}
    out = done.stdout
    found = {
        "package": re.search(r"^package: name='([^']+)'", out, re.M),
        "min_sdk": re.search(r"^sdkVersion:'(\d+)'", out, re.M),
        "target_sdk": re.search(r"^targetSdkVersion:'(\d+)'", out, re.M),
        "activity": re.search(r"^launchable-activity: name='([^']+)'", out, re.M),
    }
    for key, match in found.items():
        if match is None:
            problems.append(f"aapt dump badging shows no {key}")
    return {k: m.group(1) for k, m in found.items() if m}


def _bundle(z: zipfile.ZipFile, problems: list) -> tuple[str, ...]:
    names = [n for n in z.namelist() if n.startswith("assets/bundle/")]
    if "assets/bundle/manifest.json" not in names:
        problems.append("assets/bundle/manifest.json missing")
        return tuple(names)
    manifest = json.loads(z.read("assets/bundle/manifest.json"))
    for art in manifest.get("artifacts", []):
        entry = f"assets/bundle/{Path(art['path']).name}"
        if entry not in names:
            problems.append(f"{entry} (listed in the manifest) missing")
        elif hashlib.sha256(z.read(entry)).hexdigest() != art["sha256"]:
            problems.append(f"{entry}: sha256 differs from the manifest's {art['sha256']}")
    if "assets/bundle/vocab.txt" not in names:
        problems.append("assets/bundle/vocab.txt missing")
    return tuple(n.removeprefix("assets/bundle/") for n in names)


def check_apk(apk: Path) -> ApkChecks:
    apk = Path(apk)
    problems: list[str] = []
    verify = _tool(["apksigner", "verify", "--verbose", str(apk)])
    if verify.returncode != 0:
        problems.append(f"apksigner verify failed: {(verify.stderr or verify.stdout).strip()[:300]}")
    schemes = re.findall(r"Verified using (v\S+) scheme[^:]*: true", verify.stdout)
    signature = "verified " + ", ".join(schemes) if verify.returncode == 0 else "not verified"
    align = _tool(["zipalign", "-c", "4", str(apk)])
    if align.returncode != 0:
        problems.append("zipalign -c 4 failed: some entries are not 4-byte aligned (`zipalign -c -v 4` lists them)")
    badge = _badging(apk, problems)
    min_sdk, target_sdk = int(badge.get("min_sdk", 0)), int(badge.get("target_sdk", 0))
    if min_sdk != 26 or target_sdk < 34:
        problems.append(f"sdk: minSdk {min_sdk} (want 26), targetSdk {target_sdk} (want >= 34)")
    with zipfile.ZipFile(apk) as z:
        libs = tuple(sorted(Path(n).name for n in z.namelist() if n.startswith("lib/arm64-v8a/")))
        missing = sorted(set(REQUIRED_LIBS) - set(libs))
        if missing:
            problems.append(f"lib/arm64-v8a lacks {', '.join(missing)}")
        classes = dex_class_names(z.read("classes.dex")) if "classes.dex" in z.namelist() else []
        jni = {m.decode().replace("/", ".") for n in z.namelist() if n.startswith("lib/arm64-v8a/")
               for m in JNI_CLASS.findall(z.read(n))}
        bundle = _bundle(z, problems)
        runtime_ids = set(PTE_ID.findall(z.read("lib/arm64-v8a/libexecutorch.so"))) if "libexecutorch.so" in libs else set()
        for name in (n for n in z.namelist() if n.endswith(".pte")):
            ident = z.open(name).read(8)[4:8]
            if ident not in runtime_ids:
                problems.append(f"{name}: program identifier {ident!r}, the runtime reads "
                                f"{sorted(i.decode() for i in runtime_ids)}")
    counts = {p.rstrip("."): sum(c.startswith(p) for c in classes) for p in REQUIRED_PACKAGES}
    absent = [c for c in REQUIRED_CLASSES if c not in classes]
    if absent:
        problems.append(f"classes.dex lacks {', '.join(absent)}")
    unresolved = sorted(jni - set(classes))
    if unresolved:
        problems.append(f"native libraries name classes the dex lacks: {', '.join(unresolved)}")
    return ApkChecks(package=badge.get("package", ""), min_sdk=min_sdk, target_sdk=target_sdk,
                     launchable_activity=badge.get("activity", ""), native_libs=libs, dex_classes=counts,
                     jni_classes=len(jni),
                     bundle_files=bundle, signature=signature, problems=tuple(problems))
