"""Lowered and verified artifacts kept between runs, so a second `dynaedge export` that needs the
same file neither lowers nor re-runs it (`make export` twice: the second only checks and copies).

    key = lowering_key(model, spec, variant)          # weights, lowering code, versions, calibration
    lowered = load_lowered(key) or store_lowered(key, backend.lower(model, spec))
    vkey = verification_key(lowered.data, reference_model, splits)
    entry = load_verified(vkey)                       # the parity figures of an earlier identical check

A lowered file is a pure function of what its key hashes: the model's tensors, the lowering code
(backends/, exporter/model/), the tool versions, the variant and the calibration sentences. A
verification's measurements (SQNR, accuracies, agreement) are a pure function of the file's
bytes, the PyTorch model it is compared with, the dev and test sentences and the runners' code;
the gate is applied to them on every run, so a changed threshold takes effect at once. Entries live in
~/.cache/dynaedge/artifacts/<key>/ and are written atomically; a damaged entry is ignored and
rebuilt. The manifest records which artifacts came from this cache (`"reused": true`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from backends.base import Lowered, LowerSpec
from backends.variant import Variant

CACHE_VERSION = 1  # bump when what an entry holds changes


def _cache(key: str) -> Path:
    from exporter.paths import cache_dir

    return cache_dir("artifacts", key)


def model_hash(model) -> str:
    """sha256 of every tensor of `model`'s state (parameters and buffers), by name."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(tensor.dtype).encode())
        h.update(str(tuple(tensor.shape)).encode())
        h.update(tensor.detach().contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def _arrays_hash(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str((a.dtype.str, a.shape)).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _key(what: dict) -> str:
    return hashlib.sha256(json.dumps({"v": CACHE_VERSION, **what}, sort_keys=True).encode()).hexdigest()[:24]


def lowering_key(model, spec: LowerSpec, variant: Variant) -> str:
    from exporter.bench_systems import lowering_code_hash
    from exporter.versions import tool_versions

    return _key({"kind": "lowered", "model": model_hash(model), "code": lowering_code_hash(), "tools": tool_versions(),
                 "variant": variant.key, "precision": spec.precision, "seq_len": spec.seq_len,
                 "options": [list(o) for o in spec.options],
                 "calibration": _arrays_hash(spec.calibration_ids, spec.calibration_mask)})


def load_lowered(key: str) -> Lowered | None:
    where = _cache(key)
    try:
        meta = json.loads((where / "lowered.json").read_text())
        data = (where / "file.bin").read_bytes()
    except (OSError, json.JSONDecodeError):
        return None
    if hashlib.sha256(data).hexdigest() != meta.pop("sha256", None):
        return None  # damaged: lower again
    return Lowered(data=data, **{**meta, "fallbacks": tuple(meta["fallbacks"])})


def store_lowered(key: str, lowered: Lowered) -> Lowered:
    from exporter.atomic import write_bytes, write_json

    where = _cache(key)
    write_bytes(where / "file.bin", lowered.data)
    meta = {k: v for k, v in asdict(lowered).items() if k != "data"}
    write_json(where / "lowered.json", {**meta, "fallbacks": list(lowered.fallbacks),
                                        "sha256": hashlib.sha256(lowered.data).hexdigest()})
    return lowered


def _runner_code_hash() -> str:
    """The code that runs and compares files (the runners, verify.py): not part of the lowering hash."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for source in sorted([*root.glob("backends/**/runner.py"), root / "exporter" / "verify.py"]):
        h.update(str(source.relative_to(root)).encode())
        h.update(source.read_bytes())
    return h.hexdigest()


def verification_key(data: bytes, reference_model, splits) -> str:
    from exporter.versions import tool_versions

    dev, test = splits.dev, splits.test
    return _key({"kind": "verified", "file": hashlib.sha256(data).hexdigest(), "reference": model_hash(reference_model),
                 "sentences": _arrays_hash(dev.ids, dev.mask, dev.labels, test.ids, test.mask, test.labels),
                 "runners": _runner_code_hash(), "tools": tool_versions()})


def load_verified(key: str) -> dict | None:
    try:
        return json.loads((_cache(key) / "verified.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None


def store_verified(key: str, entry: dict) -> None:
    from exporter.atomic import write_json

    write_json(_cache(key) / "verified.json", entry)
