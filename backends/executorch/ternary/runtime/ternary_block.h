// A fused block: the ternary Linear(s) of one half of an encoder layer with
// the ops that follow them, in one delegate call instead of a ternary call
// and an XNNPACK call between each pair of Linears (each call costs 10-30 µs
// of reshape and thread hand-off, more than these small ops themselves):
//
//   LinearAddNorm  y = LayerNorm(residual + Linear(x))                   attention output
//   FfnAddNorm     y = LayerNorm(x + Linear2(GELU(Linear1(x))))          feed-forward
//   Qkv            (q, k, v) = (Linear1(x), Linear2(x), Linear3(x))      attention input
//
// Blob "DTRB" (../README.md "Block blob"): a 64-byte header with four
// section slots, then the Linears as complete "DTRN" blobs (each validated by
// parse_blob) and the LayerNorm's weight and bias, in the slots the kind uses:
// LinearAddNorm (Linear, -, norm weight, norm bias), FfnAddNorm (Linear,
// Linear, norm weight, norm bias), Qkv (Linear, Linear, Linear, -).
// block_blob.py writes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ternary_blob.h"
#include "ternary_kernel.h"

namespace dynaedge {
namespace ternary {

constexpr uint32_t kBlockMagic = 0x42525444u;  // bytes "DTRB" read little-endian
constexpr uint16_t kBlockVersion = 1;

enum class BlockKind : uint8_t {
  LinearAddNorm = 1,
  FfnAddNorm = 2,
  Qkv = 3,
};

struct TernaryBlock {
  BlockKind kind = BlockKind::LinearAddNorm;
  uint32_t hidden = 0;  // the LayerNorm's width = the block's output width; Qkv: the input width
  float eps = 0.0f;  // Qkv: 0
  bool residual_first = false;  // LinearAddNorm: the delegate's inputs arrive as (residual, x)
  TernaryLinear first;  // attention output, or the FFN's up projection
  TernaryLinear second;  // the FFN's down projection, or K
  TernaryLinear third;  // V (Qkv only)
  std::vector<float> norm_weight;
  std::vector<float> norm_bias;
};

// True when the bytes start with the block magic (else: a one-Linear blob).
bool is_block_blob(const uint8_t* data, size_t size);

// Validates every field (the Linears through parse_blob, their shapes against
// each other and the LayerNorm, eps finite > 0, LayerNorm values finite) and
// copies the block out. BlobStatus names the first failed check.
BlobStatus parse_block(const uint8_t* data, size_t size, TernaryBlock* out);

struct BlockScratch {
  Scratch linear;
  std::vector<float> hidden;  // FFN: GELU(Linear1(x)), m x ffn
  std::vector<float> sum;  // Linear output before the residual add and LayerNorm, m x hidden
};

// y[m x hidden] from x[m x first.k] (and residual[m x hidden] for
// LinearAddNorm; FfnAddNorm adds x itself). Rows run in parallel on `executor`.
bool run_block(const TernaryBlock& b, const float* x, const float* residual, size_t m, float* y,
               BlockScratch* scratch, KernelPath path, Executor* executor = nullptr);

// Qkv: the three projections of x[m x hidden], each [m x its Linear's n].
bool run_qkv(const TernaryBlock& b, const float* x, size_t m, float* q, float* k, float* v, Scratch* scratch,
             KernelPath path, Executor* executor = nullptr);

// The element-wise pieces, exposed for tests: GELU with an erf accurate to
// ~4e-7 (a rational approximation, the same bits on every CPU), and
// y = LayerNorm(a + b) over one row with a fixed summation order.
void gelu_inplace(float* x, size_t n);
void add_layer_norm_row(const float* a, const float* b, const float* weight, const float* bias, float eps,
                        size_t n, float* y);

}  // namespace ternary
}  // namespace dynaedge
