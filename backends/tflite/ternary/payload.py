"""custom_options of one DYNAEDGE_TERNARY_FC op: a 16-byte DTFC header + a ternary blob.

The blob is the ExecuTorch delegate's format (backends/executorch/ternary/blob.py: magic "DTRN",
2-bit codes, per-row scales, bias, CRC32), so the two runtimes share one validated layout.
The header adds what a TFLite node needs beyond the Linear: FULLY_CONNECTED's keep_num_dims.
runtime/ternary_fc_op.cpp parses the same layout.
"""

from __future__ import annotations

import struct

from backends.executorch.ternary.blob import BlobFormatError, TernaryLinearSpec, pack_blob, unpack_blob

OP_NAME = "DYNAEDGE_TERNARY_FC"
MAGIC = b"DTFC"
VERSION = 1
FLAG_KEEP_NUM_DIMS = 1
_HEADER = struct.Struct("<4sHHBBHI")  # magic, version, header size, flags, reserved u8, reserved u16, blob size
assert _HEADER.size == 16


def pack_payload(spec: TernaryLinearSpec, keep_num_dims: bool) -> bytes:
    blob = pack_blob(spec)
    return _HEADER.pack(MAGIC, VERSION, _HEADER.size, FLAG_KEEP_NUM_DIMS if keep_num_dims else 0, 0, 0,
                        len(blob)) + blob


def unpack_payload(data: bytes) -> tuple[TernaryLinearSpec, bool]:
    if len(data) < _HEADER.size:
        raise BlobFormatError(f"custom_options of {len(data)} bytes, shorter than the {_HEADER.size}-byte header")
    magic, version, size, flags, _, _, blob_size = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION or size != _HEADER.size:
        raise BlobFormatError(f"expected {MAGIC!r} version {VERSION}, found {magic!r} version {version}")
    if blob_size != len(data) - size:
        raise BlobFormatError(f"header says {blob_size} blob bytes, custom_options hold {len(data) - size}")
    return unpack_blob(data[size:]), bool(flags & FLAG_KEEP_NUM_DIMS)
