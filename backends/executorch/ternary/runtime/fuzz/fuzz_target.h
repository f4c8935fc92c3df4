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

// A deterministic input of n values: ((i * mul) % mod - mod / 2) * step.
inline std::vector<float> fuzz_input(size_t n, size_t mul, int mod, float step) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<float>(static_cast<int>(i * mul % mod) - mod / 2) * step;
  return v;
}

// run(path, out) on the scalar path, then on every other path this CPU has;
// aborts unless each run succeeds with the scalar path's exact bits.
template <typename Run>
void require_same_bits(size_t outputs, Run run) {
  std::vector<float> ref(outputs), y(outputs);
  if (!run(KernelPath::Scalar, ref.data())) std::abort();
  for (KernelPath p : {KernelPath::Avx2, KernelPath::Avx512Vnni, KernelPath::Neon, KernelPath::NeonDot,
                       KernelPath::I8mm}) {
    if (!kernel_path_available(p)) continue;
    if (!run(p, y.data())) std::abort();
    if (std::memcmp(y.data(), ref.data(), y.size() * sizeof(float)) != 0) std::abort();
  }
}

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
  const std::vector<float> x = fuzz_input(m * b.first.k, 37, 251, 0.03f);
  if (b.kind == BlockKind::Qkv) {
    Scratch s;
    require_same_bits(m * (b.first.n + b.second.n + b.third.n), [&](KernelPath p, float* out) {
      return run_qkv(b, x.data(), m, out, out + m * b.first.n, out + m * (b.first.n + b.second.n), &s, p);
    });
    return status;
  }
  const std::vector<float> residual = fuzz_input(m * b.hidden, 11, 97, 0.05f);
  const float* r = b.kind == BlockKind::LinearAddNorm ? residual.data() : nullptr;
  BlockScratch scratch;
  require_same_bits(m * b.hidden, [&](KernelPath p, float* out) {
    return run_block(b, x.data(), r, m, out, &scratch, p);
  });
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
  const std::vector<float> x = fuzz_input(m * w.k, 37, 251, 0.03f);
  Scratch scratch;
  require_same_bits(m * w.n, [&](KernelPath p, float* out) {
    return ternary_linear(w, x.data(), m, out, &scratch, p);
  });
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
