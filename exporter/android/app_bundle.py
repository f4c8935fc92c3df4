"""What of a bundle goes into the demo APK: exactly the files its runtime runs.

The offline APK embeds stock ExecuTorch (XNNPACK, no custom delegate; runtime.py), so it packs the
bundle's ExecuTorch choices (export writes one per device profile and runtime family) and a
manifest rewritten to list only those: the app checks every listed file, and a .tflite or a
custom-delegate .pte would only make the APK larger. A bundle without choices (an export without
--budget) packs every .pte the stock runtime runs.
"""

from dataclasses import dataclass
from pathlib import Path

from exporter.bundle import MANIFEST, SEAL, read_manifest, write_manifest
from exporter.errors import UserError

APP_RUNTIME = "executorch"   # backends.variant.RUNTIMES: stock ExecuTorch >= 1.1 with XNNPACK
APP_FAMILY = "executorch"


@dataclass(frozen=True)
class AppBundle:
    files: tuple[Path, ...]       # the rewritten manifest, vocab.txt, the packed artifacts (and sentences.txt)
    packed: tuple[str, ...]       # artifact paths packed
    left_out: tuple[str, ...]     # "path: why" for every artifact of the bundle not packed


def _runtime(artifact: dict) -> str:
    """An artifact's runtime; bundles from before the variant table name only backend and precision."""
    if "runtime" in artifact:
        return artifact["runtime"]
    if artifact["backend"] == "executorch":
        return "executorch+ternary" if artifact["precision"] == "ternary" else "executorch"
    return "litert"


def _chosen_path(choice: dict, artifacts: list[dict]) -> str | None:
    """The file a choice names; choices from before the variant table name only a sub-network."""
    if "path" in choice:
        return choice["path"]
    s = choice["subnet"]
    return next((a["path"] for a in artifacts if a["backend"] == choice["backend"]
                 and (a["width"], a["depth"], a["precision"]) == (s["width"], s["depth"], s["precision"])), None)


def app_bundle(bundle_dir: Path, work: Path) -> AppBundle:
    bundle_dir, work = Path(bundle_dir), Path(work)
    manifest = read_manifest(bundle_dir)  # checks schema, paths and every listed file's sha256
    vocab = bundle_dir / "vocab.txt"
    if not vocab.is_file():
        raise UserError(f"{bundle_dir} has no vocab.txt; the app's tokenizer needs it")
    artifacts = manifest.get("artifacts") or []
    choices = [c for c in manifest.get("choices") or [] if c.get("family", c["backend"]) == APP_FAMILY]
    if manifest.get("choices"):
        wanted = {p for p in (_chosen_path(c, artifacts) for c in choices) if p}
        if not choices:
            raise UserError(f"{bundle_dir / MANIFEST} has no ExecuTorch choice (the demo app runs ExecuTorch); "
                            "export with --backend executorch")
    else:
        wanted = {a["path"] for a in artifacts if _runtime(a) == APP_RUNTIME}
    packed = [a for a in artifacts if a["path"] in wanted and _runtime(a) == APP_RUNTIME]
    missing = wanted - {a["path"] for a in packed}
    if missing:
        raise UserError(f"{bundle_dir / MANIFEST}: ExecuTorch choices name {', '.join(sorted(missing))}, which the "
                        "bundle does not hold as a stock-ExecuTorch file; export again")
    if not packed:
        raise UserError(f"{bundle_dir / MANIFEST} lists no file the app's stock ExecuTorch runtime runs; "
                        "export with --backend executorch")
    left_out = tuple(f"{a['path']}: " + ("runs on " + _runtime(a) if _runtime(a) != APP_RUNTIME
                                          else "no device's ExecuTorch choice") for a in artifacts if a not in packed)
    work.mkdir(parents=True, exist_ok=True)
    app_manifest = write_manifest(work, {**manifest, "artifacts": packed, "choices": choices,
                                         "apk": {"runtime": APP_RUNTIME, "left_out": list(left_out)}})
    files = [app_manifest, work / SEAL, vocab] + [bundle_dir / a["path"] for a in packed]
    sentences = bundle_dir / "sentences.txt"  # optional: the benchmark's sentences, one per line
    if sentences.is_file():
        files.append(sentences)
    return AppBundle(tuple(files), tuple(a["path"] for a in packed), left_out)
