"""Offline APK build from a fake bundle, checked like a phone would: signature, alignment,
badging, native libraries, dex classes, bundle assets. Needs the Debian tools (aapt,
zipalign, apksigner, JDK) and network access to Debian (bullseye jars) and npm on the
first run; everything fetched is cached and sha256-checked. A missing tool fails the
test with the install command: it never skips.
"""

import json
import subprocess
import zipfile
from pathlib import Path

import pytest

from android_fake_bundle import make_fake_bundle
from exporter.android import build_apk
from exporter.android.checks import REQUIRED_LIBS, check_apk
from exporter.errors import UserError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("apk")
    bundle = make_fake_bundle(root / "bundle")
    report = build_apk(bundle, root / "out" / "demo.apk")
    return bundle, report


def test_apk_passes_every_check(built):
    bundle, report = built
    checks = report.checks
    print(f"\nAPK {report.bytes / 1e6:.2f} MB in {report.seconds} s; {checks.signature}; "
          f"dex classes {checks.dex_classes}; {checks.jni_classes} JNI class names resolved")
    assert checks.problems == ()
    assert (checks.package, checks.min_sdk) == ("com.dynaedge.demo", 26) and checks.target_sdk >= 34
    assert checks.launchable_activity == "com.dynaedge.demo.MainActivity"
    assert set(REQUIRED_LIBS) <= set(checks.native_libs)
    assert all(n > 0 for n in checks.dex_classes.values()), checks.dex_classes
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert {"manifest.json", "vocab.txt", *(a["path"] for a in manifest["artifacts"])} <= set(checks.bundle_files)
    deploy = report.deployable  # every packed .pte checked against libexecutorch.so before packing
    print(f"{deploy.library}: {deploy.ops_registered} operators, delegates {deploy.delegates_registered}; "
          f"checked {[(f.file, f.ops_checked, f.delegates_checked) for f in deploy.files]}")
    assert {f.file for f in deploy.files} == {a["path"] for a in manifest["artifacts"]}
    assert all(f.ops_checked > 0 and f.delegates_checked == ("XnnpackBackend",) for f in deploy.files)


def test_host_tools_agree(built):
    """The raw tool verdicts, independent of checks.py's parsing."""
    apk = str(built[1].apk)
    for cmd in (["apksigner", "verify", apk], ["zipalign", "-c", "4", apk]):
        done = subprocess.run(cmd, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(cmd)}: {done.stdout}{done.stderr}"
    badging = subprocess.run(["aapt", "dump", "badging", apk], capture_output=True, text=True).stdout
    assert "package: name='com.dynaedge.demo'" in badging and "sdkVersion:'26'" in badging
    assert "launchable-activity: name='com.dynaedge.demo.MainActivity'" in badging


def test_models_are_deflated_and_libraries_extracted(built):
    with zipfile.ZipFile(built[1].apk) as z:
        models = [i for i in z.infolist() if i.filename.endswith(".pte")]
    assert models and all(i.compress_type == zipfile.ZIP_DEFLATED for i in models)
    print("\n" + "\n".join(f"{i.filename}: {i.file_size} -> {i.compress_size} bytes" for i in models))
    badging = subprocess.run(["aapt", "dump", "xmltree", str(built[1].apk), "AndroidManifest.xml"],
                             capture_output=True, text=True).stdout
    assert "extractNativeLibs" in badging and "0xffffffff" in badging.split("extractNativeLibs")[1][:60]


def test_tampered_apk_fails_checks(built, tmp_path):
    bad = tmp_path / "bad.apk"
    with zipfile.ZipFile(built[1].apk) as src, zipfile.ZipFile(bad, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.endswith(".pte"):
                data = data[:-1] + b"\0"
            if item.filename != "lib/arm64-v8a/libfbjni.so":
                dst.writestr(item, data)
    problems = check_apk(bad).problems
    print(*problems, sep="\n")
    assert any("apksigner verify failed" in p for p in problems)
    assert any("lacks libfbjni.so" in p for p in problems)
    assert any("sha256 differs" in p for p in problems)


def test_bundle_errors_are_user_errors(fake_bundle, tmp_path):
    with pytest.raises(UserError, match="no manifest.json"):
        build_apk(tmp_path, tmp_path / "x.apk")
    pte = next(fake_bundle.glob("*.pte"))
    pte.write_bytes(pte.read_bytes() + b"x")
    with pytest.raises(UserError, match=f"{pte.name}: sha256 .* the manifest says"):
        build_apk(fake_bundle, tmp_path / "x.apk")
    with pytest.raises(UserError, match="must end in .apk"):
        build_apk(fake_bundle, tmp_path / "x.zip")


def test_missing_tool_fails_loudly(fake_bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no aapt, javac, ... anywhere
    with pytest.raises(UserError, match=r"'aapt' not found on PATH.*apt-get install -y aapt"):
        build_apk(fake_bundle, tmp_path / "x.apk")


def test_dex_reader_agrees_with_dexdump(built, tmp_path):
    """exporter.android.dex (used by the checks) against Debian's dexdump, when installed."""
    import re
    import shutil

    from exporter.android.dex import dex_class_names

    if shutil.which("dexdump") is None:
        pytest.skip("dexdump not installed (apt-get install -y dexdump): cross-check only")
    with zipfile.ZipFile(built[1].apk) as z:
        data = z.read("classes.dex")
    (tmp_path / "classes.dex").write_bytes(data)
    dump = subprocess.run(["dexdump", str(tmp_path / "classes.dex")], capture_output=True, text=True).stdout
    theirs = sorted(m.replace("/", ".") for m in re.findall(r"Class descriptor\s+:\s+'L([^;]+);'", dump))
    ours = sorted(dex_class_names(data))
    print(f"\n{len(ours)} classes in the dex")
    assert ours == theirs


def test_fbjni_patch_points_soloader_at_fbjni():
    from exporter.android.fbjni import patched_source

    src = 'import com.facebook.soloader.SoLoader;\nclass A { static { SoLoader.loadLibrary("fb"); } }\n'
    out = patched_source(src, "A.java")
    assert 'System.loadLibrary("fbjni");' in out and "SoLoader" not in out
    with pytest.raises(UserError, match="still uses SoLoader"):
        patched_source('class B { void f() { SoLoader.init(null, false); } }', "B.java")
