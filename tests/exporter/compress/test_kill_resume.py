"""A training process killed (SIGKILL) in the middle of a phase resumes from its last step
checkpoint and ends with exactly the weights of an uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from exporter.compress.supernet import run_supernet
from tests.exporter.compress.ddp_supernet_main import CFG, tiny_recipe, tiny_teacher
from tests.exporter.compress.tiny_recipe import tiny_splits

ROOT = Path(__file__).resolve().parents[3]
MAIN = Path(__file__).with_name("ddp_supernet_main.py")
STEPS = 300  # long enough for the width phase to be caught midway


def test_sigkill_mid_phase_then_resume_equals_uninterrupted(tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "TINY_WIDTH_STEPS": str(STEPS)}
    proc = subprocess.Popen([sys.executable, str(MAIN), str(out)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    marker = out / "width" / "work" / "resume.json"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if marker.exists() and '"step": 1' in marker.read_text():   # somewhere past step 10
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed; raise STEPS"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = marker.read_text()
    assert not (out / "width" / "checkpoint.json").exists(), "killed before the phase finished"

    subprocess.run([sys.executable, str(MAIN), str(out)], env=env, check=True, timeout=300,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resumed = torch.load(out / "final-all.pt")
    torch.set_num_threads(1)
    ref = run_supernet(tiny_teacher(), tiny_splits(CFG.vocab_size), tiny_recipe(STEPS), tmp_path / "ref", {})
    diff = max((v - resumed[k]).abs().max().item() for k, v in ref.model.state_dict().items())
    print(f"killed at {killed_at.strip()!r}, resumed: max diff vs uninterrupted {diff:.2e}")
    assert diff == 0.0
