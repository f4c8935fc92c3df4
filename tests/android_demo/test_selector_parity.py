"""The app's Java Selector picks the same sub-network as the Python selector, every profile and budget.

Python (exporter.devices.commands.query) chooses from a sub-network table for each Android
profile and several budgets; those choices go into a manifest exactly as export writes them;
the Java Selector must return the same sub-network and backend for every pair.
"""

import json

from exporter.devices.commands import query
from exporter.devices.profile import load_profiles
from exporter.errors import UserError

BUDGETS_MS = (1.0, 2.0, 4.0, 8.0, 16.0, 64.0)


def _table() -> list[dict]:
    rows = []
    for width in (0.25, 0.5, 0.75, 1.0):
        for depth in (0.5, 0.75, 1.0):
            rows.append({"width": width, "depth": depth, "precision": "fp32",
                         "dev_accuracy": round(0.78 + 0.06 * width + 0.03 * depth, 4), "test_accuracy": 0.0,
                         "params": 0})
    return rows


def test_java_selector_matches_python(java_host, tmp_path):
    rows, choices, expected = _table(), [], []
    for profile in load_profiles("android"):
        for budget in BUDGETS_MS:
            try:
                choice = query(profile.name, f"{budget}ms", rows)  # the ExecuTorch choice: what the app runs
            except UserError:
                continue  # infeasible on this device: export refuses it too
            choices.append(choice)
            s = choice["subnet"]
            expected.append(f"{profile.name}\t{budget}\t{s['width']}\t{s['depth']}\t{s['precision']}\t"
                            f"{choice['backend']}\t{choice['path']}")
    needed = {(c["subnet"]["width"], c["subnet"]["depth"], c["subnet"]["precision"], c["backend"], c["path"])
              for c in choices}
    # Two variants of one sub-network (int8 and int8-dynamic) sit side by side: the app must take the
    # file the choice names, not the first of its sub-network.
    artifacts = [{"path": path, "backend": b, "precision": p, "width": w, "depth": d, "bytes": 1, "sha256": "0" * 64}
                 for w, d, p, b, path in sorted(needed)]
    artifacts = [{**a, "path": a["path"].replace(".pte", "-other.pte")} for a in artifacts] + artifacts
    manifest = {"schema": 1, "seq_len": 64, "data": {"labels": ["negative", "positive"]}, "subnets": rows,
                "choices": choices, "artifacts": artifacts}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    (tmp_path / "expected.tsv").write_text("\n".join(expected) + "\n")
    assert len({e.split("\t")[0] for e in expected}) >= 6, f"too few feasible profiles: {expected}"
    assert len(needed) >= 2, "budgets should lead to different sub-networks"
    done = java_host.junit("com.dynaedge.demo.SelectorParityTest",
                           {"dynaedge.manifest": str(tmp_path / "manifest.json"),
                            "dynaedge.expected": str(tmp_path / "expected.tsv")})
    assert done.returncode == 0, done.stdout[-4000:]
    assert f"selector parity: {len(expected)} (profile, budget) pairs agree" in done.stdout
    print(f"\n{len(expected)} (profile, budget) pairs, {len(needed)} distinct sub-networks: Java == Python")
