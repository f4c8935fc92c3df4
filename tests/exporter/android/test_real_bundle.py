"""The APK built from a fresh, real `dynaedge export --target android` bundle (tests/conftest.py)."""

import json

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
    # exactly the ExecuTorch choices: no .tflite, nothing the stock runtime cannot run
    chosen = ({c["path"] for c in manifest["choices"] if c["family"] == "executorch"} if manifest["choices"] else
              {a["path"] for a in manifest["artifacts"] if a["runtime"] == "executorch"})
    assert chosen and {f for f in report.checks.bundle_files if f.endswith((".pte", ".tflite"))} == chosen
    print(f"packed {sorted(chosen)}; left out {list(report.left_out)}")
