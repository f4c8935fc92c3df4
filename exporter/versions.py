"""Versions of the tools that produced a bundle (recorded in the manifest)."""

from importlib import metadata

PACKAGES = ("dynaedge", "torch", "executorch", "litert-torch", "ai-edge-litert", "transformers", "numpy")


def tool_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
