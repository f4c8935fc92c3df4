"""Class names defined in a classes.dex, read from its header tables (no Android tools needed).

Layout (dex format, all little-endian u4): string_ids at header 0x38/0x3C, type_ids at
0x40/0x44, class_defs at 0x60/0x64. Each class_def starts with its type index; a type
points at a string holding the descriptor, e.g. "Lorg/pytorch/executorch/Module;".
"""

import struct


def _uleb128(data: bytes, pos: int) -> int:
    while data[pos] & 0x80:
        pos += 1
    return pos + 1


def _string(data: bytes, string_ids_off: int, index: int) -> str:
    (offset,) = struct.unpack_from("<I", data, string_ids_off + 4 * index)
    start = _uleb128(data, offset)  # skip the UTF-16 length
    end = data.index(b"\0", start)
    return data[start:end].decode("utf-8", errors="replace")  # MUTF-8 == UTF-8 for class names


def dex_class_names(data: bytes) -> list[str]:
    """Dotted names (org.pytorch.executorch.Module) of every class the dex defines."""
    if not data.startswith(b"dex\n"):
        raise ValueError(f"not a dex file (magic {data[:8]!r})")
    string_ids_off, _, type_ids_off = struct.unpack_from("<III", data, 0x3C)
    class_defs_size, class_defs_off = struct.unpack_from("<II", data, 0x60)
    names = []
    for i in range(class_defs_size):
        (type_idx,) = struct.unpack_from("<I", data, class_defs_off + 32 * i)
        (descriptor_idx,) = struct.unpack_from("<I", data, type_ids_off + 4 * type_idx)
        descriptor = _string(data, string_ids_off, descriptor_idx)
        names.append(descriptor[1:-1].replace("/", "."))
    return names
