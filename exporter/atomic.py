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
        # mkstemp creates 0600; a written file gets the mode open() would give it (0666 & ~umask),
        # so bundles stay readable by the app packager, adb or a web server running as another user.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            tmp_write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        # Nothing half-written is left behind, and the previous file (if any) is intact.
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


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


# Directory versions: a bundle (or any directory a reader trusts as a whole) is built in a fresh
# sibling and swapped in at once, so a kill -9 at any moment leaves the old complete directory or
# the new complete one, never a mix.

STAGING = ".staging-"


def staging_dir(target: Path) -> Path:
    """A fresh, empty sibling of `target` to build its next version in (same filesystem, so the
    swap is a rename). Leftovers of runs that died are removed first."""
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}{STAGING}*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)
    stage = target.parent / f".{target.name}{STAGING}{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir()
    return stage


def swap_dir(new: Path, target: Path) -> None:
    """Put directory `new` where `target` is, in one step: renameat2(RENAME_EXCHANGE) swaps the two
    names atomically, then the old version (now at `new`'s name) is removed. A first version is a
    plain rename. Where the system has no RENAME_EXCHANGE (not Linux, some network filesystems) the
    old version is first renamed to `previous_dir(target)` and removed only after the new one is in
    place; a reader finding `target` missing names that directory (bundle.read_manifest)."""
    new, target = Path(new), Path(target)
    crash_point("swap:before")
    if not target.exists():
        os.rename(new, target)
        crash_point("swap:renamed")
        return
    if _exchange(new, target):
        crash_point("swap:exchanged")
        shutil.rmtree(new, ignore_errors=True)
        return
    previous = previous_dir(target)
    shutil.rmtree(previous, ignore_errors=True)
    os.rename(target, previous)
    crash_point("swap:moved-aside")
    os.rename(new, target)
    shutil.rmtree(previous, ignore_errors=True)


def previous_dir(target: Path) -> Path:
    """Where the two-rename swap keeps the old version while the new one moves in."""
    return Path(target).parent / f".{Path(target).name}.previous"


def _exchange(a: Path, b: Path) -> bool:
    """True if swapped; False where RENAME_EXCHANGE does not exist."""
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, f"cannot swap {a} and {b}: {os.strerror(err)}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # PermissionError: alive, another user's
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def crash_point(name: str) -> None:
    """Kill this process here (SIGKILL, no cleanup) when $DYNAEDGE_CRASH_AT names this point: how
    the crash-safety tests reach instants no timer hits, such as the middle of the swap."""
    if os.environ.get("DYNAEDGE_CRASH_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
