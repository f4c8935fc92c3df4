"""Backend names -> implementing classes (imported only when asked for, keeping `import exporter`
fast) and their variant tables (pure data). A new backend is its folder plus one line here."""

import importlib

from backends.variant import Variant
from exporter.errors import UserError, unknown_choice

_BACKENDS = {
    "executorch": ("backends.executorch.backend:ExecuTorchBackend", "backends.executorch.variants"),
    "tflite": ("backends.tflite.backend:TFLiteBackend", "backends.tflite.variants"),
}


def backend_names() -> tuple[str, ...]:
    return tuple(_BACKENDS)


def get_backend(name: str):
    if name not in _BACKENDS:
        raise unknown_choice("backend", name, _BACKENDS)
    module, cls = _BACKENDS[name][0].split(":")
    return getattr(importlib.import_module(module), cls)()


def variants(backend: str | None = None) -> tuple[Variant, ...]:
    """Every variant of `backend` (or of every backend), in table order."""
    if backend is not None and backend not in _BACKENDS:
        raise unknown_choice("backend", backend, _BACKENDS)
    names = (backend,) if backend else tuple(_BACKENDS)
    return tuple(v for n in names for v in importlib.import_module(_BACKENDS[n][1]).VARIANTS)


def variant_names() -> tuple[str, ...]:
    """The names a user can type (`int8-dynamic`), each once, in table order."""
    return tuple(dict.fromkeys(v.name for v in variants()))


def get_variant(key: str) -> Variant:
    """"executorch/int8-dynamic" -> its Variant."""
    found = {v.key: v for v in variants()}
    if key not in found:
        raise unknown_choice("variant", key, found)
    return found[key]


def find_variant(backend: str, name: str) -> Variant:
    """(backend, "int8-dynamic") -> its Variant; an error lists that backend's variants."""
    mine = {v.name: v for v in variants(backend)}
    if name not in mine:
        raise UserError(f"backend {backend} has no variant {name!r}; its variants: {', '.join(mine)}")
    return mine[name]
