"""Versions of the tools that produced a bundle (recorded in the manifest)."""

from importlib import metadata

PACKAGES = ("dynaedge", "torch", "executorch", "litert-torch", "ai-edge-litert", "transformers", "numpy")


# Every runtime a bench run or report compares, beside the tools that make a bundle.
RUNTIMES = ("ai-edge-quantizer", "tensorflow", "onnxruntime", "onnx")


def _versions(names: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def tool_versions() -> dict[str, str]:
    return _versions(PACKAGES)


def runtime_versions() -> dict[str, str]:
    return _versions(PACKAGES + RUNTIMES)
