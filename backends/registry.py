"""Backend names -> implementing classes, imported only when asked for (keeps `import exporter` fast)."""

import importlib

from exporter.errors import unknown_choice

_BACKENDS = {
    "executorch": "backends.executorch.backend:ExecuTorchBackend",
    "tflite": "backends.tflite.backend:TFLiteBackend",
}


def backend_names() -> tuple[str, ...]:
    return tuple(_BACKENDS)


def get_backend(name: str):
    if name not in _BACKENDS:
        raise unknown_choice("backend", name, _BACKENDS)
    module, cls = _BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)()
