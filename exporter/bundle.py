"""The bundle the app reads: manifest.json (schema 1) beside the artifacts and vocab.txt.

Artifacts and vocab are written atomically first; the manifest is written last, so a
bundle with a manifest is always complete. Readers check every file's sha256.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

from exporter.atomic import sha256_file, write_json
from exporter.errors import UserError

SCHEMA = 1
MANIFEST = "manifest.json"


@dataclass
class Manifest:
    model: dict
    data: dict
    recipe: dict
    seq_len: int
    teacher: dict
    subnets: list[dict] = field(default_factory=list)
    choices: list[dict] = field(default_factory=list)
    infeasible: list[dict] = field(default_factory=list)  # profiles no option fits (--budget), with the fastest
    artifacts: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)   # artifacts that failed parity: not written
    fallbacks: list[str] = field(default_factory=list)
    vocab: dict = field(default_factory=dict)
    tools: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "model": self.model, "data": self.data, "recipe": self.recipe,
                "seq_len": self.seq_len, "teacher": self.teacher, "subnets": self.subnets,
                "choices": self.choices, "infeasible": self.infeasible, "artifacts": self.artifacts, "rejected": self.rejected,
                "fallbacks": self.fallbacks, "vocab": self.vocab, "tools": self.tools}


def file_entry(path: Path, bundle_dir: Path) -> dict:
    return {"path": str(Path(path).relative_to(bundle_dir)), "bytes": Path(path).stat().st_size,
            "sha256": sha256_file(path)}


def write_manifest(bundle_dir: Path, manifest: Manifest) -> Path:
    path = Path(bundle_dir) / MANIFEST
    write_json(path, manifest.to_dict())
    return path


def read_manifest(bundle_dir: Path, check_files: bool = True) -> dict:
    """The manifest, after checking its schema and (by default) every listed file's size and sha256."""
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / MANIFEST
    if not path.exists():
        raise UserError(f"{bundle_dir} is not a dynaedge bundle (no {MANIFEST}); run `dynaedge export` first")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if manifest.get("schema") != SCHEMA:
        raise UserError(f"{path}: schema {manifest.get('schema')!r} is not supported (expected {SCHEMA})")
    if check_files:
        for entry in listed_files(manifest):
            check_file(bundle_dir, entry)
    return manifest


def listed_files(manifest: dict) -> list[dict]:
    """Every file entry (path, sha256) the manifest lists: artifacts, then vocab if present."""
    return list(manifest.get("artifacts") or []) + ([manifest["vocab"]] if manifest.get("vocab") else [])


def check_file(bundle_dir: Path, entry: dict) -> Path:
    relative = Path(entry["path"])
    if relative.is_absolute() or ".." in relative.parts:
        raise UserError(f"manifest path {entry['path']!r} must be relative to the bundle")
    path = Path(bundle_dir) / relative
    if not path.exists():
        raise UserError(f"bundle file {entry['path']} listed in the manifest is missing")
    digest = sha256_file(path)
    if digest != entry["sha256"]:
        raise UserError(f"bundle file {entry['path']}: sha256 {digest[:16]}…, the manifest says "
                        f"{entry['sha256'][:16]}…: it was modified or is corrupt; export again")
    return path
