"""What an ExecuTorch runtime library registers, read from its bytes (it is never loaded or run).

    runtime_registry(lib_path, label) -> Registered(ops, delegates)

Operators: ExecuTorch registers each kernel under a "namespace::name.overload" string literal
("aten::add.out", "quantized_decomposed::dequantize_per_tensor.out", "aten::sym_size.int",
"aten::copy_"), the same name a method looks up when it loads a program. Every such string in
.rodata counts, in namespaces where at least one name carries an overload (that drops C++
runtime messages like "std::bad_cast"). Kernels also quote their own name in messages, so the
set may hold a few names that are compiled in but not registered: on executorch 1.5.1's host
libraries it equals the runtime's `_get_operator_names()` plus the two embedding_xbit helpers
(tests/exporter/android/test_deployable.py). It never misses a registered name.

Delegates: a backend registers as `static Backend backend{"XnnpackBackend", &instance}`, a
struct in .data whose two words are relocated pointers: to an identifier string in .rodata,
then to the backend object in .bss/.data. On the host libraries this finds exactly the
runtime's `_get_registered_backend_names()`.

ELF64 little-endian, AArch64 (the phone's library) or x86-64 (the host wheel's, for tests).
"""

import re
import struct
from dataclasses import dataclass
from pathlib import Path

from exporter.errors import UserError

RELATIVE_RELOCATION = {183: 1027, 62: 8}  # e_machine -> R_AARCH64_RELATIVE / R_X86_64_RELATIVE
OP_NAME = re.compile(rb"(?<![A-Za-z0-9_])([a-z_][a-z0-9_]*::[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)?)\0")
IDENTIFIER = re.compile(rb"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Registered:
    library: str  # how messages name it, e.g. "libexecutorch.so (react-native-executorch 0.8.4)"
    ops: frozenset[str]  # "aten::add.out"
    delegates: frozenset[str]  # "XnnpackBackend"


@dataclass(frozen=True)
class _Section:
    addr: int
    offset: int
    size: int

    def holds(self, addr: int) -> bool:
        return self.addr <= addr < self.addr + self.size


def _sections(data: bytes, path: Path) -> dict[str, _Section]:
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise UserError(f"{path}: not a 64-bit little-endian ELF library")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    rows = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize) for i in range(shnum)]
    names_at = rows[shstrndx][4] if rows else 0
    out = {}
    for name, _type, _flags, addr, offset, size in rows:
        start = names_at + name
        out[data[start:data.index(b"\0", start)].decode()] = _Section(addr, offset, size)
    missing = [s for s in (".rodata", ".rela.dyn", ".data") if s not in out]
    if missing:
        raise UserError(f"{path}: no {', '.join(missing)} section; cannot read what it registers")
    return out


def _ops(data: bytes, rodata: _Section) -> frozenset[str]:
    names = {m.decode() for m in OP_NAME.findall(data[rodata.offset:rodata.offset + rodata.size])}
    kernel_namespaces = {n.split("::")[0] for n in names if "." in n}
    return frozenset(n for n in names if n.split("::")[0] in kernel_namespaces)


def _delegates(data: bytes, sections: dict[str, _Section], relocation: int) -> frozenset[str]:
    rela, rodata = sections[".rela.dyn"], sections[".rodata"]
    pointers = {offset: addend for offset, info, addend in
                struct.iter_unpack("<QQq", data[rela.offset:rela.offset + rela.size - rela.size % 24])
                if info & 0xFFFFFFFF == relocation}
    objects = [sections[s] for s in (".bss", ".data") if s in sections]
    found = set()
    for where, target in pointers.items():
        if not (sections[".data"].holds(where) and rodata.holds(target)):
            continue
        start = target - rodata.addr + rodata.offset
        name = data[start:data.index(b"\0", start)]
        instance = pointers.get(where + 8)
        if IDENTIFIER.fullmatch(name) and instance is not None and any(s.holds(instance) for s in objects):
            found.add(name.decode())
    return frozenset(found)


def runtime_registry(lib_path: Path, label: str = "") -> Registered:
    """The operators and delegates an ExecuTorch runtime library registers (see module doc)."""
    lib_path = Path(lib_path)
    data = lib_path.read_bytes()
    sections = _sections(data, lib_path)
    machine, = struct.unpack_from("<H", data, 0x12)
    if machine not in RELATIVE_RELOCATION:
        raise UserError(f"{lib_path}: ELF machine {machine}; readable: AArch64 (183), x86-64 (62)")
    return Registered(library=label or lib_path.name, ops=_ops(data, sections[".rodata"]),
                      delegates=_delegates(data, sections, RELATIVE_RELOCATION[machine]))
