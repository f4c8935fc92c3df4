"""The APK built from a real `dynaedge export --target android` bundle.

Which bundle: $DYNAEDGE_BUNDLE, else ./bundle (what `make export` writes). Without one this
test is skipped with that reason (the toolchain itself never is: see test_apk_build.py).
"""

import json
import os
from pathlib import Path

import pytest

from exporter.android import build_apk


def _bundle() -> Path:
    path = Path(os.environ.get("DYNAEDGE_BUNDLE", "bundle"))
    if not (path / "manifest.json").is_file():
        pytest.skip(f"no real bundle at {path} (set DYNAEDGE_BUNDLE or run `make export`)")
    return path


def test_real_bundle_apk(tmp_path):
    bundle = _bundle()
    report = build_apk(bundle, tmp_path / "demo.apk")
    manifest = json.loads((bundle / "manifest.json").read_text())
    print(f"\nreal bundle: {len(manifest['artifacts'])} artifacts -> APK {report.bytes / 1e6:.2f} MB "
          f"in {report.seconds} s; {report.checks.signature}")
    assert report.checks.problems == ()
    assert {Path(a["path"]).name for a in manifest["artifacts"]} <= set(report.checks.bundle_files)
