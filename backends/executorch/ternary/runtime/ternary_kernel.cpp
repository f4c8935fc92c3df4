#include "ternary_kernel.h"

#include <cmath>
#include <cstring>

#include "ternary_kernel_impl.h"

namespace dynaedge {
namespace ternary {

using detail::GemmArgs;

const char* kernel_path_name(KernelPath path) {
  switch (path) {
    case KernelPath::Auto: return "auto";
    case KernelPath::Scalar: return "scalar";
    case KernelPath::Avx2: return "avx2";
    case KernelPath::Avx512Vnni: return "avx512vnni";
    case KernelPath::Neon: return "neon";
  }
  return "unknown";
}

bool kernel_path_available(KernelPath path) {
  switch (path) {
    case KernelPath::Auto:
    case KernelPath::Scalar:
      return true;
#if defined(__x86_64__)
    case KernelPath::Avx2:
      return __builtin_cpu_supports("avx2");
    case KernelPath::Avx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vnni");
#endif
#if defined(__aarch64__)
    case KernelPath::Neon:
      return true;  // NEON (Advanced SIMD) is mandatory on AArch64
#endif
    default:
      return false;
  }
}

KernelPath best_kernel_path() {
  // Checked once: __builtin_cpu_supports reads a table filled at startup.
  static const KernelPath best = [] {
    for (KernelPath p : {KernelPath::Avx512Vnni, KernelPath::Avx2, KernelPath::Neon}) {
      if (kernel_path_available(p)) return p;
    }
    return KernelPath::Scalar;
  }();
  return best;
}

namespace {

// Round half to even like torch.round, then clamp; NaN clamps to qmin so the
// float-to-int conversion is always defined.
inline int8_t quantize_one(float x, float inv_scale, float qmin, float qmax) {
  float v = std::nearbyint(x * inv_scale);
  if (!(v >= qmin)) v = qmin;
  if (v > qmax) v = qmax;
  return static_cast<int8_t>(static_cast<int>(v));
}

bool run_gemm(const GemmArgs& a, KernelPath path) {
  if (path == KernelPath::Auto) path = best_kernel_path();
  if (!kernel_path_available(path)) return false;
  switch (path) {
#if defined(__x86_64__)
    case KernelPath::Avx2: detail::gemm_avx2(a); return true;
    case KernelPath::Avx512Vnni: detail::gemm_avx512_vnni(a); return true;
#endif
#if defined(__aarch64__)
    case KernelPath::Neon: detail::gemm_neon(a); return true;
#endif
    default: detail::gemm_scalar(a); return true;
  }
}

}  // namespace

void quantize_activations(
    const TernaryLinear& w, const float* x, size_t m, int8_t* q, float* row_scale,
    int32_t* row_sum) {
  const float qmin = static_cast<float>(w.act_qmin);
  const float qmax = static_cast<float>(w.act_qmax);
  for (size_t i = 0; i < m; ++i) {
    const float* xr = x + i * w.k;
    int8_t* qr = q + i * w.k_padded;
    float scale, inv_scale;
    if (w.act_mode == ActMode::StaticPerTensor) {
      scale = w.act_scale;
      // Same as torch's quantize_per_tensor: x * (1.0 / scale), the reciprocal
      // taken in double and rounded to float.
      inv_scale = static_cast<float>(1.0 / static_cast<double>(scale));
    } else {
      float absmax = 0.0f;
      for (size_t kk = 0; kk < w.k; ++kk) absmax = std::fmax(absmax, std::fabs(xr[kk]));
      // An all-zero row quantizes to zeros; scale 0 then gives y = bias.
      scale = absmax / qmax;
      inv_scale = absmax > 0.0f ? qmax / absmax : 0.0f;
    }
    int32_t sum = 0;
    for (size_t kk = 0; kk < w.k; ++kk) {
      qr[kk] = quantize_one(xr[kk], inv_scale, qmin, qmax);
      sum += qr[kk];
    }
    std::memset(qr + w.k, 0, w.k_padded - w.k);
    row_scale[i] = scale;
    row_sum[i] = sum;
  }
}

bool ternary_gemm_s32(
    const TernaryLinear& w, const int8_t* q, const int32_t* row_sum, size_t m, int32_t* acc,
    KernelPath path) {
  const GemmArgs a{&w, q, row_sum, m, acc, nullptr, nullptr};
  return run_gemm(a, path);
}

bool ternary_linear(
    const TernaryLinear& w, const float* x, size_t m, float* y, Scratch* s, KernelPath path) {
  s->q.resize(m * w.k_padded);
  s->row_scale.resize(m);
  s->row_sum.resize(m);
  quantize_activations(w, x, m, s->q.data(), s->row_scale.data(), s->row_sum.data());
  const GemmArgs a{&w, s->q.data(), s->row_sum.data(), m, nullptr, y, s->row_scale.data()};
  return run_gemm(a, path);
}

namespace detail {

// The reference: decode each 2-bit code and multiply, no tricks.
void gemm_scalar(const GemmArgs& a) {
  const TernaryLinear& w = *a.w;
  for (size_t n = 0; n < w.n; ++n) {
    const uint8_t* row = w.weights.data() + n * w.row_bytes();
    for (size_t i = 0; i < a.m; ++i) {
      const int8_t* qr = a.q + i * w.k_padded;
      int32_t acc = 0;
      for (size_t kk = 0; kk < w.k_padded; ++kk) acc += qr[kk] * (decode_code(row, kk) - 1);
      store_result(a, i, n, acc);
    }
  }
}

}  // namespace detail
}  // namespace ternary
}  // namespace dynaedge
