// One fuzz case: parse arbitrary bytes; if they validate, run the Linear on
// every available path and require identical output. Shared by the libFuzzer
// entry (fuzz_libfuzzer.cpp) and the standalone mutation driver
// (fuzz_driver.cpp). Under ASan/UBSan any out-of-bounds read aborts.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "../ternary_block.h"
#include "../ternary_kernel.h"

namespace dynaedge {
namespace ternary {
namespace fuzz {

// A fused block: parse; if valid and small, run it on every available path
// and require the scalar path's bits.
inline BlobStatus run_block_case(const uint8_t* data, size_t size) {
  TernaryBlock b;
  const BlobStatus status = parse_block(data, size, &b);
  if (status != BlobStatus::Ok) return status;
  const uint64_t work = static_cast<uint64_t>(b.first.n) * b.first.k_padded +
                        static_cast<uint64_t>(b.second.n) * b.second.k_padded +
                        static_cast<uint64_t>(b.third.n) * b.third.k_padded;
  if (work > (1u << 22)) return status;
  const size_t m = 3;
  if (b.kind == BlockKind::Qkv) {
    std::vector<float> x(m * b.hidden);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i * 37 % 251) - 125) * 0.03f;
    const size_t out = m * (b.first.n + b.second.n + b.third.n);
    std::vector<float> ref(out), y(out);
    Scratch s;
    float* r[3] = {ref.data(), ref.data() + m * b.first.n, ref.data() + m * (b.first.n + b.second.n)};
    if (!run_qkv(b, x.data(), m, r[0], r[1], r[2], &s, KernelPath::Scalar)) std::abort();
    for (KernelPath p : {KernelPath::Avx2, KernelPath::Avx512Vnni, KernelPath::Neon, KernelPath::NeonDot,
                         KernelPath::I8mm}) {
      if (!kernel_path_available(p)) continue;
      float* o[3] = {y.data(), y.data() + m * b.first.n, y.data() + m * (b.first.n + b.second.n)};
      if (!run_qkv(b, x.data(), m, o[0], o[1], o[2], &s, p)) std::abort();
      if (std::memcmp(y.data(), ref.data(), y.size() * sizeof(float)) != 0) std::abort();
    }
    return status;
  }
  std::vector<float> x(m * b.first.k), residual(m * b.hidden);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i * 37 % 251) - 125) * 0.03f;
  for (size_t i = 0; i < residual.size(); ++i) residual[i] = static_cast<float>(static_cast<int>(i * 11 % 97) - 48) * 0.05f;
  const float* r = b.kind == BlockKind::LinearAddNorm ? residual.data() : nullptr;
  std::vector<float> ref(m * b.hidden), y(m * b.hidden);
  BlockScratch scratch;
  if (!run_block(b, x.data(), r, m, ref.data(), &scratch, KernelPath::Scalar)) std::abort();
  for (KernelPath p : {KernelPath::Avx2, KernelPath::Avx512Vnni, KernelPath::Neon, KernelPath::NeonDot,
                       KernelPath::I8mm}) {
    if (!kernel_path_available(p)) continue;
    if (!run_block(b, x.data(), r, m, y.data(), &scratch, p)) std::abort();
    if (std::memcmp(y.data(), ref.data(), y.size() * sizeof(float)) != 0) std::abort();
  }
  return status;
}

// Returns the parse status; aborts if two paths disagree on a valid blob.
inline BlobStatus run_case(const uint8_t* data, size_t size) {
  if (is_block_blob(data, size)) return run_block_case(data, size);
  TernaryView view;
  const BlobStatus status = parse_blob(data, size, &view);
  if (status != BlobStatus::Ok) return status;
  // Keep each case cheap: the point is the parser, not big GEMMs.
  if (static_cast<uint64_t>(view.n) * view.k_padded > (1u << 22)) return status;
  const TernaryLinear w = copy_linear(view);
  const size_t m = 3;
  std::vector<float> x(m * w.k);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(static_cast<int>(i * 37 % 251) - 125) * 0.03f;
  std::vector<float> ref(m * w.n), y(m * w.n);
  Scratch scratch;
  if (!ternary_linear(w, x.data(), m, ref.data(), &scratch, KernelPath::Scalar)) std::abort();
  for (KernelPath p : {KernelPath::Avx2, KernelPath::Avx512Vnni, KernelPath::Neon, KernelPath::NeonDot,
                       KernelPath::I8mm}) {
    if (!kernel_path_available(p)) continue;
    if (!ternary_linear(w, x.data(), m, y.data(), &scratch, p)) std::abort();
    if (std::memcmp(y.data(), ref.data(), y.size() * sizeof(float)) != 0) std::abort();
  }
  return status;
}

// First input byte selects whether to recompute the checksum of the rest, so
// mutations reach the checks behind the CRC instead of all failing there.
inline BlobStatus run_input(const uint8_t* data, size_t size) {
  if (size == 0) return BlobStatus::TooSmall;
  std::vector<uint8_t> blob(data + 1, data + size);  // exact-size heap copy for ASan
  if ((data[0] & 1) != 0 && blob.size() >= kHeaderSize) {
    const uint32_t crc = blob_checksum(blob.data(), blob.size());
    std::memcpy(blob.data() + kHeaderSize - 4, &crc, 4);
  }
  return run_case(blob.data(), blob.size());
}

}  // namespace fuzz
}  // namespace ternary
}  // namespace dynaedge
