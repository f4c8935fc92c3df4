// x86 GEMM paths. Each function carries its own target attribute, so this
// file builds with the baseline -march and the caller picks a path after a
// runtime CPU check (kernel_path_available).
//
// Both paths multiply unsigned codes c = w + 1 in {0,1,2} by signed int8
// activations (vpdpbusd / vpmaddubsw want one unsigned operand), then subtract
// the activation row sum: sum(c * x) - sum(x) = sum(w * x), exactly in int32.
// Output columns live in vector lanes (16 per panel), so no horizontal sums.
// The "unroll" pragmas keep the MR x NP accumulators in registers: without
// them GCC -O2 left the small loops rolled and spilled every accumulator.
#if defined(__x86_64__)

// GCC 12 flags its own intrinsic headers (_mm512_undefined_*) as
// (maybe-)uninitialized when inlined at -O2; a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "ternary_kernel_impl.h"

namespace dynaedge {
namespace ternary {
namespace detail {
namespace {

#define DYNAEDGE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define DYNAEDGE_AVX2 __attribute__((target("avx2")))

inline int32_t load4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// ---- AVX-512 VNNI: MR rows x NP panels of 16 columns ----

// 16 packed bytes -> 64 codes: lane j = (bytes >> 2j) & 3 (16-bit shifts; bits
// that cross into a byte's top are masked off).
DYNAEDGE_AVX512 inline __m512i decode_panel_group(const uint8_t* p, __m512i shifts, __m512i mask) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm512_and_si512(_mm512_srlv_epi16(_mm512_broadcast_i32x4(packed), shifts), mask);
}

// Stores 16 columns (fewer at the end of N) of row i: raw int32 or the fp32
// epilogue, computed in the same order as store_result so bits match.
DYNAEDGE_AVX512 inline void store_panel(const GemmArgs& a, size_t i, size_t n0, __m512i acc) {
  const TernaryLinear& w = *a.w;
  const size_t cols = w.n - n0 < kPanelN ? w.n - n0 : kPanelN;
  const __mmask16 mask = static_cast<__mmask16>((1u << cols) - 1);
  if (a.acc != nullptr) {
    _mm512_mask_storeu_epi32(a.acc + i * w.n + n0, mask, acc);
    return;
  }
  const __m512 scale = _mm512_mul_ps(_mm512_set1_ps(a.row_scale[i]), _mm512_loadu_ps(w.scales.data() + n0));
  __m512 out = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale);
  if (w.has_bias) out = _mm512_add_ps(out, _mm512_loadu_ps(w.bias.data() + n0));
  _mm512_mask_storeu_ps(a.y + i * w.n + n0, mask, out);
}

template <int MR, int NP>
DYNAEDGE_AVX512 void tile_avx512(const GemmArgs& a, size_t m0, size_t p0) {
  const TernaryLinear& w = *a.w;
  const size_t kp = w.k_padded, groups = kp / 4;
  const __m512i shifts = _mm512_set_epi64(
      0x0006000600060006LL, 0x0006000600060006LL, 0x0004000400040004LL, 0x0004000400040004LL,
      0x0002000200020002LL, 0x0002000200020002LL, 0, 0);
  const __m512i mask = _mm512_set1_epi8(3);
  const uint8_t* panel[NP];
  #pragma GCC unroll 16
  for (int v = 0; v < NP; ++v) panel[v] = w.weights.data() + (p0 + v) * w.panel_bytes();
  const int8_t* x[MR];
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) x[i] = a.q + (m0 + i) * kp;
  __m512i acc[MR][NP];
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
    #pragma GCC unroll 16
    for (int v = 0; v < NP; ++v) acc[i][v] = _mm512_setzero_si512();
  for (size_t g = 0; g < groups; ++g) {
    __m512i codes[NP];
    #pragma GCC unroll 16
    for (int v = 0; v < NP; ++v) codes[v] = decode_panel_group(panel[v] + g * 16, shifts, mask);
    #pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m512i xb = _mm512_set1_epi32(load4(x[i] + 4 * g));
      #pragma GCC unroll 16
      for (int v = 0; v < NP; ++v) acc[i][v] = _mm512_dpbusd_epi32(acc[i][v], codes[v], xb);
    }
  }
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    const __m512i row_sum = _mm512_set1_epi32(a.row_sum[m0 + i]);
    #pragma GCC unroll 16
    for (int v = 0; v < NP; ++v) store_panel(a, m0 + i, (p0 + v) * kPanelN, _mm512_sub_epi32(acc[i][v], row_sum));
  }
}

template <int NP>
DYNAEDGE_AVX512 void rows_avx512(const GemmArgs& a, size_t p0) {
  size_t m0 = 0;
  for (; m0 + 8 <= a.m; m0 += 8) tile_avx512<8, NP>(a, m0, p0);
  switch (a.m - m0) {
    case 7: tile_avx512<7, NP>(a, m0, p0); break;
    case 6: tile_avx512<6, NP>(a, m0, p0); break;
    case 5: tile_avx512<5, NP>(a, m0, p0); break;
    case 4: tile_avx512<4, NP>(a, m0, p0); break;
    case 3: tile_avx512<3, NP>(a, m0, p0); break;
    case 2: tile_avx512<2, NP>(a, m0, p0); break;
    case 1: tile_avx512<1, NP>(a, m0, p0); break;
    default: break;
  }
}

// ---- AVX2: MR rows x 1 panel (two 8-column halves) ----

template <int MR>
DYNAEDGE_AVX2 void tile_avx2(const GemmArgs& a, size_t m0, size_t p) {
  const TernaryLinear& w = *a.w;
  const size_t kp = w.k_padded, groups = kp / 4;
  // Lanes 0/1 of the first vector take shifts 0/2 (columns 0..7), the second 4/6.
  const __m256i shifts_lo = _mm256_set_epi32(2, 2, 2, 2, 0, 0, 0, 0);
  const __m256i shifts_hi = _mm256_set_epi32(6, 6, 6, 6, 4, 4, 4, 4);
  const __m256i mask = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* panel = w.weights.data() + p * w.panel_bytes();
  __m256i acc[MR][2];
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  for (size_t g = 0; g < groups; ++g) {
    const __m256i packed =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(panel + g * 16)));
    const __m256i c_lo = _mm256_and_si256(_mm256_srlv_epi32(packed, shifts_lo), mask);
    const __m256i c_hi = _mm256_and_si256(_mm256_srlv_epi32(packed, shifts_hi), mask);
    #pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256i xb = _mm256_set1_epi32(load4(a.q + (m0 + i) * kp + 4 * g));
      // |pair sum| <= 2 * 2 * 128: no int16 saturation.
      acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_madd_epi16(_mm256_maddubs_epi16(c_lo, xb), ones));
      acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_madd_epi16(_mm256_maddubs_epi16(c_hi, xb), ones));
    }
  }
  #pragma GCC unroll 16
  for (int i = 0; i < MR; ++i) {
    alignas(32) int32_t out[16];
    const __m256i row_sum = _mm256_set1_epi32(a.row_sum[m0 + i]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(out), _mm256_sub_epi32(acc[i][0], row_sum));
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + 8), _mm256_sub_epi32(acc[i][1], row_sum));
    const size_t n0 = p * kPanelN;
    for (size_t c = 0; c < kPanelN && n0 + c < w.n; ++c) store_result(a, m0 + i, n0 + c, out[c]);
  }
}

}  // namespace

DYNAEDGE_AVX512 float absmax_avx512(const float* x, size_t k) {
  __m512 acc = _mm512_setzero_ps();
  size_t i = 0;
  // max_ps returns its second operand when either is NaN: NaN inputs are skipped.
  for (; i + 16 <= k; i += 16) acc = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), acc);
  float absmax = _mm512_reduce_max_ps(acc);
  for (; i < k; ++i) absmax = std::fmax(absmax, std::fabs(x[i]));
  return absmax;
}

DYNAEDGE_AVX512 int32_t quantize_row_avx512(
    const float* x, size_t k, float inv_scale, float qmin, float qmax, int8_t* q) {
  const __m512 inv = _mm512_set1_ps(inv_scale), lo = _mm512_set1_ps(qmin), hi = _mm512_set1_ps(qmax);
  __m512i sum = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 16 <= k; i += 16) {
    const __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(_mm512_loadu_ps(x + i), inv),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // max(r, lo) yields lo for NaN r, as the scalar code does.
    const __m512i v = _mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(r, lo), hi));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtepi32_epi8(v));
    sum = _mm512_add_epi32(sum, v);
  }
  int32_t total = _mm512_reduce_add_epi32(sum);
  if (i < k) total += quantize_row_scalar(x + i, k - i, inv_scale, qmin, qmax, q + i);
  return total;
}

DYNAEDGE_AVX2 float absmax_avx2(const float* x, size_t k) {
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256 acc = _mm256_setzero_ps();
  size_t i = 0;
  // max_ps returns its second operand when either is NaN: NaN inputs are skipped.
  for (; i + 8 <= k; i += 8) acc = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)), acc);
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, acc);
  float absmax = 0.0f;
  for (float v : lanes) absmax = std::fmax(absmax, v);
  for (; i < k; ++i) absmax = std::fmax(absmax, std::fabs(x[i]));
  return absmax;
}

DYNAEDGE_AVX2 int32_t quantize_row_avx2(
    const float* x, size_t k, float inv_scale, float qmin, float qmax, int8_t* q) {
  const __m256 inv = _mm256_set1_ps(inv_scale), lo = _mm256_set1_ps(qmin), hi = _mm256_set1_ps(qmax);
  __m256i sum = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 8 <= k; i += 8) {
    const __m256 r = _mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), inv),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    // max(r, lo) yields lo for NaN r, as the scalar code does.
    const __m256i v = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, lo), hi));
    // Values are already in [qmin, qmax]: the saturating packs only narrow them, in order.
    const __m128i v16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(q + i), _mm_packs_epi16(v16, v16));
    sum = _mm256_add_epi32(sum, v);
  }
  alignas(32) int32_t lanes[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  int32_t total = 0;
  for (int32_t v : lanes) total += v;
  if (i < k) total += quantize_row_scalar(x + i, k - i, inv_scale, qmin, qmax, q + i);
  return total;
}

// Panels outer (two at a time: 2 x 4K bytes of weights stay in L1), rows
// inner: 8 rows x 2 panels = 16 accumulators. Measured alternatives, single
// thread on Zen 4: 8 x 3 and 6 x 3 ran 15-40% slower (register pressure).
DYNAEDGE_AVX512 void gemm_avx512_vnni(const GemmArgs& a) {
  size_t p = a.panel_begin;
  for (; p + 2 <= a.panel_end; p += 2) rows_avx512<2>(a, p);
  if (p < a.panel_end) rows_avx512<1>(a, p);
}

DYNAEDGE_AVX2 void gemm_avx2(const GemmArgs& a) {
  for (size_t p = a.panel_begin; p < a.panel_end; ++p) {
    size_t m0 = 0;
    for (; m0 + 4 <= a.m; m0 += 4) tile_avx2<4>(a, m0, p);
    for (; m0 < a.m; ++m0) tile_avx2<1>(a, m0, p);
  }
}

}  // namespace detail
}  // namespace ternary
}  // namespace dynaedge

#endif  // __x86_64__
