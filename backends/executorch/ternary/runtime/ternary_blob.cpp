#include "ternary_blob.h"

#include <cmath>
#include <cstring>

namespace dynaedge {
namespace ternary {

static_assert(
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
    "the blob is little-endian and read with memcpy; add byte swaps for a "
    "big-endian target");

namespace {

// Header field offsets; see README.md "Blob format".
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 4;
constexpr size_t kOffHeaderSize = 6;
constexpr size_t kOffN = 8;
constexpr size_t kOffK = 12;
constexpr size_t kOffKPadded = 16;
constexpr size_t kOffActMode = 20;
constexpr size_t kOffFlags = 21;
constexpr size_t kOffReserved = 22;
constexpr size_t kOffActScale = 24;
constexpr size_t kOffActQmin = 28;
constexpr size_t kOffActQmax = 30;
constexpr size_t kOffWeightsOffset = 32;
constexpr size_t kOffWeightsSize = 36;
constexpr size_t kOffScalesOffset = 40;
constexpr size_t kOffScalesSize = 44;
constexpr size_t kOffBiasOffset = 48;
constexpr size_t kOffBiasSize = 52;
constexpr size_t kOffTotalSize = 56;
constexpr size_t kOffChecksum = 60;

constexpr uint8_t kFlagHasBias = 1;

struct Section {
  uint64_t offset;
  uint64_t size;
};

// A section must start after the header (or after the previous section),
// be aligned, and end inside the blob. All in 64-bit so nothing wraps.
bool section_ok(const Section& s, uint64_t min_start, uint64_t total) {
  if (s.offset < min_start || s.offset % kSectionAlign != 0) return false;
  return s.offset <= total && s.size <= total - s.offset;
}

const uint32_t* crc_table() {
  static uint32_t table[256];
  static bool ready = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)ready;
  return table;
}

// Codes are 2 bits; a code equals 3 exactly when both of its bits are set.
bool has_code_three(const uint8_t* bytes, size_t size) {
  uint8_t bad = 0;
  for (size_t i = 0; i < size; ++i) bad |= bytes[i] & (bytes[i] >> 1) & 0x55;
  return bad != 0;
}

inline int code_at(const TernaryView& v, size_t n, size_t k) {
  const CodeLocation at = code_location(n, k, v.k_padded);
  return (v.weights[at.byte] >> at.shift) & 3;
}

// Padding codes (k >= K or n >= N) must be "zero" so that no path depends on
// padded activations and padded columns stay 0.
bool padding_is_zero(const TernaryView& v) {
  for (uint32_t n = 0; n < v.n_padded; ++n) {
    for (uint32_t k = n < v.n ? v.k : 0; k < v.k_padded; ++k) {
      if (code_at(v, n, k) != kCodeZero) return false;
    }
  }
  return true;
}

}  // namespace

const char* blob_status_name(BlobStatus status) {
  switch (status) {
    case BlobStatus::Ok: return "ok";
    case BlobStatus::TooSmall: return "blob shorter than its 64-byte header";
    case BlobStatus::BadMagic: return "bad magic (expected 'DTRN')";
    case BlobStatus::BadVersion: return "unsupported blob version (expected 1)";
    case BlobStatus::BadHeader: return "bad header size, flags or reserved bytes";
    case BlobStatus::BadShape: return "N/K out of range or K_padded != round_up(K, 64)";
    case BlobStatus::BadActivation: return "bad activation mode, scale or quant range";
    case BlobStatus::BadSection: return "section outside the blob, misaligned, overlapping or of the wrong size";
    case BlobStatus::SizeMismatch: return "header total size differs from the blob length";
    case BlobStatus::ChecksumMismatch: return "CRC32 checksum mismatch";
    case BlobStatus::BadWeightCode: return "weight code 3, or nonzero code in K padding";
    case BlobStatus::BadScale: return "non-finite or negative row scale, or non-finite bias";
  }
  return "unknown status";
}

bool floats_ok(const uint8_t* bytes, uint32_t count, bool allow_negative) {
  for (uint32_t i = 0; i < count; ++i) {
    const float f = read_le<float>(bytes, static_cast<size_t>(i) * 4);
    if (!std::isfinite(f) || (!allow_negative && f < 0.0f)) return false;
  }
  return true;
}

uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc) {
  const uint32_t* table = crc_table();
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

uint32_t blob_checksum(const uint8_t* data, size_t size) {
  const uint32_t head = crc32(data, kOffChecksum);
  return crc32(data + kHeaderSize, size - kHeaderSize, head);
}

BlobStatus parse_blob(const uint8_t* data, size_t size, TernaryView* out) {
  if (data == nullptr || size < kHeaderSize) return BlobStatus::TooSmall;
  if (read_le<uint32_t>(data, kOffMagic) != kMagic) return BlobStatus::BadMagic;
  if (read_le<uint16_t>(data, kOffVersion) != kVersion) return BlobStatus::BadVersion;
  if (read_le<uint16_t>(data, kOffHeaderSize) != kHeaderSize ||
      read_le<uint16_t>(data, kOffReserved) != 0 ||
      (data[kOffFlags] & ~kFlagHasBias) != 0) {
    return BlobStatus::BadHeader;
  }
  if (read_le<uint32_t>(data, kOffTotalSize) != size) return BlobStatus::SizeMismatch;

  TernaryView v;
  v.n = read_le<uint32_t>(data, kOffN);
  v.k = read_le<uint32_t>(data, kOffK);
  v.k_padded = read_le<uint32_t>(data, kOffKPadded);
  if (v.n == 0 || v.n > kMaxDim || v.k == 0 || v.k > kMaxDim) return BlobStatus::BadShape;
  const uint64_t k_padded = (static_cast<uint64_t>(v.k) + kBlockK - 1) / kBlockK * kBlockK;
  if (v.k_padded != k_padded) return BlobStatus::BadShape;
  v.n_padded = padded_n(v.n);

  const uint8_t mode = data[kOffActMode];
  v.act_scale = read_le<float>(data, kOffActScale);
  v.act_qmin = read_le<int16_t>(data, kOffActQmin);
  v.act_qmax = read_le<int16_t>(data, kOffActQmax);
  if (mode > static_cast<uint8_t>(ActMode::StaticPerTensor)) return BlobStatus::BadActivation;
  v.act_mode = static_cast<ActMode>(mode);
  if (v.act_qmin < -128 || v.act_qmin > -1 || v.act_qmax < 1 || v.act_qmax > 127) {
    return BlobStatus::BadActivation;
  }
  if (v.act_mode == ActMode::StaticPerTensor &&
      !(std::isfinite(v.act_scale) && v.act_scale > 0.0f)) {
    return BlobStatus::BadActivation;
  }
  if (v.act_mode == ActMode::DynamicPerRow && v.act_scale != 0.0f) {
    return BlobStatus::BadActivation;
  }

  const bool has_bias = (data[kOffFlags] & kFlagHasBias) != 0;
  const Section weights{read_le<uint32_t>(data, kOffWeightsOffset), read_le<uint32_t>(data, kOffWeightsSize)};
  const Section scales{read_le<uint32_t>(data, kOffScalesOffset), read_le<uint32_t>(data, kOffScalesSize)};
  const Section bias{read_le<uint32_t>(data, kOffBiasOffset), read_le<uint32_t>(data, kOffBiasSize)};
  const uint64_t total = size;
  if (weights.size != static_cast<uint64_t>(v.n_padded) * v.k_padded / 4 ||
      scales.size != static_cast<uint64_t>(v.n) * 4 ||
      bias.size != (has_bias ? static_cast<uint64_t>(v.n) * 4 : 0) ||
      !section_ok(weights, kHeaderSize, total) ||
      !section_ok(scales, weights.offset + weights.size, total)) {
    return BlobStatus::BadSection;
  }
  if (has_bias ? !section_ok(bias, scales.offset + scales.size, total) : bias.offset != 0) {
    return BlobStatus::BadSection;
  }
  const uint64_t end = has_bias ? bias.offset + bias.size : scales.offset + scales.size;
  if (end != total) return BlobStatus::BadSection;  // no trailing bytes

  if (read_le<uint32_t>(data, kOffChecksum) != blob_checksum(data, size)) {
    return BlobStatus::ChecksumMismatch;
  }

  v.weights = data + weights.offset;
  v.scales = data + scales.offset;
  v.bias = has_bias ? data + bias.offset : nullptr;
  if (has_code_three(v.weights, weights.size) || !padding_is_zero(v)) {
    return BlobStatus::BadWeightCode;
  }
  if (!floats_ok(v.scales, v.n, false) || (has_bias && !floats_ok(v.bias, v.n, true))) {
    return BlobStatus::BadScale;
  }
  if (out != nullptr) *out = v;
  return BlobStatus::Ok;
}

TernaryLinear copy_linear(const TernaryView& v) {
  TernaryLinear t;
  t.n = v.n;
  t.k = v.k;
  t.k_padded = v.k_padded;
  t.n_padded = v.n_padded;
  t.act_mode = v.act_mode;
  t.act_scale = v.act_scale;
  t.act_qmin = v.act_qmin;
  t.act_qmax = v.act_qmax;
  t.weights.assign(v.weights, v.weights + static_cast<size_t>(v.n_padded) * v.k_padded / 4);
  t.scales.assign(v.n_padded, 0.0f);
  std::memcpy(t.scales.data(), v.scales, static_cast<size_t>(v.n) * 4);
  t.has_bias = v.bias != nullptr;
  t.bias.assign(v.n_padded, 0.0f);
  if (t.has_bias) std::memcpy(t.bias.data(), v.bias, static_cast<size_t>(v.n) * 4);
  return t;
}

}  // namespace ternary
}  // namespace dynaedge
