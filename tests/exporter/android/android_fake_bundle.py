"""A small fake bundle for APK tests before the real export exists.

Same layout and manifest schema as `dynaedge export --target android` (shared/DESIGN.md):
manifest.json, one .pte per sub-network, vocab.txt. Each .pte is a tiny real program (not the
encoder; tiny_programs.py) whose operators and delegate the phone's runtime registers, so the
build's deployability check passes: these tests check packaging, not inference.
"""

import hashlib
from pathlib import Path

from exporter.bundle import write_manifest
from tiny_programs import xnnpack_program

VOCAB = ["[PAD]", *[f"[unused{i}]" for i in range(99)], "[UNK]", "[CLS]", "[SEP]", "[MASK]",
         "the", "movie", "was", "great", "bad", "##ly", ".", ","]
SUBNETS = [(1.0, 1.0, "int8"), (0.5, 0.5, "int8")]
DEVICES = {"pixel-7": [(5.0, 0), (2.0, 1)], "galaxy-a14": [(5.0, 1)]}  # profile -> (budget, subnet index)


def make_fake_bundle(out: Path, program: bytes | None = None) -> Path:
    """The bundle in `out`; every .pte holds `program` (default: the tiny XNNPACK program)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    artifacts = []
    for width, depth, precision in SUBNETS:
        name = f"encoder_w{width}_d{depth}_{precision}.pte"
        data = xnnpack_program() if program is None else program
        (out / name).write_bytes(data)
        artifacts.append({"path": name, "backend": "executorch", "precision": precision, "width": width,
                          "depth": depth, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                          "delegates": {"XnnpackBackend": 1}, "fallbacks": [],
                          "parity": {"sqnr_db": 40.0, "max_abs_diff": 0.001, "label_agreement": 1.0,
                                     "dev_accuracy": 0.8, "n_sentences": 10}})
    choices = []
    for device, picks in DEVICES.items():
        for budget, index in picks:
            width, depth, precision = SUBNETS[index]
            choices.append({"device": device, "budget_ms": budget,
                            "subnet": {"width": width, "depth": depth, "precision": precision},
                            "backend": "executorch", "predicted_ms": budget * 0.8,
                            "reason": f"most accurate sub-network under {budget} ms on {device}"})
    manifest = {"schema": 1, "model": {"name": "fake", "sha256": "0" * 64},
                "data": {"name": "fake", "labels": ["negative", "positive"]}, "seq_len": 16,
                "subnets": [{"width": w, "depth": d, "precision": p, "dev_accuracy": 0.8, "test_accuracy": 0.8,
                             "params": 1000} for w, d, p in SUBNETS],
                "choices": choices, "artifacts": artifacts, "vocab": _entry(out / "vocab.txt")}
    write_manifest(out, manifest)  # sealed, as export writes it
    return out


def _entry(path: Path) -> dict:
    data = path.read_bytes()
    return {"path": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
