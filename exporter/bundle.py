"""The bundle the app reads: manifest.json (schema 1) beside the artifacts and vocab.txt.

Export builds the whole bundle in a staging directory and swaps it in at once
(exporter.atomic.swap_dir). manifest.sha256 seals the manifest (`sha256sum -c manifest.sha256`
checks it by hand). Readers refuse a bundle changed after export, naming the file: a manifest
that does not match its seal, a listed file missing or with another sha256, a file the manifest
does not list.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from exporter.atomic import previous_dir, sha256_file, write_bytes
from exporter.errors import UserError

SCHEMA = 1
MANIFEST = "manifest.json"
SEAL = "manifest.sha256"
# Files a bundle may hold without the manifest listing them: the seal and the
# optional benchmark sentences a user may add for the demo app (one per line).
UNLISTED = (MANIFEST, SEAL, "sentences.txt")


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
    budget: dict = field(default_factory=dict)  # --budget: {"ms", "length": {"tokens", "source"}}
    artifacts: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)   # artifacts that failed parity: not written
    fallbacks: list[str] = field(default_factory=list)
    vocab: dict = field(default_factory=dict)
    tools: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"schema": SCHEMA, "model": self.model, "data": self.data, "recipe": self.recipe,
                "seq_len": self.seq_len, "teacher": self.teacher, "subnets": self.subnets,
                "choices": self.choices, "infeasible": self.infeasible, "budget": self.budget, "artifacts": self.artifacts, "rejected": self.rejected,
                "fallbacks": self.fallbacks, "vocab": self.vocab, "tools": self.tools}


def file_entry(path: Path, bundle_dir: Path) -> dict:
    return {"path": str(Path(path).relative_to(bundle_dir)), "bytes": Path(path).stat().st_size,
            "sha256": sha256_file(path)}


def write_manifest(bundle_dir: Path, manifest: "Manifest | dict") -> Path:
    """manifest.json and its seal manifest.sha256 (sha256sum's format)."""
    path = Path(bundle_dir) / MANIFEST
    data = (json.dumps(manifest.to_dict() if isinstance(manifest, Manifest) else manifest, indent=2) + "\n").encode()
    write_bytes(path, data)
    write_bytes(Path(bundle_dir) / SEAL, f"{hashlib.sha256(data).hexdigest()}  {MANIFEST}\n".encode())
    return path


def read_manifest(bundle_dir: Path, check_files: bool = True) -> dict:
    """The manifest, after checking its seal and schema and (by default) that the bundle holds
    exactly the listed files, each with its sha256."""
    bundle_dir = Path(bundle_dir)
    path = bundle_dir / MANIFEST
    if not path.exists():
        if not bundle_dir.exists() and previous_dir(bundle_dir).exists():
            raise UserError(f"{bundle_dir} is missing: an export was killed while swapping in a new bundle; the "
                            f"previous complete bundle is at {previous_dir(bundle_dir)} (rename it back or export again)")
        raise UserError(f"{bundle_dir} is not a dynaedge bundle (no {MANIFEST}); run `dynaedge export` first")
    data = path.read_bytes()
    check_seal(bundle_dir, data)
    try:
        manifest = json.loads(data)
    except json.JSONDecodeError as err:
        raise UserError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None
    if manifest.get("schema") != SCHEMA:
        raise UserError(f"{path}: schema {manifest.get('schema')!r} is not supported (expected {SCHEMA})")
    if check_files:
        for entry in listed_files(manifest):
            check_file(bundle_dir, entry)
        check_unlisted(bundle_dir, manifest)
    return manifest


def check_seal(bundle_dir: Path, manifest_bytes: bytes) -> None:
    seal = Path(bundle_dir) / SEAL
    if not seal.is_file():
        raise UserError(f"bundle file {SEAL} is missing (bundles exported before it existed have none): "
                        "export again")
    words = seal.read_text().split()
    expected = words[0] if words else ""
    digest = hashlib.sha256(manifest_bytes).hexdigest()
    if digest != expected:
        raise UserError(f"bundle file {MANIFEST}: sha256 {digest[:16]}…, {SEAL} says {expected[:16]}…: "
                        "the manifest was edited after export; export again")


def check_unlisted(bundle_dir: Path, manifest: dict) -> None:
    """A file the manifest does not list (added, or renamed from a listed one) is refused."""
    listed = {str(Path(e["path"])) for e in listed_files(manifest)} | set(UNLISTED)
    for path in sorted(p for p in Path(bundle_dir).rglob("*") if p.is_file()):
        relative = str(path.relative_to(bundle_dir))
        if relative not in listed:
            raise UserError(f"bundle file {relative} is not listed in the manifest (added or renamed after export); "
                            f"remove it or export again")


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
