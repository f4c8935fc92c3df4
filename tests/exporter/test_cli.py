"""The CLI turns user errors into one line on stderr and exit code 2, before any heavy work."""

import subprocess
import sys

import pytest


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "exporter.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


@pytest.mark.parametrize("args,message", [
    (["export", "--target", "andriod"], "unknown target 'andriod'; choose one of: android, host, linux-arm64"),
    (["export", "--backend", "executorch,coreml"], "unknown backend 'coreml'; choose one of: executorch, tflite"),
    (["export", "--precision", "fp16"], "unknown precision 'fp16'; choose one of: fp32, int8, mixed, ternary"),
    (["export", "--precision", "mixed"], "mixed-precision files need --mixed-mb S[,S...]"),
    (["export", "--mixed-mb", "9.5,x"], "--mixed-mb 'x' is not a size in MB"),
    (["export", "--mixed-mb", "9.5,9.5"], "--mixed-mb lists a size twice: 9.5,9.5"),
    (["export", "--mixed-mb", "9.5", "--variant", "int8-dynamic"],
     "--variant int8-dynamic leaves out every mixed-precision variant (mixed, mixed-op); add one"),
    (["query", "--device", "pixel-8", "--budget", "5ms", "--mixed-mb", "9.5", "--bundle", "/nonexistent"],
     "with --bundle the bundle's own rows are the candidates"),
    (["export", "--variant", "int2"], "unknown variant 'int2'; choose one of: fp32, fp32-emb8, int8, int8-dynamic,"),
    (["export", "--variant", "int8-full", "--backend", "executorch"],
     "variant 'int8-full' exists on no backend of --backend executorch; it is a variant of tflite"),
    (["export", "--backend", ","], "--backend / --precision need at least one entry"),
    (["query", "--device", "pixel-8", "--budget", "5ms", "--runtime", "coreml", "--bundle", "/nonexistent"],
     "is not a dynaedge bundle"),
    (["train", "--recipe", "fast"], "unknown recipe 'fast'; choose one of:"),
    (["export", "--model", "/nonexistent/model"], "model path '/nonexistent/model' does not exist"),
    (["bench", "--bundle", "/nonexistent/bundle"], "is not a dynaedge bundle"),
    (["query", "--device", "pixel-77", "--budget", "5ms", "--bundle", "/nonexistent"], "is not a dynaedge bundle"),
    (["profile", "show", "pixel-77"], "unknown device profile 'pixel-77'; choose one of:"),
    (["report", "--recipe", "finetune"], "recipe 'finetune' trains no supernet"),
    (["export", "--budget", "5parsecs"], "latency budget '5parsecs' is not understood"),
    (["export", "--budget", "5ms", "--device", "pixel-77"], "unknown device profile 'pixel-77'"),
    (["export", "--budget", "5ms", "--device", "host"], "device 'host' is a host profile, not android"),
    (["export", "--device", "pixel-8"], "--device pixel-8 needs --budget"),
])
def test_user_errors_exit_2_with_one_line(args, message):
    done = run_cli(*args)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("dynaedge: error: ") and message in lines[-1], done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def test_bad_data_file_reports_line(tmp_path):
    bad = tmp_path / "reviews.csv"
    bad.write_bytes(b"text,label\ngood,1\nna\xefve,0\n")
    done = run_cli("train", "--data", str(bad))
    assert done.returncode == 2
    assert "line 3 is not UTF-8" in done.stderr.splitlines()[-1]


def test_debug_shows_traceback():
    done = run_cli("--debug", "export", "--target", "andriod")
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_query_errors_on_a_real_manifest(tmp_path):
    from exporter.bundle import Manifest, write_manifest
    m = Manifest(model={"name": "t", "sha256": "0"}, data={}, recipe={}, seq_len=64, teacher={})
    m.subnets.append({"width": 1.0, "depth": 1.0, "precision": "fp32", "dev_accuracy": 0.8, "test_accuracy": 0.8,
                      "params": 22_000_000})
    write_manifest(tmp_path, m)
    done = run_cli("query", "--device", "pixel-77", "--budget", "5ms", "--bundle", str(tmp_path))
    assert done.returncode == 2 and "unknown device profile 'pixel-77'" in done.stderr.splitlines()[-1]
    done = run_cli("query", "--device", "pixel-8", "--budget", "5parsecs", "--bundle", str(tmp_path))
    assert done.returncode == 2 and "5parsecs" in done.stderr.splitlines()[-1], done.stderr[-500:]


@pytest.mark.parametrize("args", [["bench", "--bundle"], ["query", "--device", "pixel-8", "--budget", "5ms", "--bundle"],
                                  ["android", "build", "--out", "app.apk", "--bundle"],
                                  ["report", "--html", "page.html", "--bundle"]])
def test_a_changed_bundle_is_refused_by_each_reader_naming_the_file(tmp_path, args):
    """bench, query --bundle, android build and report --html read bundles through one check (exporter.bundle);
    each refuses a file changed after export with exit 2 and one line naming it."""
    from tests.exporter.test_bundle import _bundle, _truncate

    _bundle(tmp_path)
    _truncate(tmp_path)
    done = run_cli(*args, str(tmp_path), cwd=tmp_path)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    print(f"\n{' '.join(args[:2])}: {lines[-1] if lines else done.stderr}")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert lines[-1].startswith("dynaedge: error: bundle file m.pte: sha256") and "modified or is corrupt" in lines[-1]
