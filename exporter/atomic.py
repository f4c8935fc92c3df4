"""Atomic file writes: a reader sees the old file or the whole new one, never a torn one.

Write to a temporary file in the same directory, fsync, then rename over the target
(rename is atomic within one filesystem).
"""

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path


def _replace_from(tmp_write, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            tmp_write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Nothing half-written is left behind, and the previous file (if any) is intact.
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    _replace_from(lambda f: f.write(data), path)


def write_json(path: Path, obj) -> None:
    write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def copy_file(src: Path, dst: Path) -> None:
    with open(src, "rb") as s:
        _replace_from(lambda f: shutil.copyfileobj(s, f, 1 << 20), dst)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
