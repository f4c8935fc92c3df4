"""`import exporter` (and the CLI module) must not load the heavy runtimes."""

import json
import subprocess
import sys

HEAVY = ("executorch", "tensorflow", "litert_torch", "ai_edge_litert", "onnxruntime", "transformers")


def test_import_exporter_is_light():
    code = ("import json, sys, exporter, exporter.cli, exporter.spec, backends.registry;"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [], f"heavy modules loaded at import: {out.stdout}"
