// Blob format of one ternary Linear, and its validating parser.
//
// The layout is documented in ../README.md ("Blob format"); blob.py writes it.
// The parser never trusts a field: every size is checked in 64-bit arithmetic
// against the blob length before any section is read, so a malformed blob
// yields a BlobStatus and never an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace dynaedge {
namespace ternary {

constexpr uint32_t kMagic = 0x4E525444u;  // bytes "DTRN" read little-endian
constexpr uint16_t kVersion = 1;
constexpr uint32_t kHeaderSize = 64;
constexpr uint32_t kBlockK = 64;  // K is padded to a multiple of this
constexpr uint32_t kPanelN = 16;  // N is padded to a multiple of this
constexpr uint32_t kSectionAlign = 64;
// Bounds N and K so that 2 * 128 * K_padded fits an int32 accumulator with
// room to spare, and N * K_padded / 4 fits the u32 section sizes.
constexpr uint32_t kMaxDim = 1u << 20;

// Weight codes, 2 bits each: code = weight + 1. Code 3 is invalid.
constexpr uint8_t kCodeMinusOne = 0;
constexpr uint8_t kCodeZero = 1;
constexpr uint8_t kCodePlusOne = 2;

// Weight layout: panels of 16 output columns; in a panel, one 16-byte group per
// 4 consecutive k. The 64 codes of a group sit at pos = 4 * column + (k % 4),
// in byte pos % 16, bits 2 * (pos / 16). One 16-byte load expands (shift by
// 0/2/4/6, mask 3) into 64 bytes = 16 columns x 4 k, the operand layout of
// vpdpbusd and of NEON sdot (4 columns x 4 k per 128-bit register).
inline uint32_t padded_n(uint32_t n) { return (n + kPanelN - 1) / kPanelN * kPanelN; }

struct CodeLocation {
  size_t byte;
  unsigned shift;
};

inline CodeLocation code_location(size_t n, size_t k, size_t k_padded) {
  const size_t pos = 4 * (n % kPanelN) + k % 4;
  return {(n / kPanelN) * k_padded * 4 + (k / 4) * 16 + pos % 16, static_cast<unsigned>(2 * (pos / 16))};
}

enum class ActMode : uint8_t {
  DynamicPerRow = 0,  // scale_m = absmax(x_m) / qmax, computed at run time
  StaticPerTensor = 1,  // scale from the blob (quantization-aware training)
};

enum class BlobStatus : int {
  Ok = 0,
  TooSmall = 1,
  BadMagic = 2,
  BadVersion = 3,
  BadHeader = 4,  // header size, reserved bytes or flags
  BadShape = 5,  // N, K or K_padded out of range or inconsistent
  BadActivation = 6,  // activation mode, scale or quant range
  BadSection = 7,  // section offset/size outside the blob or overlapping
  SizeMismatch = 8,  // total size field differs from the blob length
  ChecksumMismatch = 9,
  BadWeightCode = 10,  // code 3, or a nonzero code in the K padding
  BadScale = 11,  // non-finite or negative row scale, non-finite bias
};

const char* blob_status_name(BlobStatus status);

// A non-owning view into a blob that passed parse_blob.
struct TernaryView {
  uint32_t n = 0;
  uint32_t k = 0;
  uint32_t k_padded = 0;
  uint32_t n_padded = 0;
  ActMode act_mode = ActMode::DynamicPerRow;
  float act_scale = 0.0f;
  int32_t act_qmin = -127;
  int32_t act_qmax = 127;
  const uint8_t* weights = nullptr;  // n_padded * k_padded / 4 bytes
  const uint8_t* scales = nullptr;  // n little-endian floats, maybe unaligned
  const uint8_t* bias = nullptr;  // n floats, or nullptr when absent
};

// The weights of one Linear, copied out of a validated blob so that the
// delegate's processed buffer can be freed after init.
struct TernaryLinear {
  uint32_t n = 0;
  uint32_t k = 0;
  uint32_t k_padded = 0;
  uint32_t n_padded = 0;
  ActMode act_mode = ActMode::DynamicPerRow;
  float act_scale = 0.0f;
  int32_t act_qmin = -127;
  int32_t act_qmax = 127;
  bool has_bias = false;
  std::vector<uint8_t> weights;
  // Both padded to n_padded with zeros so SIMD epilogues load whole panels.
  std::vector<float> scales;
  std::vector<float> bias;

  size_t panel_bytes() const { return static_cast<size_t>(k_padded) * 4; }
};

// A little-endian field of a blob (memcpy: fields may be unaligned).
template <typename T>
inline T read_le(const uint8_t* data, size_t offset) {
  T value;
  std::memcpy(&value, data + offset, sizeof(T));
  return value;
}

// `count` little-endian floats, all finite (and >= 0 unless allow_negative).
bool floats_ok(const uint8_t* bytes, uint32_t count, bool allow_negative);

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);

// Checksum as stored in the header: CRC32 over the header without its last
// 4 bytes (the checksum field), then over everything after the header.
uint32_t blob_checksum(const uint8_t* data, size_t size);

BlobStatus parse_blob(const uint8_t* data, size_t size, TernaryView* out);

TernaryLinear copy_linear(const TernaryView& view);

}  // namespace ternary
}  // namespace dynaedge
