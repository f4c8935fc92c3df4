"""The debug signing key: made once with keytool, kept in the user's config dir.

Debug-only, like Android Studio's ~/.android/debug.keystore: the APK installs with
`adb install`, not through a store. Reusing one key lets `adb install -r` update the app.
"""

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from exporter.errors import UserError

ALIAS = "androiddebugkey"
PASSWORD = "android"  # Android's well-known debug password: this key signs nothing released
DNAME = "CN=dynaedge debug,O=dynaedge,C=US"


@dataclass(frozen=True)
class DebugKey:
    keystore: Path
    alias: str = ALIAS
    password: str = PASSWORD


def config_dir() -> Path:
    """`$DYNAEDGE_CONFIG`, else `$XDG_CONFIG_HOME/dynaedge`, else `~/.config/dynaedge`."""
    root = os.environ.get("DYNAEDGE_CONFIG")
    if not root:
        root = str(Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "dynaedge")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def ensure_debug_key(keytool: Path) -> DebugKey:
    keystore = config_dir() / "debug.keystore"
    if not keystore.exists():
        tmp = keystore.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        cmd = [str(keytool), "-genkeypair", "-keystore", str(tmp), "-storetype", "PKCS12", "-alias", ALIAS,
               "-keyalg", "RSA", "-keysize", "2048", "-validity", "10000", "-dname", DNAME,
               "-storepass", PASSWORD, "-keypass", PASSWORD]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"keytool could not create the debug keystore {keystore}: {done.stderr.strip()}")
        tmp.rename(keystore)  # atomic: a half-made keystore is never picked up
    return DebugKey(keystore)
