// Standalone fuzz driver (no libFuzzer needed): random, truncated,
// bit-flipped and field-overwritten blobs (one-Linear and fused-block), half of them with a recomputed
// checksum so the checks behind the CRC are reached. Build with
// -fsanitize=address,undefined; any memory error aborts the run.
//
//   fuzz_ternary_driver CASES SEED [CORPUS_DIR]
// prints "cases=<n> ok=<valid> <status>=<count> ..." and exits 0.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <string>

#include "../tests/blob_builder.h"
#include "fuzz_target.h"

using namespace dynaedge::ternary;

namespace {

using testing::LinearSpec;


LinearSpec random_linear(std::mt19937& rng, uint32_t n, uint32_t k) {
  LinearSpec s{n, k, {}, {}, {}};
  std::uniform_int_distribution<int> code(-1, 1);
  for (size_t i = 0; i < static_cast<size_t>(n) * k; ++i) s.weights.push_back(static_cast<int8_t>(code(rng)));
  s.scales.assign(n, 0.5f);
  if (rng() % 2) s.bias.assign(n, -0.25f);
  if (rng() % 2) {
    s.act_mode = ActMode::StaticPerTensor;
    s.act_scale = 0.05f;
  }
  return s;
}

// A valid fused block of random small shapes, either kind.
std::vector<uint8_t> seed_block(std::mt19937& rng) {
  std::uniform_int_distribution<uint32_t> dim(1, 100);
  const uint32_t hidden = dim(rng), inner = dim(rng);
  const std::vector<float> weight(hidden, 1.5f), bias(hidden, 0.1f);
  const uint32_t pick = rng() % 3;
  if (pick == 0) {
    return testing::build_block_blob(BlockKind::LinearAddNorm, {random_linear(rng, hidden, inner)}, weight, bias,
                                     1e-12f, rng() % 2 != 0);
  }
  if (pick == 1) {
    return testing::build_block_blob(BlockKind::Qkv, {random_linear(rng, inner, hidden),
                                     random_linear(rng, inner, hidden), random_linear(rng, inner, hidden)},
                                     {}, {}, 0.0f, false, hidden);
  }
  return testing::build_block_blob(BlockKind::FfnAddNorm,
                                   {random_linear(rng, inner, hidden), random_linear(rng, hidden, inner)}, weight,
                                   bias, 1e-5f);
}

const uint32_t kInteresting[] = {0, 1, 3, 63, 64, 65, 0x7FFFFFFF, 0x80000000u, 0xFFFFFFFFu, 0xFFFFFFC0u, 1u << 20, (1u << 20) + 1};

void mutate(std::vector<uint8_t>& b, std::mt19937& rng) {
  const int kind = rng() % 6;
  if (kind == 0 && !b.empty()) {  // flip 1..8 random bits
    for (int i = 1 + rng() % 8; i > 0; --i) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
  } else if (kind == 1) {  // truncate
    b.resize(b.empty() ? 0 : rng() % b.size());
  } else if (kind == 2) {  // extend with garbage
    for (int i = 1 + rng() % 64; i > 0; --i) b.push_back(static_cast<uint8_t>(rng()));
  } else if (kind == 3 && b.size() >= kHeaderSize) {  // overwrite a header field
    const uint32_t v = rng() % 2 ? kInteresting[rng() % (sizeof(kInteresting) / 4)] : static_cast<uint32_t>(rng());
    const size_t off = 4 * (rng() % 15);
    std::memcpy(b.data() + off, &v, 4);
  } else if (kind == 4 && b.size() >= kHeaderSize) {  // change one header byte
    b[rng() % kHeaderSize] = static_cast<uint8_t>(rng());
  } else {  // pure random bytes, sometimes with a valid magic
    b.assign(rng() % 512, 0);
    for (uint8_t& c : b) c = static_cast<uint8_t>(rng());
    if (b.size() >= 4 && rng() % 2) std::memcpy(b.data(), rng() % 2 ? &kMagic : &kBlockMagic, 4);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s CASES SEED [CORPUS_DIR]\n", argv[0]);
    return 2;
  }
  const long cases = std::strtol(argv[1], nullptr, 10);
  std::mt19937 rng(static_cast<uint32_t>(std::strtoul(argv[2], nullptr, 10)));
  std::map<int, long> counts;
  std::vector<uint8_t> base;
  for (long c = 0; c < cases; ++c) {
    // one-Linear blobs and fused blocks in turn
    if (c % 64 == 0) {
      std::uniform_int_distribution<uint32_t> dim(1, 150);
      base = c % 128 == 0 ? testing::build_blob(random_linear(rng, dim(rng), dim(rng))) : seed_block(rng);
    }
    std::vector<uint8_t> input(1, static_cast<uint8_t>(rng() % 2));  // reseal flag
    std::vector<uint8_t> blob = base;
    for (int r = 1 + rng() % 3; r > 0; --r) mutate(blob, rng);
    if (c % 10 == 0) blob = base;  // keep valid blobs flowing through the kernels
    input.insert(input.end(), blob.begin(), blob.end());
    if (argc > 3 && c < 64) {  // seed corpus for libFuzzer
      std::ofstream(std::string(argv[3]) + "/seed" + std::to_string(c), std::ios::binary)
          .write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
    }
    counts[static_cast<int>(fuzz::run_input(input.data(), input.size()))]++;
  }
  std::printf("cases=%ld", cases);
  for (const auto& kv : counts) std::printf(" %d=%ld", kv.first, kv.second);
  std::printf("\n");
  return 0;
}
