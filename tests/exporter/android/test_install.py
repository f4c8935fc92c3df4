"""`dynaedge android install`: clear one-line errors without adb or without a phone.

A fake adb script stands in for the real one, so no adb server is started here.
"""

import os
import stat

import pytest

from exporter.android import install_apk
from exporter.errors import UserError


def _fake_adb(tmp_path, devices_output: str):
    adb = tmp_path / "bin" / "adb"
    adb.parent.mkdir()
    adb.write_text(f"#!/bin/sh\n[ \"$1\" = devices ] && printf '{devices_output}' && exit 0\n"
                   f"echo 'Performing Streamed Install'; echo Success\n")
    adb.chmod(adb.stat().st_mode | stat.S_IEXEC)
    return adb.parent


@pytest.fixture
def apk(tmp_path):
    path = tmp_path / "demo.apk"
    path.write_bytes(b"PK")
    return path


def test_missing_apk(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        install_apk(tmp_path / "none.apk")


def test_no_adb(apk, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(UserError, match=r"adb not found: install it with `apt-get install -y adb`"):
        install_apk(apk)


def test_no_device(apk, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(_fake_adb(tmp_path, "List of devices attached\\n\\n")))
    with pytest.raises(UserError, match="no Android device connected"):
        install_apk(apk)


def test_unauthorized_device(apk, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(_fake_adb(tmp_path, "List of devices attached\\nR58M\\tunauthorized\\n")))
    with pytest.raises(UserError, match="unauthorized: accept the USB debugging prompt"):
        install_apk(apk)


def test_one_device_installs(apk, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", os.pathsep.join([str(_fake_adb(tmp_path, "List of devices attached\\nR58M\\tdevice\\n"))]))
    install_apk(apk)
