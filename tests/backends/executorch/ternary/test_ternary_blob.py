"""Blob format: packing round trip, TWN, exact ternary detection, and every
malformed variant rejected by the C++ validator (through its C API)."""

import struct

import numpy as np
import pytest

from backends.executorch.ternary import blob as B
from backends.executorch.ternary.kernel_api import validate_blob


def make_spec(n=70, k=130, bias=True, static=False, seed=0):
    rng = np.random.default_rng(seed)
    values, scales = B.twn_ternarize(rng.normal(size=(n, k)))
    act = B.ActivationQuant(B.ActMode.STATIC_PER_TENSOR, 0.03, -128, 127) if static else B.ActivationQuant()
    return B.TernaryLinearSpec(values, scales, rng.normal(size=n).astype(np.float32) if bias else None, act)


@pytest.mark.parametrize("n,k,bias,static", [(1, 1, False, False), (70, 130, True, True), (384, 1536, True, False)])
def test_round_trip(n, k, bias, static):
    spec = make_spec(n, k, bias, static)
    blob = B.pack_blob(spec)
    back = B.unpack_blob(blob)
    assert np.array_equal(back.values, spec.values)
    assert np.array_equal(back.scales, spec.scales)
    assert (back.bias is None) == (spec.bias is None)
    if bias:
        assert np.array_equal(back.bias, spec.bias)
    assert back.act == B.ActivationQuant(spec.act.mode, float(np.float32(spec.act.scale)), spec.act.qmin, spec.act.qmax)
    assert validate_blob(blob) == (0, "ok")
    # 2 bits per weight, K padded to 64, plus header, scales, bias, alignment.
    assert len(blob) <= 64 + (n + 15) // 16 * 16 * ((k + 63) // 64 * 16) + 8 * n + 128


def test_pack_layout_is_the_documented_one():
    values = np.zeros((17, 64), np.int8)
    values[0, 0], values[1, 2], values[5, 7], values[16, 4] = 1, -1, 1, -1
    packed = B.pack_codes(values)
    assert packed.size == 32 * 64 // 4  # N padded to 32, 2 bits per weight
    zero = 1 | 1 << 2 | 1 << 4 | 1 << 6
    # code = value + 1; pos = 4 * column + k % 4 -> byte pos % 16, bits 2 * (pos // 16)
    assert packed[0] == (2 | 1 << 2 | 1 << 4 | 1 << 6)  # (n0, k0): pos 0
    assert packed[6] == (0 | 1 << 2 | 1 << 4 | 1 << 6)  # (n1, k2): pos 6
    assert packed[16 + 7] == (1 | 2 << 2 | 1 << 4 | 1 << 6)  # (n5, k7): group 1, pos 23
    second_panel = 64 * 4  # K_padded * 4 bytes per panel
    assert packed[second_panel + 16] == (0 | 1 << 2 | 1 << 4 | 1 << 6)  # (n16, k4): group 1, pos 0
    others = np.delete(packed, [0, 6, 23, second_panel + 16])
    assert np.all(others == zero)


def test_twn_matches_the_paper_rule():
    w = np.array([[0.1, -0.9, 0.5, 0.0, -0.05, 1.3]], np.float32)
    values, scales = B.twn_ternarize(w)
    delta = 0.7 * np.abs(w).mean()
    assert np.array_equal(values[0], np.sign(w[0]) * (np.abs(w[0]) > delta))
    assert scales[0] == pytest.approx(np.abs(w[0])[np.abs(w[0]) > delta].mean())


def test_detect_ternary_is_exact():
    spec = make_spec()
    dense = spec.dense_weight()
    values, scales = B.detect_ternary(dense)
    assert np.array_equal(values, spec.values) and np.allclose(scales, spec.scales)
    perturbed = dense.copy()
    perturbed[3, np.flatnonzero(perturbed[3])[0]] *= 1.001  # one value off by 0.1%
    assert B.detect_ternary(perturbed) is None
    assert B.detect_ternary(np.random.default_rng(1).normal(size=(8, 8))) is None
    four_levels = np.array([[0.5, -0.5, 0.25, 0.0]], np.float32)
    assert B.detect_ternary(four_levels) is None


def _field(blob: bytes, offset: int, fmt: str, value) -> bytes:
    """Overwrite a header field and recompute the checksum, so the check under test is reached."""
    b = bytearray(blob)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<I", b, 60, B.checksum(bytes(b)))
    return bytes(b)


def _malformed(good: bytes):
    scales_offset = struct.unpack_from("<I", good, 40)[0]
    flipped = bytearray(good)
    flipped[100] ^= 0x10
    code3 = bytearray(good)
    code3[64] = 0xFF
    return {
        "empty": (b"", "TooSmall"),
        "truncated header": (good[:40], "TooSmall"),
        "truncated payload": (good[:-4], "SizeMismatch"),
        "trailing bytes": (good + b"\0" * 4, "SizeMismatch"),
        "bad magic": (_field(good, 0, "<4s", b"XTRN"), "BadMagic"),
        "bad version": (_field(good, 4, "<H", 9), "BadVersion"),
        "bad header size": (_field(good, 6, "<H", 32), "BadHeader"),
        "N zero": (_field(good, 8, "<I", 0), "BadShape"),
        "N*K overflow": (_field(_field(good, 12, "<I", 1 << 31), 16, "<I", 1 << 31), "BadShape"),
        "K_padded wrong": (_field(good, 16, "<I", 64), "BadShape"),
        "N disagrees with sizes": (_field(good, 8, "<I", 71), "BadSection"),
        "act mode": (_field(good, 20, "<B", 7), "BadActivation"),
        "static scale NaN": (_field(good, 24, "<f", float("nan")), "BadActivation"),
        "section past end": (_field(good, 40, "<I", 0xFFFFFFC0), "BadSection"),
        "section size": (_field(good, 36, "<I", 8), "BadSection"),
        "checksum": (bytes(flipped), "ChecksumMismatch"),
        "weight code 3": (_field(bytes(code3), 0, "<4s", b"DTRN"), "BadWeightCode"),
        "negative row scale": (_field(good, scales_offset, "<f", -1.0), "BadScale"),
    }


STATUS_CODES = {"TooSmall": 1, "BadMagic": 2, "BadVersion": 3, "BadHeader": 4, "BadShape": 5,
                "BadActivation": 6, "BadSection": 7, "SizeMismatch": 8, "ChecksumMismatch": 9,
                "BadWeightCode": 10, "BadScale": 11}


@pytest.mark.parametrize("case", list(_malformed(B.pack_blob(make_spec(static=True)))))
def test_malformed_blob_rejected_by_cpp_validator(case):
    blob, expected = _malformed(B.pack_blob(make_spec(static=True)))[case]
    status, name = validate_blob(blob)
    assert status == STATUS_CODES[expected], f"{case}: expected {expected}, validator said {status} ({name})"


def test_python_reader_rejects_corruption_with_a_named_error():
    blob = bytearray(B.pack_blob(make_spec()))
    blob[200] ^= 1
    with pytest.raises(B.BlobFormatError, match="checksum"):
        B.unpack_blob(bytes(blob))
