// Test-only C++ writer of the blob format (the product writer is blob.py).
// Lets the C++ unit tests and the fuzz seed corpus run without Python.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "../ternary_blob.h"
#include "../ternary_block.h"

namespace dynaedge {
namespace ternary {
namespace testing {

struct LinearSpec {
  uint32_t n, k;
  std::vector<int8_t> weights;  // n * k values in {-1, 0, 1}
  std::vector<float> scales;  // n
  std::vector<float> bias;  // n or empty
  ActMode act_mode = ActMode::DynamicPerRow;
  float act_scale = 0.0f;
  int16_t act_qmin = -127, act_qmax = 127;
};

template <typename T>
inline void put(std::vector<uint8_t>& b, size_t offset, T value) {
  std::memcpy(b.data() + offset, &value, sizeof(T));
}

inline uint32_t round_up(uint64_t v, uint32_t a) { return static_cast<uint32_t>((v + a - 1) / a * a); }

// Recomputes the checksum after a test edits the header on purpose.
inline void reseal(std::vector<uint8_t>& b) {
  put<uint32_t>(b, 60, blob_checksum(b.data(), b.size()));
}

inline std::vector<uint8_t> build_blob(const LinearSpec& s) {
  const uint32_t kp = round_up(s.k, kBlockK);
  const uint32_t np = padded_n(s.n);
  const uint32_t w_off = kHeaderSize, w_size = np * kp / 4;
  const uint32_t s_off = round_up(w_off + w_size, kSectionAlign), s_size = s.n * 4;
  const bool has_bias = !s.bias.empty();
  const uint32_t b_off = has_bias ? round_up(s_off + s_size, kSectionAlign) : 0;
  const uint32_t b_size = has_bias ? s.n * 4 : 0;
  const uint32_t total = has_bias ? b_off + b_size : s_off + s_size;
  std::vector<uint8_t> b(total, 0);
  put<uint32_t>(b, 0, kMagic);
  put<uint16_t>(b, 4, kVersion);
  put<uint16_t>(b, 6, kHeaderSize);
  put<uint32_t>(b, 8, s.n);
  put<uint32_t>(b, 12, s.k);
  put<uint32_t>(b, 16, kp);
  b[20] = static_cast<uint8_t>(s.act_mode);
  b[21] = has_bias ? 1 : 0;
  put<float>(b, 24, s.act_scale);
  put<int16_t>(b, 28, s.act_qmin);
  put<int16_t>(b, 30, s.act_qmax);
  put<uint32_t>(b, 32, w_off);
  put<uint32_t>(b, 36, w_size);
  put<uint32_t>(b, 40, s_off);
  put<uint32_t>(b, 44, s_size);
  put<uint32_t>(b, 48, b_off);
  put<uint32_t>(b, 52, b_size);
  put<uint32_t>(b, 56, total);
  for (uint32_t n = 0; n < np; ++n) {
    for (uint32_t kk = 0; kk < kp; ++kk) {
      const bool real = n < s.n && kk < s.k;
      const int code = real ? s.weights[static_cast<size_t>(n) * s.k + kk] + 1 : kCodeZero;
      const CodeLocation at = code_location(n, kk, kp);
      b[w_off + at.byte] |= static_cast<uint8_t>(code << at.shift);
    }
  }
  std::memcpy(b.data() + s_off, s.scales.data(), s_size);
  if (has_bias) std::memcpy(b.data() + b_off, s.bias.data(), b_size);
  reseal(b);
  return b;
}

// A fused block (ternary_block.h): kind 1 with one Linear (n = hidden), kind 2
// with two (first.k = hidden, second.k = first.n, second.n = hidden), both
// with a LayerNorm; kind 3 (Qkv) with three Linears of k = hidden, no norm.
inline std::vector<uint8_t> build_block_blob(BlockKind kind, const std::vector<LinearSpec>& linears,
                                             const std::vector<float>& norm_weight,
                                             const std::vector<float>& norm_bias, float eps,
                                             bool residual_first = false, uint32_t hidden = 0) {
  std::vector<std::vector<uint8_t>> parts;  // by slot; empty = (0, 0)
  for (const LinearSpec& l : linears) parts.push_back(build_blob(l));
  if (kind == BlockKind::LinearAddNorm) parts.emplace_back();
  if (kind != BlockKind::Qkv) {
    for (const std::vector<float>* v : {&norm_weight, &norm_bias}) {
      std::vector<uint8_t> bytes(v->size() * 4);
      std::memcpy(bytes.data(), v->data(), bytes.size());
      parts.push_back(bytes);
    }
    hidden = static_cast<uint32_t>(norm_weight.size());
  } else {
    parts.emplace_back();
  }
  std::vector<uint32_t> offsets;
  uint32_t end = kHeaderSize;
  for (const auto& part : parts) {
    offsets.push_back(part.empty() ? 0 : round_up(end, kSectionAlign));
    if (!part.empty()) end = offsets.back() + static_cast<uint32_t>(part.size());
  }
  std::vector<uint8_t> b(end, 0);
  put<uint32_t>(b, 0, kBlockMagic);
  put<uint16_t>(b, 4, kBlockVersion);
  put<uint16_t>(b, 6, kHeaderSize);
  b[8] = static_cast<uint8_t>(kind);
  b[9] = residual_first ? 1 : 0;
  put<uint32_t>(b, 12, hidden);
  put<float>(b, 16, eps);
  for (size_t slot = 0; slot < parts.size(); ++slot) {
    put<uint32_t>(b, 24 + 8 * slot, offsets[slot]);
    put<uint32_t>(b, 28 + 8 * slot, static_cast<uint32_t>(parts[slot].size()));
    if (!parts[slot].empty()) std::memcpy(b.data() + offsets[slot], parts[slot].data(), parts[slot].size());
  }
  put<uint32_t>(b, 56, end);
  reseal(b);
  return b;
}

}  // namespace testing
}  // namespace ternary
}  // namespace dynaedge
