"""`dynaedge export` killed (SIGKILL) at any moment leaves the previous complete bundle or the new
complete one, never a mix: a tiny model exported once (fp32), then re-exported (fp32 + int8) and
killed at named points (during lowering, during verification, before the manifest, in the middle
of the swap) and at fractions of the run's wall time."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backends.registry import find_variant
from exporter.bundle import read_manifest
from exporter.model.subnet import FULL
from tests.exporter.tiny_export import tiny_bert, tiny_data

ROOT = Path(__file__).resolve().parents[2]
FP32 = find_variant("executorch", "fp32").file_name(FULL.name)
INT8 = find_variant("executorch", "int8").file_name(FULL.name)
POINTS = [f"lowered:{FP32}", f"verifying:{FP32}", f"verified:{FP32}", f"lowered:{INT8}", f"verifying:{INT8}",
          f"verified:{INT8}", "manifest", "swap:before", "swap:exchanged"]
FRACTIONS = (0.5,)   # of a full re-export's wall time: with the 9 named points, 10 kills


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kill")
    model_dir = tiny_bert(tmp)
    env = {**os.environ, "DYNAEDGE_CACHE": str(tmp / "cache"), "OMP_NUM_THREADS": "1"}
    base = [sys.executable, "-m", "exporter.cli", "export", "--model", str(model_dir), "--data",
            str(tiny_data(tmp / "data.tsv")), "--backend", "executorch", "--threads", "1", "--json"]
    return tmp, env, base


def _run(setup, out: Path, precision: str, crash: str | None = None, kill_after: float | None = None,
         fresh: bool = True):
    tmp, env, base = setup
    env = {**env, **({"DYNAEDGE_CRASH_AT": crash} if crash else {})}
    # --fresh: the run really lowers and verifies (else it takes the files and figures an earlier run
    # cached). Only the points inside a verification and the timed kill need that; the others are
    # reached the same way with cached files, in a fraction of the time.
    proc = subprocess.Popen([*base, "--precision", precision, "--out", str(out)] + (["--fresh"] if fresh else []),
                            env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=kill_after if kill_after else 600)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
    return proc.returncode, stdout, stderr


def _state(out: Path, old: set, new: set) -> str:
    manifest = read_manifest(out)  # every listed file present with its sha256, nothing unlisted, seal intact
    paths = {a["path"] for a in manifest["artifacts"]}
    assert paths in (old, new), f"bundle holds {sorted(paths)}: a mix"
    return "old" if paths == old else "new"


def test_kill_at_any_moment_leaves_a_complete_bundle(setup):
    tmp = setup[0]
    out = tmp / "bundle"
    code, stdout, stderr = _run(setup, out, "fp32")  # the previous bundle (teacher fine-tuned and cached here)
    assert code == 0, stderr[-3000:]
    old = {a["path"] for a in json.loads(stdout)["artifacts"]}
    t0 = time.perf_counter()
    code, stdout, stderr = _run(setup, tmp / "reference", "fp32,int8")
    full_s = time.perf_counter() - t0
    assert code == 0, stderr[-3000:]
    new = {a["path"] for a in json.loads(stdout)["artifacts"]}
    assert old == {FP32} and new == {FP32, INT8}
    seen = []
    for point in POINTS:
        code, _, stderr = _run(setup, out, "fp32,int8", crash=point, fresh=point.startswith("verifying:"))
        assert code == -signal.SIGKILL, f"{point} was never reached: {stderr[-2000:]}"
        seen.append((point, _state(out, old, new)))
        if seen[-1][1] == "new":  # start each kill from the previous bundle again
            assert _run(setup, out, "fp32", fresh=False)[0] == 0
    for fraction in FRACTIONS:
        code, _, _ = _run(setup, out, "fp32,int8", kill_after=fraction * full_s)
        seen.append((f"{fraction:.0%} of {full_s:.0f} s" + ("" if code == -signal.SIGKILL else " (finished)"),
                     _state(out, old, new)))
        if seen[-1][1] == "new":
            assert _run(setup, out, "fp32", fresh=False)[0] == 0
    print("\n" + "\n".join(f"killed at {p}: {s} bundle" for p, s in seen))
    assert len(seen) >= 10
    assert dict(seen)["swap:exchanged"] == "new" and dict(seen)["swap:before"] == "old"
    code, _, stderr = _run(setup, out, "fp32,int8")
    assert code == 0, stderr[-3000:]
    assert _state(out, old, new) == "new"
    assert sorted(p.name for p in tmp.iterdir() if p.name.startswith(".bundle")) == []  # leftovers removed


def test_a_run_with_a_failed_artifact_keeps_the_previous_bundle(setup, tmp_path, monkeypatch):
    """A parity failure (here: an fp32 gate no file can meet) swaps nothing in and keeps its files aside."""
    import exporter.verify as verify
    from exporter.pipeline import export, rejected_dir
    from exporter.spec import ExportSpec

    tmp, env, base = setup
    out = tmp_path / "bundle"
    assert _run(setup, out, "fp32")[0] == 0
    before = read_manifest(out)
    monkeypatch.setenv("DYNAEDGE_CACHE", env["DYNAEDGE_CACHE"])
    monkeypatch.setitem(verify.THRESHOLDS, "fp32", verify.Thresholds(min_sqnr_db=1e9))
    model, data = base[base.index("--model") + 1], base[base.index("--data") + 1]
    result = export(ExportSpec(model=model, data=data, backends=("executorch",), precisions=("fp32",), out=out,
                               threads=1))
    print(f"\nfailed: {result.failed}")
    assert result.failed and result.bundle == rejected_dir(out)
    assert read_manifest(out) == before  # the previous bundle, untouched
    rejected = json.loads((rejected_dir(out) / "manifest.json").read_text())
    assert [a["path"] for a in rejected["rejected"]] == [FP32] and rejected["artifacts"] == []
    assert not any(p.name.startswith(".bundle") for p in tmp_path.iterdir())


NOISE = ("Use JAX lowering", "Running Calibration", "Applying Transformations", "Unable to initialize backend", "oneDNN", "cpuinfo", "absl", "WARNING:", "TensorFlow")


def test_console_shows_our_lines_and_the_log_holds_the_rest(setup, tmp_path):
    """A tiny export through both backends (TensorFlow, JAX, litert-torch, ExecuTorch all loaded):
    stderr holds only our lines and progress bars, stdout the summary; the noise is in bundle.log."""
    tmp, env, base = setup
    out = tmp_path / "bundle"
    args = [a for a in base if a != "--json"]
    args[args.index("--backend") + 1] = "executorch,tflite"
    done = subprocess.run([*args, "--precision", "fp32", "--out", str(out)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    # progress bars redraw with \r; a person reads the last state of each line
    lines = [line.split("\r")[-1] for line in done.stderr.splitlines()]
    ours = [line for line in lines if line.strip() and "|" not in line]  # not a progress bar
    print(f"\nstderr without progress bars ({len(ours)} lines):\n" + "\n".join(ours))
    print(f"stdout:\n{done.stdout}")
    assert not [line for line in lines if any(n in line for n in NOISE)], "third-party noise on the console"
    assert len(ours) <= 25, "more than a screen of messages"
    assert ours[-1].startswith("third-party libraries' output of this run:") and str(out) + ".log" in ours[-1]
    assert done.stdout.startswith(f"bundle {out}")
    listed = [line.split()[0] for line in done.stdout.splitlines()[1:]
              if line.startswith("  ") and not line.strip().startswith("fallback:")]
    assert sorted(Path(name).suffix for name in listed) == [".pte", ".tflite"], done.stdout
    log = Path(f"{out}.log").read_text()
    print(f"{out}.log: {len(log.splitlines())} lines")
    assert log.strip(), "the third-party output went nowhere"
