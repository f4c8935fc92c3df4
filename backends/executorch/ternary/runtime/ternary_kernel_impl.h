// Internals shared by the per-ISA GEMM files: the tile epilogue and the
// entry points each ISA file defines (declared here, defined only where the
// target supports them).
#pragma once

#include <cstddef>
#include <cstdint>

#include "ternary_blob.h"

namespace dynaedge {
namespace ternary {
namespace detail {

struct GemmArgs {
  const TernaryLinear* w;
  const int8_t* q;  // [m, k_padded]
  const int32_t* row_sum;  // [m]
  size_t m;
  int32_t* acc;  // [m, n] when the caller wants raw accumulators, else null
  float* y;  // [m, n] when the caller wants the dequantized output
  const float* row_scale;  // [m], with y
  size_t panel_begin;  // output columns [16 * panel_begin, 16 * panel_end)
  size_t panel_end;
};

// One result per (row, column): either the raw int32 or the float output.
// The float expression is fixed (no FMA contraction: see CMakeLists.txt) so
// every path produces identical bits.
inline void store_result(const GemmArgs& a, size_t i, size_t n, int32_t acc) {
  const size_t index = i * a.w->n + n;
  if (a.acc != nullptr) {
    a.acc[index] = acc;
    return;
  }
  const float scale = a.row_scale[i] * a.w->scales[n];
  float out = static_cast<float>(acc) * scale;
  if (a.w->has_bias) out = out + a.w->bias[n];
  a.y[index] = out;
}

inline int decode_code(const TernaryLinear& w, size_t n, size_t k) {
  const CodeLocation at = code_location(n, k, w.k_padded);
  return (w.weights[at.byte] >> at.shift) & 3;
}

void gemm_scalar(const GemmArgs& a);

// One activation row: absmax (NaN ignored, like fmax) and the int8 row with
// its sum; q[i] = clamp(round_half_even(x[i] * inv_scale), qmin, qmax), NaN
// -> qmin. The SIMD versions give the same bits as the scalar ones.
float absmax_scalar(const float* x, size_t k);
int32_t quantize_row_scalar(const float* x, size_t k, float inv_scale, float qmin, float qmax, int8_t* q);
#if defined(__x86_64__)
void gemm_avx2(const GemmArgs& a);
void gemm_avx512_vnni(const GemmArgs& a);
float absmax_avx2(const float* x, size_t k);
int32_t quantize_row_avx2(const float* x, size_t k, float inv_scale, float qmin, float qmax, int8_t* q);
float absmax_avx512(const float* x, size_t k);
int32_t quantize_row_avx512(const float* x, size_t k, float inv_scale, float qmin, float qmax, int8_t* q);
#endif
#if defined(__aarch64__)
void gemm_neon(const GemmArgs& a);
void gemm_neon_dot(const GemmArgs& a);
void gemm_i8mm(const GemmArgs& a);
bool cpu_has_dotprod();
bool cpu_has_i8mm();
float absmax_neon(const float* x, size_t k);
int32_t quantize_row_neon(const float* x, size_t k, float inv_scale, float qmin, float qmax, int8_t* q);
#endif

}  // namespace detail
}  // namespace ternary
}  // namespace dynaedge
