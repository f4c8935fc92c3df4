// arm64 GEMM path. NEON is part of the AArch64 baseline, so no runtime check;
// the dot-product instructions (ARMv8.2 SDOT) are used when the compiler
// targets them (-march=armv8.2-a+dotprod), else widening multiplies.
//
// One 16-byte weight group expands to four registers w_j = (bytes >> 2j) & 3,
// each 4 columns x 4 k: exactly the operand of sdot-by-lane. Codes become
// signed weights c - 1 (0 - 1 wraps to 0xFF = -1), so no row-sum correction.
// "unroll" pragmas: accumulators stay in registers (see ternary_kernel_x86.cpp).
#if defined(__aarch64__)

#include <arm_neon.h>

#include <cmath>

#include "ternary_kernel_impl.h"

namespace dynaedge {
namespace ternary {
namespace detail {
namespace {

// acc[c] += sum_{t<4} w[4c + t] * x[4 * LANE + t] for the 4 columns c of w.
template <int LANE>
inline int32x4_t dot_lane(int32x4_t acc, int8x16_t w, int8x16_t x) {
#if defined(__ARM_FEATURE_DOTPROD)
  return vdotq_laneq_s32(acc, w, x, LANE);
#else
  const int8x16_t xb = vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(x), LANE));
  const int16x8_t lo = vmull_s8(vget_low_s8(w), vget_low_s8(xb));  // columns 0, 1
  const int16x8_t hi = vmull_high_s8(w, xb);  // columns 2, 3
  // Pairwise: [c0 k01, c0 k23, c1 k01, c1 k23, ...]; |sum| <= 256 fits int16.
  return vpadalq_s16(acc, vpaddq_s16(lo, hi));
#endif
}

inline void decode(const uint8_t* p, int8x16_t w[4]) {
  const uint8x16_t packed = vld1q_u8(p);
  const uint8x16_t mask = vdupq_n_u8(3), one = vdupq_n_u8(1);
  w[0] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(packed, mask), one));
  w[1] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(packed, 2), mask), one));
  w[2] = vreinterpretq_s8_u8(vsubq_u8(vandq_u8(vshrq_n_u8(packed, 4), mask), one));
  w[3] = vreinterpretq_s8_u8(vsubq_u8(vshrq_n_u8(packed, 6), one));
}

template <int LANE, int MR>
inline void group(const uint8_t* p, const int8x16_t (&x)[MR], int32x4_t (&acc)[MR][4]) {
  int8x16_t w[4];
  decode(p, w);
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 16
    for (int j = 0; j < 4; ++j) acc[i][j] = dot_lane<LANE>(acc[i][j], w[j], x[i]);
}

// MR rows x one 16-column panel; 16 k (four groups) per step.
template <int MR>
void tile_neon(const GemmArgs& a, size_t m0, size_t p) {
  const TernaryLinear& w = *a.w;
  const size_t kp = w.k_padded;
  const uint8_t* panel = w.weights.data() + p * w.panel_bytes();
  int32x4_t acc[MR][4];
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 16
    for (int j = 0; j < 4; ++j) acc[i][j] = vdupq_n_s32(0);
  for (size_t k0 = 0; k0 < kp; k0 += 16) {
    int8x16_t x[MR];
    #pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) x[i] = vld1q_s8(a.q + (m0 + i) * kp + k0);
    const uint8_t* g = panel + (k0 / 4) * 16;
    group<0, MR>(g, x, acc);
    group<1, MR>(g + 16, x, acc);
    group<2, MR>(g + 32, x, acc);
    group<3, MR>(g + 48, x, acc);
  }
  const size_t n0 = p * kPanelN;
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    int32_t out[16];
    #pragma GCC unroll 16
    for (int j = 0; j < 4; ++j) vst1q_s32(out + 4 * j, acc[i][j]);
    for (size_t c = 0; c < kPanelN && n0 + c < w.n; ++c) store_result(a, m0 + i, n0 + c, out[c]);
  }
}

}  // namespace

float absmax_neon(const float* x, size_t k) {
  float32x4_t acc = vdupq_n_f32(0.0f);
  size_t i = 0;
  // maxnm returns the number when one operand is NaN, like fmax.
  for (; i + 4 <= k; i += 4) acc = vmaxnmq_f32(acc, vabsq_f32(vld1q_f32(x + i)));
  float absmax = vmaxnmvq_f32(acc);
  for (; i < k; ++i) absmax = std::fmax(absmax, std::fabs(x[i]));
  return absmax;
}

int32_t quantize_row_neon(const float* x, size_t k, float inv_scale, float qmin, float qmax, int8_t* q) {
  const float32x4_t inv = vdupq_n_f32(inv_scale), lo = vdupq_n_f32(qmin), hi = vdupq_n_f32(qmax);
  int32x4_t sum = vdupq_n_s32(0);
  size_t i = 0;
  for (; i + 4 <= k; i += 4) {
    const float32x4_t r = vrndnq_f32(vmulq_f32(vld1q_f32(x + i), inv));  // half to even
    const int32x4_t v = vcvtq_s32_f32(vminq_f32(vmaxnmq_f32(r, lo), hi));  // NaN -> qmin
    sum = vaddq_s32(sum, v);
    const int16x4_t v16 = vmovn_s32(v);
    const int8x8_t v8 = vmovn_s16(vcombine_s16(v16, v16));
    vst1_lane_s32(reinterpret_cast<int32_t*>(q + i), vreinterpret_s32_s8(v8), 0);
  }
  int32_t total = vaddvq_s32(sum);
  if (i < k) total += quantize_row_scalar(x + i, k - i, inv_scale, qmin, qmax, q + i);
  return total;
}

void gemm_neon(const GemmArgs& a) {
  for (size_t p = a.panel_begin; p < a.panel_end; ++p) {
    size_t m0 = 0;
    for (; m0 + 4 <= a.m; m0 += 4) tile_neon<4>(a, m0, p);
    for (; m0 < a.m; ++m0) tile_neon<1>(a, m0, p);
  }
}

}  // namespace detail
}  // namespace ternary
}  // namespace dynaedge

#endif  // __aarch64__
