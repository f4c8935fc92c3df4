"""`dynaedge android install APK`: adb install -r, with one-line errors for the usual problems."""

import os
import shutil
import subprocess
from pathlib import Path

from exporter.errors import UserError


def _devices(adb: str) -> list[str]:
    done = subprocess.run([adb, "devices"], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise UserError(f"adb devices failed: {done.stderr.strip()[:200]}")
    rows = [line.split("\t") for line in done.stdout.splitlines()[1:] if "\t" in line]
    unauthorized = [serial for serial, state in rows if state == "unauthorized"]
    if unauthorized and not any(state == "device" for _, state in rows):
        raise UserError(f"phone {unauthorized[0]} is connected but unauthorized: accept the USB debugging "
                        f"prompt on the phone, then retry")
    return [serial for serial, state in rows if state == "device"]


def install_apk(apk: Path) -> None:
    """Install (or update) the APK on the one connected phone."""
    apk = Path(apk)
    if not apk.is_file():
        raise UserError(f"{apk} does not exist; build it with `dynaedge android build --bundle DIR --out {apk}`")
    adb = shutil.which("adb")
    if adb is None:
        raise UserError("adb not found: install it with `apt-get install -y adb` (or run `make install`)")
    devices = _devices(adb)
    if not devices:
        raise UserError("no Android device connected: plug in a phone with USB debugging enabled "
                        "(`adb devices` must list it)")
    if len(devices) > 1 and not os.environ.get("ANDROID_SERIAL"):
        raise UserError(f"{len(devices)} devices connected ({', '.join(devices)}); set ANDROID_SERIAL "
                        f"to one of them")
    done = subprocess.run([adb, "install", "-r", str(apk)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 or "Success" not in done.stdout:
        raise UserError(f"adb install -r {apk} failed: {(done.stdout + done.stderr).strip().splitlines()[-1]}")
