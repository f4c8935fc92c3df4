"""The Android build tools, from Debian packages only (no Android Studio, no SDK manager).

Two sources:
- bookworm (the machine's own suite, installed with apt-get by `make install`):
  aapt, zipalign, apksigner, plus a JDK (javac, java, keytool);
- bullseye, which still ships what bookworm dropped: the API 23 platform jar
  (libandroid-23-java, the package android-sdk-platform-23 points at) and dx
  (dalvik-exchange). They are fetched with `apt-get download` under a private
  APT_CONFIG (source = this machine's Debian mirror, suite = bullseye), checked
  against the sha256 pinned below and unpacked with `dpkg -x` into the cache. The
  system's apt setup is never touched.
"""

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from exporter.atomic import sha256_file
from exporter.errors import UserError
from exporter.paths import cache_dir

SUITE = "bullseye"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


@dataclass(frozen=True)
class Deb:
    package: str
    version: str
    sha256: str  # of the .deb, measured once
    payload: str  # the file we use inside it
    payload_sha256: str


BULLSEYE_DEBS = (
    Deb("libandroid-23-java", "6.0.1+r72-6",
        "8af1b6df556971dda0a6da3536ea526a838e0c363afcdd454213d8bce94793e3",
        "usr/share/java/com.android.android-23.jar",
        "4475aa3fe1fc28bdb87ae6351d6ccff58f344a1b9e2fe685f7a6fee41ba68613"),
    Deb("dalvik-exchange", "10.0.0+r36-1",
        "8fc128db7c27253d963eb9b33de79b197162a4749d2ba69019b2fd0664cbd7fe",
        "usr/share/java/com.android.dx-10.0.0.jar",
        "33fa9ae74e3fec5472170bde4e69e96d1fa46408ea4e4c3b657d255ab9199ee5"),
)

# command -> Debian (bookworm) package that provides it
SYSTEM_TOOLS = {
    "aapt": "aapt",
    "zipalign": "zipalign",
    "apksigner": "apksigner",
    "javac": "openjdk-17-jdk-headless",
    "java": "openjdk-17-jdk-headless",
    "keytool": "openjdk-17-jdk-headless",
}


@dataclass(frozen=True)
class Toolchain:
    aapt: Path
    zipalign: Path
    apksigner: Path
    javac: Path
    java: Path
    keytool: Path
    android_jar: Path  # API 23 platform classes: compile-time only, the phone has its own
    dx_jar: Path


def system_tool(name: str) -> Path:
    found = shutil.which(name)
    if found is None:
        raise UserError(f"'{name}' not found on PATH: the offline APK build needs it; install it with "
                        f"`apt-get install -y {SYSTEM_TOOLS.get(name, name)}` (or run `make install`)")
    return Path(found)


def _debian_mirror() -> str:
    """The first plain Debian archive URI this machine uses (not security, not third-party)."""
    texts = []
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        if path.is_file() and path.suffix in ("", ".list", ".sources"):
            texts.append(path.read_text(errors="replace"))
    for text in texts:
        for uri in re.findall(r"^URIs:\s*(\S+)", text, re.MULTILINE) + re.findall(
                r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.MULTILINE):
            if uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    raise UserError("no Debian mirror (a URI ending in /debian) found in /etc/apt/sources.list[.d]; "
                    "the offline APK build fetches bullseye's libandroid-23-java and dalvik-exchange from it")


def _private_apt(root: Path) -> dict:
    """An APT_CONFIG whose only source is bullseye on this machine's mirror; state lives under root."""
    for sub in ("lists/partial", "archives/partial", "etc/apt.conf.d", "etc/preferences.d", "etc/sources.list.d"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "status").touch()
    (root / "etc/sources.list").write_text(
        f"deb [signed-by={KEYRING}] {_debian_mirror()} {SUITE} main\n")
    conf = root / "apt.conf"
    conf.write_text("\n".join([
        f'Dir::State "{root}";', f'Dir::State::Lists "{root}/lists";', f'Dir::State::status "{root}/status";',
        f'Dir::Cache "{root}";', f'Dir::Cache::archives "{root}/archives";',
        f'Dir::Etc::SourceList "{root}/etc/sources.list";', f'Dir::Etc::SourceParts "{root}/etc/sources.list.d";',
        f'Dir::Etc::Parts "{root}/etc/apt.conf.d";', f'Dir::Etc::Preferences "{root}/etc/preferences";',
        f'Dir::Etc::PreferencesParts "{root}/etc/preferences.d";',
        # the cache may belong to root; the _apt sandbox user could not write there
        'APT::Sandbox::User "root";', ""]))
    return {**os.environ, "APT_CONFIG": str(conf)}


def _run(cmd: list[str], env=None, cwd=None, what: str = "") -> None:
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise UserError(f"{what or cmd[0]} failed (exit {done.returncode}): {' '.join(cmd)}\n"
                        f"{(done.stderr or done.stdout).strip()[-1500:]}")


def _fetch_bullseye(root: Path) -> None:
    for tool in ("apt-get", "dpkg"):
        system_tool(tool)
    if not KEYRING.exists():
        raise UserError(f"{KEYRING} missing: `apt-get install -y debian-archive-keyring`")
    env = _private_apt(root / "apt")
    _run(["apt-get", "update", "-q"], env=env, what=f"apt-get update for {SUITE}")
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        specs = [f"{d.package}={d.version}" for d in BULLSEYE_DEBS]
        _run(["apt-get", "download", "-q", *specs], env=env, cwd=tmp, what=f"apt-get download {' '.join(specs)}")
        for deb in BULLSEYE_DEBS:
            [path] = Path(tmp).glob(f"{deb.package}_*.deb")
            digest = sha256_file(path)
            if digest != deb.sha256:
                raise UserError(f"{path.name}: sha256 {digest}, pinned {deb.sha256} (mirror changed?)")
            _run(["dpkg", "-x", str(path), str(root / "root")], what=f"dpkg -x {path.name}")
    shutil.rmtree(root / "apt", ignore_errors=True)  # bullseye's package lists (~140 MB) served their purpose


def _payload_ok(root: Path, deb: Deb) -> bool:
    path = root / "root" / deb.payload
    return path.is_file() and sha256_file(path) == deb.payload_sha256


def ensure_toolchain() -> Toolchain:
    """All build tools, fetching bullseye's jars into ~/.cache/dynaedge/android-toolchain once."""
    system = {name: system_tool(name) for name in SYSTEM_TOOLS}
    root = cache_dir("android-toolchain")
    if not all(_payload_ok(root, d) for d in BULLSEYE_DEBS):
        _fetch_bullseye(root)
        bad = [d.payload for d in BULLSEYE_DEBS if not _payload_ok(root, d)]
        if bad:
            raise UserError(f"after unpacking bullseye packages, these files are missing or differ from "
                            f"their pinned sha256: {', '.join(bad)}")
    jar = {d.package: root / "root" / d.payload for d in BULLSEYE_DEBS}
    return Toolchain(**system, android_jar=jar["libandroid-23-java"], dx_jar=jar["dalvik-exchange"])
