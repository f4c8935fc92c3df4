// arm64 GEMM paths. Each carries its own target attribute, so the file builds
// with the baseline -march=armv8-a and the caller picks a path at run time from
// the CPU's features (getauxval, kernel_path_available):
//   neon      ARMv8.0 widening multiplies: every arm64 CPU (Cortex-A53/A55 era)
//   neon-dot  SDOT by lane (ARMv8.2 dotprod): most phones since ~2018
//   i8mm      SMMLA, a 2x8 by 8x2 int8 matrix multiply per instruction
//             (ARMv8.6 i8mm: Cortex-A710/X2 and later)
//
// Per panel of 16 output columns, the 2-bit codes are decoded once per call
// into a per-thread buffer (16 x K bytes: 24 KB at K = 1536, L1-sized) that
// every row tile then reads; before, each tile of 4 rows decoded the panel
// again. Codes stay unsigned c in {0, 1, 2} (weight c - 1), as on x86: tiles
// accumulate sum(q * c) and the epilogue subtracts the row sum sum(q) once,
// exactly in int32 (|q| <= 128, c <= 2, K < 2^22).
// "unroll" pragmas: accumulators stay in registers (see ternary_kernel_x86.cpp).
#if defined(__aarch64__)

#include <arm_neon.h>
#include <sys/auxv.h>

#include <cmath>
#include <vector>

#include "ternary_kernel_impl.h"

#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1 << 20)
#endif
#ifndef HWCAP2_I8MM
#define HWCAP2_I8MM (1 << 13)
#endif

namespace dynaedge {
namespace ternary {
namespace detail {
namespace {

#define DYNAEDGE_DOT __attribute__((target("arch=armv8.2-a+dotprod")))
#define DYNAEDGE_I8MM __attribute__((target("arch=armv8.2-a+dotprod+i8mm")))

// ---- Decoding: one 16-byte group (16 columns x 4 k) -> four registers ----
//
// Register j holds columns 4j..4j+3, 4 consecutive k each: byte 4c + t is
// column 4j + c at k offset t, the operand of SDOT by lane.
inline void decode_group(const uint8_t* p, int8x16_t w[4]) {
  const uint8x16_t packed = vld1q_u8(p);
  const uint8x16_t mask = vdupq_n_u8(3);
  w[0] = vreinterpretq_s8_u8(vandq_u8(packed, mask));
  w[1] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(packed, 2), mask));
  w[2] = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(packed, 4), mask));
  w[3] = vreinterpretq_s8_u8(vshrq_n_u8(packed, 6));
}

// The panel's codes in "by lane" order: for each 4-k group, its four registers.
void decode_panel_lanes(const uint8_t* panel, size_t k_padded, int8_t* out) {
  for (size_t g = 0; g < k_padded / 4; ++g) {
    int8x16_t w[4];
    decode_group(panel + g * 16, w);
    for (int j = 0; j < 4; ++j) vst1q_s8(out + g * 64 + j * 16, w[j]);
  }
}

// The panel's codes in SMMLA order: for each 8-k block, 8 column pairs of
// 16 bytes [column 2p: k 0..7 | column 2p+1: k 0..7]. Column 4j + c of group
// g is 32-bit lane c of register (g, j), so zipping the 32-bit lanes of the
// two groups of a block pairs columns (0, 1) and (2, 3) of each register.
void decode_panel_pairs(const uint8_t* panel, size_t k_padded, int8_t* out) {
  for (size_t b = 0; b < k_padded / 8; ++b) {
    int8x16_t lo[4], hi[4];
    decode_group(panel + (2 * b) * 16, lo);
    decode_group(panel + (2 * b + 1) * 16, hi);
    int8_t* dst = out + b * 128;
    for (int j = 0; j < 4; ++j) {
      const uint32x4_t a = vreinterpretq_u32_s8(lo[j]), c = vreinterpretq_u32_s8(hi[j]);
      vst1q_s8(dst + (2 * j) * 16, vreinterpretq_s8_u32(vzip1q_u32(a, c)));
      vst1q_s8(dst + (2 * j + 1) * 16, vreinterpretq_s8_u32(vzip2q_u32(a, c)));
    }
  }
}

// One buffer per thread (tasks of one call run on several threads).
int8_t* panel_buffer(size_t k_padded) {
  thread_local std::vector<int8_t> buffer;
  if (buffer.size() < k_padded * kPanelN) buffer.resize(k_padded * kPanelN);
  return buffer.data();
}

// Row i's 16 raw sums sum(q * c) -> outputs (minus the row sum).
inline void store_row(const GemmArgs& a, size_t i, size_t n0, const int32_t* raw) {
  const size_t columns = a.w->n - n0 < kPanelN ? a.w->n - n0 : kPanelN;
  for (size_t c = 0; c < columns; ++c) store_result(a, i, n0 + c, raw[c] - a.row_sum[i]);
}

// ---- neon and neon-dot: the by-lane tile (ternary_kernel_neon_lanes.inc) ----

// acc[c] += sum_{t<4} w[4c + t] * x[4 * LANE + t] for the 4 columns c of w.
template <int LANE>
inline int32x4_t dot_lane_widening(int32x4_t acc, int8x16_t w, int8x16_t x) {
  const int8x16_t xb = vreinterpretq_s8_s32(vdupq_laneq_s32(vreinterpretq_s32_s8(x), LANE));
  const int16x8_t lo = vmull_s8(vget_low_s8(w), vget_low_s8(xb));  // columns 0, 1
  const int16x8_t hi = vmull_high_s8(w, xb);  // columns 2, 3
  // Pairwise: [c0 k01, c0 k23, c1 k01, c1 k23, ...]; |sum| <= 512 fits int16.
  return vpadalq_s16(acc, vpaddq_s16(lo, hi));
}

template <int LANE>
DYNAEDGE_DOT inline int32x4_t dot_lane_sdot(int32x4_t acc, int8x16_t w, int8x16_t x) {
  return vdotq_laneq_s32(acc, w, x, LANE);
}

#define LANE_ATTR
#define LANE_DOT dot_lane_widening
#define LANE_STEP step_widening
#define LANE_TILE tile_widening
#include "ternary_kernel_neon_lanes.inc"
#undef LANE_ATTR
#undef LANE_DOT
#undef LANE_STEP
#undef LANE_TILE

#define LANE_ATTR DYNAEDGE_DOT
#define LANE_DOT dot_lane_sdot
#define LANE_STEP step_sdot
#define LANE_TILE tile_sdot
#include "ternary_kernel_neon_lanes.inc"
#undef LANE_ATTR
#undef LANE_DOT
#undef LANE_STEP
#undef LANE_TILE

// ---- i8mm: row pairs x column pairs, 8 k per step ----

// Rows i and i + 1 of q, k0..k0+7 each (a missing second row reads as zeros).
inline int8x16_t row_pair(const GemmArgs& a, size_t i, bool second, size_t k0) {
  const int8_t* r = a.q + i * a.w->k_padded + k0;
  return vcombine_s8(vld1_s8(r), second ? vld1_s8(r + a.w->k_padded) : vdup_n_s8(0));
}

// RP row pairs (the last one possibly a single row) x 8 column pairs.
template <int RP>
DYNAEDGE_I8MM void tile_i8mm(const GemmArgs& a, const int8_t* panel, size_t m0, size_t rows, size_t n0) {
  const size_t kp = a.w->k_padded;
  int32x4_t acc[RP][8];
  #pragma GCC unroll 16
  for (int r = 0; r < RP; ++r)
    #pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) acc[r][p] = vdupq_n_s32(0);
  for (size_t k0 = 0; k0 < kp; k0 += 8) {
    int8x16_t x[RP];
    #pragma GCC unroll 16
    for (int r = 0; r < RP; ++r) x[r] = row_pair(a, m0 + 2 * r, static_cast<size_t>(2 * r + 1) < rows, k0);
    const int8_t* w = panel + k0 * 16;
    #pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
      const int8x16_t wp = vld1q_s8(w + p * 16);
      #pragma GCC unroll 16
      for (int r = 0; r < RP; ++r) acc[r][p] = vmmlaq_s32(acc[r][p], x[r], wp);
    }
  }
  // acc[r][p] = [row 2r . col 2p, row 2r . col 2p+1, row 2r+1 . col 2p, row 2r+1 . col 2p+1]
  #pragma GCC unroll 16
  for (int r = 0; r < RP; ++r) {
    int32_t raw[2][16];
    #pragma GCC unroll 8
    for (int p = 0; p < 8; ++p) {
      int32_t v[4];
      vst1q_s32(v, acc[r][p]);
      raw[0][2 * p] = v[0];
      raw[0][2 * p + 1] = v[1];
      raw[1][2 * p] = v[2];
      raw[1][2 * p + 1] = v[3];
    }
    store_row(a, m0 + 2 * r, n0, raw[0]);
    if (static_cast<size_t>(2 * r + 1) < rows) store_row(a, m0 + 2 * r + 1, n0, raw[1]);
  }
}

}  // namespace

bool cpu_has_dotprod() { return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0; }
bool cpu_has_i8mm() { return (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0; }

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

namespace {

using LaneTile = void (*)(const GemmArgs&, const int8_t*, size_t, size_t);

void gemm_lanes(const GemmArgs& a, LaneTile tile4, LaneTile tile1) {
  int8_t* panel = panel_buffer(a.w->k_padded);
  for (size_t p = a.panel_begin; p < a.panel_end; ++p) {
    decode_panel_lanes(a.w->weights.data() + p * a.w->panel_bytes(), a.w->k_padded, panel);
    size_t m0 = 0;
    for (; m0 + 4 <= a.m; m0 += 4) tile4(a, panel, m0, p * kPanelN);
    for (; m0 < a.m; ++m0) tile1(a, panel, m0, p * kPanelN);
  }
}

}  // namespace

void gemm_neon(const GemmArgs& a) { gemm_lanes(a, tile_widening<4>, tile_widening<1>); }
void gemm_neon_dot(const GemmArgs& a) { gemm_lanes(a, tile_sdot<4>, tile_sdot<1>); }

void gemm_i8mm(const GemmArgs& a) {
  int8_t* panel = panel_buffer(a.w->k_padded);
  for (size_t p = a.panel_begin; p < a.panel_end; ++p) {
    decode_panel_pairs(a.w->weights.data() + p * a.w->panel_bytes(), a.w->k_padded, panel);
    size_t m0 = 0;
    for (; m0 + 4 <= a.m; m0 += 4) tile_i8mm<2>(a, panel, m0, 4, p * kPanelN);
    for (; m0 < a.m; m0 += 2) tile_i8mm<1>(a, panel, m0, a.m - m0 < 2 ? 1 : 2, p * kPanelN);
  }
}

}  // namespace detail
}  // namespace ternary
}  // namespace dynaedge

#endif  // __aarch64__
