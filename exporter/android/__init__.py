"""Offline Android demo APK: Debian toolchain + npm runtime + the bundle, aligned and signed.

Public API (the CLI's `dynaedge android build / install` call these):
    build_apk(bundle_dir, out_apk) -> ApkReport
    install_apk(apk) -> None
Both raise exporter.errors.UserError for problems the user can fix.
"""

from exporter.android.apk import ApkReport, build_apk
from exporter.android.install import install_apk

__all__ = ["ApkReport", "build_apk", "install_apk"]
