"""The blob of one fused block (runtime/ternary_block.h): its Linears as complete one-Linear blobs
(blob.py) plus the LayerNorm that follows them, if any. Layout in README.md ("Block blob"),
validated field by field by runtime/ternary_block.cpp."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from .blob import HEADER_SIZE, SECTION_ALIGN, BlobFormatError, TernaryLinearSpec, _round_up, checksum, pack_blob

MAGIC = b"DTRB"
VERSION = 1
FLAG_RESIDUAL_FIRST = 1  # the delegate's first input is the residual, its second x

# magic, version, header_size, kind, flags, reserved16, hidden, eps, reserved32,
# 4 x (offset, size): first Linear, second Linear, norm weight, norm bias; total_size, checksum
_HEADER = struct.Struct("<4sHHBBHIfIIIIIIIIIII")
assert _HEADER.size == HEADER_SIZE


class BlockKind(IntEnum):
    LINEAR_ADD_NORM = 1  # y = LayerNorm(residual + Linear(x))
    FFN_ADD_NORM = 2     # y = LayerNorm(x + Linear2(GELU(Linear1(x))))
    QKV = 3              # (q, k, v) = (Linear1(x), Linear2(x), Linear3(x))


LINEARS = {BlockKind.LINEAR_ADD_NORM: 1, BlockKind.FFN_ADD_NORM: 2, BlockKind.QKV: 3}


@dataclass(frozen=True)
class TernaryBlockSpec:
    kind: BlockKind
    linears: tuple[TernaryLinearSpec, ...]   # LINEARS[kind] of them
    norm_weight: np.ndarray | None           # float32 [hidden]; None for QKV
    norm_bias: np.ndarray | None
    eps: float                               # 0 for QKV
    residual_first: bool = False             # LINEAR_ADD_NORM: inputs arrive as (residual, x)

    @property
    def hidden(self) -> int:
        """The LayerNorm's width; QKV: the input width."""
        if self.kind == BlockKind.QKV:
            return self.linears[0].k
        return int(np.asarray(self.norm_weight).shape[0])


def _check(spec: TernaryBlockSpec) -> None:
    want = LINEARS[spec.kind]
    if len(spec.linears) != want:
        raise BlobFormatError(f"a {spec.kind.name} block holds {want} Linear(s), got {len(spec.linears)}")
    hidden, shapes = spec.hidden, [(s.n, s.k) for s in spec.linears]
    first = spec.linears[0]
    if spec.kind == BlockKind.QKV:
        if any(k != hidden for _, k in shapes) or spec.eps != 0 or spec.norm_weight is not None:
            raise BlobFormatError(f"QKV: Linears {shapes} must share their input width, with no LayerNorm")
        return
    chained = (first.n == hidden if want == 1 else
               first.k == hidden and spec.linears[1].k == first.n and spec.linears[1].n == hidden)
    if not chained:
        raise BlobFormatError(f"{spec.kind.name}: Linear shapes {shapes} do not fit a LayerNorm of width {hidden}")
    if not (np.isfinite(spec.eps) and spec.eps > 0):
        raise BlobFormatError(f"LayerNorm eps must be finite and > 0, got {spec.eps}")
    if any(np.asarray(a).shape != (hidden,) or not np.all(np.isfinite(a)) for a in (spec.norm_weight, spec.norm_bias)):
        raise BlobFormatError(f"LayerNorm weight and bias must be {hidden} finite values each")


def pack_block_blob(spec: TernaryBlockSpec) -> bytes:
    _check(spec)
    hidden = spec.hidden
    parts = [pack_blob(s) for s in spec.linears]   # the four slots: README.md "Block blob"
    if spec.kind == BlockKind.LINEAR_ADD_NORM:
        parts.append(b"")
    if spec.kind == BlockKind.QKV:
        parts.append(b"")
    else:
        parts += [np.ascontiguousarray(a, dtype="<f4").tobytes() for a in (spec.norm_weight, spec.norm_bias)]
    sections, end = [], HEADER_SIZE
    for part in parts:
        offset = _round_up(end, SECTION_ALIGN) if part else 0
        sections.append((offset, len(part)))
        end = offset + len(part) if part else end
    body = bytearray(end)
    for part, (offset, size) in zip(parts, sections):
        body[offset:offset + size] = part
    flags = FLAG_RESIDUAL_FIRST if spec.residual_first else 0
    fields = [f for section in sections for f in section]
    body[:HEADER_SIZE] = _HEADER.pack(MAGIC, VERSION, HEADER_SIZE, int(spec.kind), flags, 0, hidden,
                                      float(spec.eps), 0, *fields, end, 0)
    body[HEADER_SIZE - 4:HEADER_SIZE] = struct.pack("<I", checksum(bytes(body)))
    return bytes(body)
