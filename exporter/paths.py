"""Where dynaedge keeps downloads, checkpoints and keys (never inside the repository)."""

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    """`$DYNAEDGE_CACHE`, else `$XDG_CACHE_HOME/dynaedge`, else `~/.cache/dynaedge`; created on use."""
    root = os.environ.get("DYNAEDGE_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "dynaedge")
    path = Path(root, *parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
