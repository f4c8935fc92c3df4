// arm64 GEMM path. NEON is part of the AArch64 baseline, so no runtime check;
// the dot-product instructions (ARMv8.2 SDOT) are used when the compiler
// targets them (-march=armv8.2-a+dotprod), else widening multiplies.
//
// Codes c in {0,1,2} become signed weights c - 1 in {-1,0,1} (as bytes,
// 0 - 1 wraps to 0xFF = -1), so the sum is sum(w * x) directly.
#if defined(__aarch64__)

#include <arm_neon.h>

#include "ternary_kernel_impl.h"

namespace dynaedge {
namespace ternary {
namespace detail {
namespace {

inline int32x4_t dot16(int32x4_t acc, int8x16_t x, int8x16_t w) {
#if defined(__ARM_FEATURE_DOTPROD)
  return vdotq_s32(acc, x, w);
#else
  const int16x8_t lo = vmull_s8(vget_low_s8(x), vget_low_s8(w));
  const int16x8_t hi = vmull_high_s8(x, w);
  return vpadalq_s16(vpadalq_s16(acc, lo), hi);
#endif
}

template <int MR, int NR>
void tile_neon(const GemmArgs& a, size_t m0, size_t n0) {
  const TernaryLinear& w = *a.w;
  const size_t kp = w.k_padded, blocks = kp / kBlockK;
  const uint8x16_t mask = vdupq_n_u8(3);
  const uint8x16_t one = vdupq_n_u8(1);
  const uint8_t* rows[NR];
  for (int j = 0; j < NR; ++j) rows[j] = w.weights.data() + (n0 + j) * w.row_bytes();
  int32x4_t acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = vdupq_n_s32(0);
  for (size_t b = 0; b < blocks; ++b) {
    int8x16_t xv[MR][4];
    for (int i = 0; i < MR; ++i)
      for (int c = 0; c < 4; ++c) xv[i][c] = vld1q_s8(a.q + (m0 + i) * kp + b * kBlockK + 16 * c);
    for (int j = 0; j < NR; ++j) {
      const uint8x16_t packed = vld1q_u8(rows[j] + b * 16);
      // Byte i of the block holds k = i + 16 * c in bits 2c..2c+1.
      const int8x16_t w0 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(packed, mask), one));
      const int8x16_t w1 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(packed, 2), mask), one));
      const int8x16_t w2 = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(packed, 4), mask), one));
      const int8x16_t w3 = vreinterpretq_s8_u8(vsubq_u8(vshrq_n_u8(packed, 6), one));
      for (int i = 0; i < MR; ++i) {
        int32x4_t s = dot16(acc[i][j], xv[i][0], w0);
        s = dot16(s, xv[i][1], w1);
        s = dot16(s, xv[i][2], w2);
        acc[i][j] = dot16(s, xv[i][3], w3);
      }
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) store_result(a, m0 + i, n0 + j, vaddvq_s32(acc[i][j]));
}

}  // namespace

void gemm_neon(const GemmArgs& a) {
  const size_t m = a.m, n = a.w->n;
  size_t n0 = 0;
  for (; n0 + 4 <= n; n0 += 4) {
    size_t m0 = 0;
    for (; m0 + 2 <= m; m0 += 2) tile_neon<2, 4>(a, m0, n0);
    for (; m0 < m; ++m0) tile_neon<1, 4>(a, m0, n0);
  }
  for (; n0 < n; ++n0) {
    size_t m0 = 0;
    for (; m0 + 2 <= m; m0 += 2) tile_neon<2, 1>(a, m0, n0);
    for (; m0 < m; ++m0) tile_neon<1, 1>(a, m0, n0);
  }
}

}  // namespace detail
}  // namespace ternary
}  // namespace dynaedge

#endif  // __aarch64__
