"""Open a page in Debian's headless Chromium: its DOM after scripts ran, its console lines, a screenshot."""

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

# No network: every host name resolves to nothing, so a page that fetches anything logs a failure.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--enable-logging=stderr", "--v=0")


@dataclass(frozen=True)
class Loaded:
    dom: str
    console: tuple[str, ...]   # every console message and uncaught error (Chromium logs all at INFO)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("chromium not found: `make system-deps` installs Debian's chromium package")
    return found


def load(page: Path) -> Loaded:
    run = subprocess.run([chromium(), *FLAGS, "--dump-dom", page.resolve().as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    console = tuple(m.group(1) for m in re.finditer(r":CONSOLE[^\]]*\] (.*)", run.stderr))
    return Loaded(run.stdout, console)


def screenshot(page: Path, png: Path, width: int = 1200, height: int = 5200) -> Path:
    run = subprocess.run([chromium(), *FLAGS, f"--window-size={width},{height}", f"--screenshot={png.resolve()}",
                          page.resolve().as_uri()], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and png.stat().st_size > 0, run.stderr[-2000:]
    return png
