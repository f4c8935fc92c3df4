"""The 2-bit blob of one ternary Linear: ternary detection, packing, unpacking.

The layout (README.md, "Blob format") is shared with runtime/ternary_blob.cpp,
which validates every field before use. Only numpy here: no torch import, so
the format can be read by tools that do not need a model.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

MAGIC = b"DTRN"
VERSION = 1
HEADER_SIZE = 64
BLOCK_K = 64  # K is padded to a multiple of this
PANEL_N = 16  # N is padded to a multiple of this (one SIMD panel of columns)
SECTION_ALIGN = 64
MAX_DIM = 1 << 20
FLAG_HAS_BIAS = 1

# magic, version, header_size, N, K, K_padded, act_mode, flags, reserved,
# act_scale, act_qmin, act_qmax, 3 x (offset, size), total_size, checksum
_HEADER = struct.Struct("<4sHHIIIBBHfhhIIIIIIII")
assert _HEADER.size == HEADER_SIZE


class ActMode(IntEnum):
    DYNAMIC_PER_ROW = 0  # scale_m = absmax(x_m) / qmax at run time
    STATIC_PER_TENSOR = 1  # scale fixed at export (quantization-aware training)


class BlobFormatError(ValueError):
    """A blob that does not follow the format; the message names the field."""


@dataclass(frozen=True)
class ActivationQuant:
    """How the delegate quantizes its fp32 input to int8 (symmetric, zero point 0)."""

    mode: ActMode = ActMode.DYNAMIC_PER_ROW
    scale: float = 0.0  # only for STATIC_PER_TENSOR
    qmin: int = -127
    qmax: int = 127

    def __post_init__(self) -> None:
        if not (-128 <= self.qmin <= -1 and 1 <= self.qmax <= 127):
            raise ValueError(f"activation range [{self.qmin}, {self.qmax}] must lie in [-128, 127] around 0")
        if self.mode == ActMode.STATIC_PER_TENSOR and not (np.isfinite(self.scale) and self.scale > 0):
            raise ValueError(f"static activation scale must be finite and > 0, got {self.scale}")
        if self.mode == ActMode.DYNAMIC_PER_ROW and self.scale != 0.0:
            raise ValueError(f"dynamic activation quantization takes no scale, got {self.scale}")


@dataclass(frozen=True)
class TernaryLinearSpec:
    """One Linear y = x W^T + b with W[n, :] = scales[n] * values[n, :]."""

    values: np.ndarray  # int8 [N, K] in {-1, 0, 1}
    scales: np.ndarray  # float32 [N], >= 0
    bias: np.ndarray | None  # float32 [N]
    act: ActivationQuant = ActivationQuant()

    @property
    def n(self) -> int:
        return int(self.values.shape[0])

    @property
    def k(self) -> int:
        return int(self.values.shape[1])

    def dense_weight(self) -> np.ndarray:
        return self.values.astype(np.float32) * self.scales[:, None]


def twn_ternarize(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TWN per output row: threshold 0.7 * mean|w|, alpha = mean |w| above it.

    Returns (values int8 [N, K], scales float32 [N]); W ~ scales[:, None] * values.
    """
    w = np.asarray(weight, dtype=np.float32)
    abs_w = np.abs(w)
    delta = 0.7 * abs_w.mean(axis=1, keepdims=True)
    keep = abs_w > delta
    count = np.maximum(keep.sum(axis=1), 1)
    scales = ((abs_w * keep).sum(axis=1) / count).astype(np.float32)
    values = (np.sign(w) * keep).astype(np.int8)
    return values, scales


def detect_ternary(weight: np.ndarray, rtol: float = 1e-5) -> tuple[np.ndarray, np.ndarray] | None:
    """(values, scales) if every row of `weight` only holds {-a_n, 0, +a_n}, else None.

    Exact up to `rtol` relative to a_n = max|w_n|, so a merely small or sparse
    float weight is never mistaken for a ternary one.
    """
    w = np.asarray(weight, dtype=np.float32)
    if w.ndim != 2 or w.size == 0 or not np.all(np.isfinite(w)):
        return None
    abs_w = np.abs(w)
    a = abs_w.max(axis=1, keepdims=True)
    nonzero = abs_w != 0
    if not np.all(~nonzero | (np.abs(abs_w - a) <= rtol * a)):
        return None
    values = (np.sign(w) * nonzero).astype(np.int8)
    return values, a[:, 0].astype(np.float32)


def _round_up(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def pack_codes(values: np.ndarray) -> np.ndarray:
    """int8 [N, K] in {-1,0,1} -> uint8 [N_padded * K_padded / 4] (padding: code 1 = 0).

    Code = value + 1. Panels of 16 output columns; in a panel one 16-byte
    group per 4 consecutive k; the group's 64 codes sit at
    pos = 4 * column + k % 4, in byte pos % 16, bits 2 * (pos / 16). A kernel
    expands one 16-byte load into 16 columns x 4 k with shifts and a mask.
    """
    n, k = values.shape
    n_pad, k_pad = _round_up(n, PANEL_N), _round_up(k, BLOCK_K)
    codes = np.ones((n_pad, k_pad), dtype=np.uint8)
    codes[:n, :k] = values.astype(np.int16) + 1
    # [panel, column, group, t] -> [panel, group, column * 4 + t] = pos
    pos = codes.reshape(n_pad // PANEL_N, PANEL_N, k_pad // 4, 4).transpose(0, 2, 1, 3)
    planes = pos.reshape(n_pad // PANEL_N, k_pad // 4, 4, 16)  # pos = 16 * j + byte
    packed = planes[:, :, 0] | (planes[:, :, 1] << 2) | (planes[:, :, 2] << 4) | (planes[:, :, 3] << 6)
    return packed.reshape(-1)


def unpack_codes(packed: np.ndarray, n: int, k: int) -> np.ndarray:
    n_pad, k_pad = _round_up(n, PANEL_N), _round_up(k, BLOCK_K)
    groups = packed.reshape(n_pad // PANEL_N, k_pad // 4, 1, 16)
    planes = (groups >> np.array([0, 2, 4, 6], dtype=np.uint8).reshape(1, 1, 4, 1)) & 3
    pos = planes.reshape(n_pad // PANEL_N, k_pad // 4, PANEL_N, 4).transpose(0, 2, 1, 3)
    return pos.reshape(n_pad, k_pad)[:n, :k].astype(np.int8) - 1


def checksum(blob: bytes) -> int:
    """CRC32 of the header without its checksum field, then the payload."""
    return zlib.crc32(blob[HEADER_SIZE:], zlib.crc32(blob[: HEADER_SIZE - 4])) & 0xFFFFFFFF


def pack_blob(spec: TernaryLinearSpec) -> bytes:
    n, k = spec.n, spec.k
    if not (1 <= n <= MAX_DIM and 1 <= k <= MAX_DIM):
        raise BlobFormatError(f"Linear shape N={n}, K={k} out of range 1..{MAX_DIM}")
    if not np.isin(spec.values, (-1, 0, 1)).all():
        raise BlobFormatError("ternary values must be in {-1, 0, 1}")
    scales = np.ascontiguousarray(spec.scales, dtype="<f4")
    if scales.shape != (n,) or not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise BlobFormatError(f"scales must be {n} finite values >= 0, got shape {scales.shape}")
    weights = pack_codes(spec.values).tobytes()
    w_off = HEADER_SIZE
    s_off = _round_up(w_off + len(weights), SECTION_ALIGN)
    end = s_off + 4 * n
    b_off, b_size = 0, 0
    if spec.bias is not None:
        bias = np.ascontiguousarray(spec.bias, dtype="<f4")
        if bias.shape != (n,) or not np.all(np.isfinite(bias)):
            raise BlobFormatError(f"bias must be {n} finite values, got shape {bias.shape}")
        b_off, b_size = _round_up(end, SECTION_ALIGN), 4 * n
        end = b_off + b_size
    body = bytearray(end)
    body[w_off : w_off + len(weights)] = weights
    body[s_off : s_off + 4 * n] = scales.tobytes()
    if spec.bias is not None:
        body[b_off:end] = bias.tobytes()
    header = _HEADER.pack(
        MAGIC, VERSION, HEADER_SIZE, n, k, _round_up(k, BLOCK_K), int(spec.act.mode),
        FLAG_HAS_BIAS if spec.bias is not None else 0, 0, spec.act.scale, spec.act.qmin, spec.act.qmax,
        w_off, len(weights), s_off, 4 * n, b_off, b_size, end, 0,
    )
    body[:HEADER_SIZE] = header
    body[HEADER_SIZE - 4 : HEADER_SIZE] = struct.pack("<I", checksum(bytes(body)))
    return bytes(body)


def unpack_blob(blob: bytes) -> TernaryLinearSpec:
    """Inverse of pack_blob; checks the fields a reader needs (the C++ parser checks all)."""
    if len(blob) < HEADER_SIZE:
        raise BlobFormatError(f"blob of {len(blob)} bytes is shorter than the {HEADER_SIZE}-byte header")
    (magic, version, _, n, k, kp, mode, flags, _, act_scale, qmin, qmax,
     w_off, w_size, s_off, _, b_off, _, total, crc) = _HEADER.unpack_from(blob)
    if magic != MAGIC or version != VERSION:
        raise BlobFormatError(f"expected magic {MAGIC!r} version {VERSION}, found {magic!r} version {version}")
    if total != len(blob) or crc != checksum(blob):
        raise BlobFormatError(f"size {len(blob)} (header says {total}) or checksum does not match")
    packed = np.frombuffer(blob, np.uint8, w_size, w_off)
    scales = np.frombuffer(blob, "<f4", n, s_off).astype(np.float32)
    bias = np.frombuffer(blob, "<f4", n, b_off).astype(np.float32) if flags & FLAG_HAS_BIAS else None
    act = ActivationQuant(ActMode(mode), float(act_scale), int(qmin), int(qmax))
    return TernaryLinearSpec(unpack_codes(packed, n, k), scales, bias, act)
