"""The app's selector, manifest reader, JSON and benchmark report, run with JUnit on the host.

The sample manifest (tests/android_demo/sample_manifest.json) has the export schema with
three profiles, two budgets for one of them, and a TFLite choice the offline APK must
run on ExecuTorch instead.
"""

import json
import re
from pathlib import Path

SAMPLE_MANIFEST = Path(__file__).with_name("sample_manifest.json")
ROW_FIELDS = {"backend": str, "precision": str, "width": float, "depth": float, "seq_len": int, "measured_ms": float}


def _junit_ok(done) -> str:
    ran = re.search(r"OK \((\d+) tests?\)", done.stdout)
    assert done.returncode == 0 and ran, f"JUnit failed:\n{done.stdout[-5000:]}{done.stderr[-2000:]}"
    return ran.group(1)


def test_selector_and_manifest(java_host):
    done = java_host.junit("com.dynaedge.demo.SelectorTest", {"dynaedge.manifest": str(SAMPLE_MANIFEST)})
    print(f"SelectorTest: {_junit_ok(done)} tests passed")


def test_json(java_host):
    print(f"JsonTest: {_junit_ok(java_host.junit('com.dynaedge.demo.JsonTest', {}))} tests passed")


def test_benchmark_json_has_the_profile_import_shape(java_host, tmp_path):
    out = tmp_path / "benchmark.json"
    done = java_host.junit("com.dynaedge.demo.BenchmarkReportTest",
                           {"dynaedge.manifest": str(SAMPLE_MANIFEST), "dynaedge.benchmark_out": str(out)})
    _junit_ok(done)
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["device"]["name"] == "pixel-7" and report["device"]["profile"] == "pixel-7"
    manifest = json.loads(SAMPLE_MANIFEST.read_text(encoding="utf-8"))
    assert len(report["rows"]) == len(manifest["artifacts"])
    for row, art in zip(report["rows"], manifest["artifacts"]):
        for field, kind in ROW_FIELDS.items():
            assert isinstance(row[field], kind), f"{field}={row[field]!r} should be {kind.__name__}"
        assert (row["backend"], row["precision"], row["width"], row["depth"]) == (
            art["backend"], art["precision"], art["width"], art["depth"])
        assert row["seq_len"] == manifest["seq_len"]
        assert row["measured_ms"] == 3.75 and row["p90_ms"] == 9.0  # median / p90 of the six timings
        # a length-adaptive file ran each sentence at its own length (capped at its maximum), a fixed one padded
        own = [9, 5, 14, 7, 30, 6]
        adaptive = "input_lengths" in art and art["input_lengths"] != "fixed"
        assert row["lengths"] == ([min(n, 16) for n in own] if adaptive else [manifest["seq_len"]] * 6), row
        assert row["times_ms"] == [4.0, 3.0, 5.0, 3.5, 9.0, 3.2], row  # one per run, in the lengths' order


def test_benchmark_json_round_trips_through_profile_import(java_host, tmp_path):
    """The file the app writes, fed to `dynaedge profile import` as a user would (packaged host fit)."""
    import os
    import subprocess
    import sys

    out = tmp_path / "benchmark.json"
    _junit_ok(java_host.junit("com.dynaedge.demo.BenchmarkReportTest",
                              {"dynaedge.manifest": str(SAMPLE_MANIFEST), "dynaedge.benchmark_out": str(out)}))
    env = {**os.environ, "DYNAEDGE_CONFIG": str(tmp_path / "config")}  # the packaged fit, a private profile dir

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "exporter.cli", *args], capture_output=True, text=True,
                              env=env, timeout=300)

    # The sample phone (a Pixel 7) has no packaged profile: one clear line naming the way out.
    unmatched = cli("profile", "import", str(out), "--json")
    assert unmatched.returncode == 2 and "pass --profile" in unmatched.stderr, unmatched.stderr[-2000:]
    done = cli("profile", "import", str(out), "--profile", "pixel-8", "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    report = json.loads(out.read_text(encoding="utf-8"))
    measured = {(r["backend"], r["precision"]) for r in report["rows"]}
    assert result["profile"] == "pixel-8" and not result["skipped"], result["skipped"]
    assert set(result["scale"]) == {f"{b}/{p}" for b, p in measured}, result["scale"]
    assert len(result["rows"]) == len(report["rows"]) and all(r["measured_ms"] == 3.75 for r in result["rows"])
    assert all(r["runs_fitted"] == 6 for r in result["rows"])  # each run predicted at the length it fed
    assert Path(result["path"]).is_relative_to(tmp_path / "config")
    # The fitted profile is the one `query` now uses: its scale reproduces the phone's timings.
    shown = cli("profile", "show", "pixel-8", "--json")
    assert shown.returncode == 0, shown.stderr[-2000:]
    scale = json.loads(shown.stdout).get("scale")
    assert scale and "Pixel 7" in json.dumps(json.loads(shown.stdout)), shown.stdout[-2000:]
    print(f"\nprofile import: scale {result['scale']}, rows within 10%: {result['within_10pct']}")


def test_loader_refuses_a_changed_bundle(java_host, tmp_path):
    """The app's BundleCheck on a bundle sealed by exporter.bundle.write_manifest, then changed."""
    import hashlib

    from exporter.bundle import write_manifest

    def entry(name: str, data: bytes) -> dict:
        (tmp_path / name).write_bytes(data)
        return {"path": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    manifest = json.loads(SAMPLE_MANIFEST.read_text(encoding="utf-8"))
    manifest["artifacts"] = [{**a, **entry(a["path"], a["path"].encode())} for a in manifest["artifacts"]]
    manifest["vocab"] = entry("vocab.txt", b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\n")
    write_manifest(tmp_path, manifest)
    done = java_host.junit("com.dynaedge.demo.BundleCheckTest", {"dynaedge.bundle": str(tmp_path)})
    print(f"BundleCheckTest: {_junit_ok(done)} tests passed")
    print("\n".join(line.lstrip(".") for line in done.stdout.splitlines() if "refused: " in line or "accepted: " in line))
