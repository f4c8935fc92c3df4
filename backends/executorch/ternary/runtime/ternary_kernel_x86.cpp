// x86 GEMM paths. Each function carries its own target attribute, so this
// file builds with the baseline -march and the caller picks a path after a
// runtime CPU check (kernel_path_available).
//
// Both paths multiply unsigned codes c = w + 1 in {0,1,2} by signed int8
// activations (vpdpbusd / vpmaddubsw want one unsigned operand), then subtract
// the activation row sum: sum(c * x) - sum(x) = sum(w * x), exactly in int32.
#if defined(__x86_64__)

// GCC 12 flags its own intrinsic headers (_mm512_undefined_*) as
// (maybe-)uninitialized when inlined at -O2; a known false positive.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "ternary_kernel_impl.h"

namespace dynaedge {
namespace ternary {
namespace detail {
namespace {

#define DYNAEDGE_AVX512 __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define DYNAEDGE_AVX2 __attribute__((target("avx2")))

// A 64-wide K block is 16 bytes; byte i holds k = i + 16 * j in bits 2j..2j+1.
// Broadcasting the 16 bytes to four 128-bit lanes and shifting lane j right by
// 2j (16-bit shifts: bits crossing into a byte's top are masked off) yields
// the 64 codes in k order.
template <int MR, int NR>
DYNAEDGE_AVX512 void tile_avx512(const GemmArgs& a, size_t m0, size_t n0) {
  const TernaryLinear& w = *a.w;
  const size_t kp = w.k_padded, blocks = kp / kBlockK;
  const __m512i shifts = _mm512_set_epi64(
      0x0006000600060006LL, 0x0006000600060006LL, 0x0004000400040004LL, 0x0004000400040004LL,
      0x0002000200020002LL, 0x0002000200020002LL, 0, 0);
  const __m512i mask = _mm512_set1_epi8(3);
  const uint8_t* rows[NR];
  for (int j = 0; j < NR; ++j) rows[j] = w.weights.data() + (n0 + j) * w.row_bytes();
  __m512i acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm512_setzero_si512();
  for (size_t b = 0; b < blocks; ++b) {
    __m512i xv[MR];
    for (int i = 0; i < MR; ++i) xv[i] = _mm512_loadu_si512(a.q + (m0 + i) * kp + b * kBlockK);
    for (int j = 0; j < NR; ++j) {
      const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[j] + b * 16));
      const __m512i codes =
          _mm512_and_si512(_mm512_srlv_epi16(_mm512_broadcast_i32x4(packed), shifts), mask);
      for (int i = 0; i < MR; ++i) acc[i][j] = _mm512_dpbusd_epi32(acc[i][j], codes, xv[i]);
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j)
      store_result(a, m0 + i, n0 + j, _mm512_reduce_add_epi32(acc[i][j]) - a.row_sum[m0 + i]);
}

template <int MR, int NR>
DYNAEDGE_AVX2 void tile_avx2(const GemmArgs& a, size_t m0, size_t n0) {
  const TernaryLinear& w = *a.w;
  const size_t kp = w.k_padded, blocks = kp / kBlockK;
  // Lanes 0/1 of the first vector take shifts 0/2 (k 0..31); the second 4/6.
  const __m256i shifts_lo = _mm256_set_epi32(2, 2, 2, 2, 0, 0, 0, 0);
  const __m256i shifts_hi = _mm256_set_epi32(6, 6, 6, 6, 4, 4, 4, 4);
  const __m256i mask = _mm256_set1_epi8(3);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* rows[NR];
  for (int j = 0; j < NR; ++j) rows[j] = w.weights.data() + (n0 + j) * w.row_bytes();
  __m256i acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int j = 0; j < NR; ++j) acc[i][j] = _mm256_setzero_si256();
  for (size_t b = 0; b < blocks; ++b) {
    __m256i x_lo[MR], x_hi[MR];
    for (int i = 0; i < MR; ++i) {
      const int8_t* p = a.q + (m0 + i) * kp + b * kBlockK;
      x_lo[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      x_hi[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    }
    for (int j = 0; j < NR; ++j) {
      const __m256i packed = _mm256_broadcastsi128_si256(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[j] + b * 16)));
      const __m256i c_lo = _mm256_and_si256(_mm256_srlv_epi32(packed, shifts_lo), mask);
      const __m256i c_hi = _mm256_and_si256(_mm256_srlv_epi32(packed, shifts_hi), mask);
      for (int i = 0; i < MR; ++i) {
        // |pair sum| <= 2 * 2 * 128 per maddubs, so two of them fit int16.
        const __m256i p16 = _mm256_add_epi16(
            _mm256_maddubs_epi16(c_lo, x_lo[i]), _mm256_maddubs_epi16(c_hi, x_hi[i]));
        acc[i][j] = _mm256_add_epi32(acc[i][j], _mm256_madd_epi16(p16, ones));
      }
    }
  }
  for (int i = 0; i < MR; ++i) {
    for (int j = 0; j < NR; ++j) {
      const __m128i s = _mm_add_epi32(
          _mm256_castsi256_si128(acc[i][j]), _mm256_extracti128_si256(acc[i][j], 1));
      const __m128i s2 = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
      const __m128i s3 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xB1));
      store_result(a, m0 + i, n0 + j, _mm_cvtsi128_si32(s3) - a.row_sum[m0 + i]);
    }
  }
}

// Full MR x NR tiles, then single rows / columns for the remainders. Columns
// outer so a few weight rows stay in L1 while the activations stream.
template <int MR, int NR, typename Tile4x4, typename Tile1x4, typename Tile4x1, typename Tile1x1>
inline void run_tiles(const GemmArgs& a, Tile4x4 full, Tile1x4 row_rest, Tile4x1 col_rest, Tile1x1 one) {
  const size_t m = a.m, n = a.w->n;
  size_t n0 = 0;
  for (; n0 + NR <= n; n0 += NR) {
    size_t m0 = 0;
    for (; m0 + MR <= m; m0 += MR) full(a, m0, n0);
    for (; m0 < m; ++m0) row_rest(a, m0, n0);
  }
  for (; n0 < n; ++n0) {
    size_t m0 = 0;
    for (; m0 + MR <= m; m0 += MR) col_rest(a, m0, n0);
    for (; m0 < m; ++m0) one(a, m0, n0);
  }
}

}  // namespace

DYNAEDGE_AVX512 void gemm_avx512_vnni(const GemmArgs& a) {
  run_tiles<4, 4>(a, tile_avx512<4, 4>, tile_avx512<1, 4>, tile_avx512<4, 1>, tile_avx512<1, 1>);
}

DYNAEDGE_AVX2 void gemm_avx2(const GemmArgs& a) {
  run_tiles<2, 4>(a, tile_avx2<2, 4>, tile_avx2<1, 4>, tile_avx2<2, 1>, tile_avx2<1, 1>);
}

}  // namespace detail
}  // namespace ternary
}  // namespace dynaedge

#endif  // __x86_64__
