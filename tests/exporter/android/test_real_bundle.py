"""The APK built from a fresh, real `dynaedge export --target android` bundle (tests/conftest.py)."""

import json
from pathlib import Path

import pytest

from exporter.android import build_apk

pytestmark = pytest.mark.e2e


def test_real_bundle_apk(tmp_path, real_bundle):
    bundle, _ = real_bundle
    report = build_apk(bundle, tmp_path / "demo.apk")
    manifest = json.loads((bundle / "manifest.json").read_text())
    print(f"\nreal bundle: {len(manifest['artifacts'])} artifacts -> APK {report.bytes / 1e6:.2f} MB "
          f"in {report.seconds} s; {report.checks.signature}")
    assert report.checks.problems == ()
    assert {Path(a["path"]).name for a in manifest["artifacts"]} <= set(report.checks.bundle_files)
