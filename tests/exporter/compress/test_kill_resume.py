"""A supernet run killed (SIGKILL) at any moment resumes from what it finished and ends with exactly
the weights of an uninterrupted run: killed mid-phase by a timer, right after a step checkpoint,
and between a phase checkpoint's weights and its metadata (the cache's only two-file write)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from exporter.compress.checkpoint import read_meta
from exporter.compress.supernet import run_supernet
from exporter.compress.trainer import resume_step
from tests.exporter.compress.ddp_supernet_main import CFG, tiny_recipe, tiny_teacher
from tests.exporter.compress.tiny_recipe import tiny_splits

ROOT = Path(__file__).resolve().parents[3]
MAIN = Path(__file__).with_name("ddp_supernet_main.py")
STEPS = 300  # long enough for the width phase to be caught midway
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TINY_WIDTH_STEPS": str(STEPS)}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("ref")
    return run_supernet(tiny_teacher(), tiny_splits(CFG.vocab_size), tiny_recipe(STEPS), out, {}).model.state_dict()


def _resume_and_compare(out: Path, uninterrupted: dict, killed_at: str) -> None:
    subprocess.run([sys.executable, str(MAIN), str(out)], env=ENV, check=True, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resumed = torch.load(out / "final-all.pt")
    diff = max((v - resumed[k]).abs().max().item() for k, v in uninterrupted.items())
    print(f"killed at {killed_at}, resumed: max diff vs uninterrupted {diff:.2e}")
    assert diff == 0.0


def test_sigkill_mid_phase_then_resume_equals_uninterrupted(tmp_path, uninterrupted):
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, str(MAIN), str(out)], env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    work = out / "width" / "work"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and resume_step(work) < 10:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed; raise STEPS"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert read_meta(out / "width") is None, "killed before the phase finished"
    _resume_and_compare(out, uninterrupted, f"a timer, step checkpoint {resume_step(work)}")


# width's step checkpoints come every 5 steps; "checkpoint:D": phase D's weights written, metadata not
@pytest.mark.parametrize("point", ["resume:150", "checkpoint:rewired", "checkpoint:width", "checkpoint:ternary"])
def test_sigkill_at_a_named_point_then_resume_equals_uninterrupted(tmp_path, uninterrupted, point):
    out = tmp_path / "killed"
    done = subprocess.run([sys.executable, str(MAIN), str(out)], env={**ENV, "DYNAEDGE_CRASH_AT": point},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    assert done.returncode == -signal.SIGKILL, f"{point} was never reached"
    phase = point.split(":")[1]
    if not phase.isdigit():
        assert (out / phase / "model.safetensors").exists() and read_meta(out / phase) is None
    _resume_and_compare(out, uninterrupted, point)
