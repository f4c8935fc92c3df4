#include "ternary_kernel.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "thread_pool.h"

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
    case KernelPath::NeonDot: return "neon-dot";
    case KernelPath::I8mm: return "i8mm";
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
    case KernelPath::NeonDot:
      return detail::cpu_has_dotprod();
    case KernelPath::I8mm:
      return detail::cpu_has_i8mm();
#endif
    default:
      return false;
  }
}

KernelPath best_kernel_path() {
  // Checked once: __builtin_cpu_supports and getauxval read tables filled at startup.
  static const KernelPath best = [] {
    for (KernelPath p : {KernelPath::Avx512Vnni, KernelPath::Avx2, KernelPath::I8mm, KernelPath::NeonDot,
                         KernelPath::Neon}) {
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

std::atomic<int> g_threads{0};  // 0 = not chosen yet

int default_threads() {
  if (const char* env = std::getenv("DYNAEDGE_TERNARY_THREADS")) {
    const int t = std::atoi(env);
    if (t >= 1) return t;
  }
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  return cpus < 1 ? 1 : (cpus > 4 ? 4 : cpus);
}

ThreadPool& pool() {
  static ThreadPool* p = new ThreadPool();  // never destroyed (see thread_pool.h)
  return *p;
}

class OwnExecutor final : public Executor {
 public:
  int threads() const override { return num_threads(); }
  void run(size_t tasks, TaskFn fn, void* ctx) override { pool().run(tasks, num_threads() - 1, fn, ctx); }
};

std::atomic<uint64_t> g_min_parallel_macs{kDefaultMinParallelMacs};
constexpr size_t kPanelsPerTask = 2;
constexpr size_t kRowsPerQuantizeTask = 16;

void run_path(GemmArgs a, KernelPath path) {
  switch (path) {
#if defined(__x86_64__)
    case KernelPath::Avx2: detail::gemm_avx2(a); return;
    case KernelPath::Avx512Vnni: detail::gemm_avx512_vnni(a); return;
#endif
#if defined(__aarch64__)
    case KernelPath::Neon: detail::gemm_neon(a); return;
    case KernelPath::NeonDot: detail::gemm_neon_dot(a); return;
    case KernelPath::I8mm: detail::gemm_i8mm(a); return;
#endif
    default: detail::gemm_scalar(a); return;
  }
}

// Threads worth using for this Linear on `executor` (1: run on the caller alone).
int useful_threads(const TernaryLinear& w, size_t m, Executor* executor) {
  const uint64_t macs = static_cast<uint64_t>(m) * w.n_padded * w.k_padded;
  if (macs < g_min_parallel_macs.load(std::memory_order_relaxed) || w.n_padded / kPanelN < 2) return 1;
  return executor->threads();
}

struct GemmTask {
  GemmArgs args;
  KernelPath path;
  size_t panels;
};

void gemm_task(void* ctx, size_t t) {
  const auto* task = static_cast<const GemmTask*>(ctx);
  GemmArgs part = task->args;
  part.panel_begin = t * kPanelsPerTask;
  part.panel_end = std::min(task->panels, part.panel_begin + kPanelsPerTask);
  run_path(part, task->path);
}

bool run_gemm(GemmArgs a, KernelPath path, Executor* executor, int threads) {
  if (path == KernelPath::Auto) path = best_kernel_path();
  if (!kernel_path_available(path)) return false;
  const size_t panels = a.w->n_padded / kPanelN;
  if (threads <= 1) {
    a.panel_begin = 0;
    a.panel_end = panels;
    run_path(a, path);
    return true;
  }
  // Tasks of two panels taken in turn (a static split would idle a core
  // while the other is busy with someone else's work).
  GemmTask task{a, path, panels};
  executor->run((panels + kPanelsPerTask - 1) / kPanelsPerTask, gemm_task, &task);
  return true;
}

struct QuantizeTask {
  const TernaryLinear* w;
  const float* x;
  size_t m;
  Scratch* s;
};

void quantize_task(void* ctx, size_t t) {
  const auto* task = static_cast<const QuantizeTask*>(ctx);
  const size_t i0 = t * kRowsPerQuantizeTask;
  const size_t rows = std::min(task->m - i0, kRowsPerQuantizeTask);
  const TernaryLinear& w = *task->w;
  quantize_activations(w, task->x + i0 * w.k, rows, task->s->q.data() + i0 * w.k_padded,
                       task->s->row_scale.data() + i0, task->s->row_sum.data() + i0);
}

}  // namespace

void set_num_threads(int threads) {
  g_threads = threads < 1 ? 1 : (threads > kMaxThreads ? kMaxThreads : threads);
}

int num_threads() {
  if (g_threads.load() == 0) set_num_threads(default_threads());
  return g_threads.load();
}

void set_min_parallel_macs(uint64_t macs) { g_min_parallel_macs = macs; }

Executor& own_executor() {
  static OwnExecutor* executor = new OwnExecutor();  // never destroyed, like the pool
  return *executor;
}

void quantize_activations(
    const TernaryLinear& w, const float* x, size_t m, int8_t* q, float* row_scale,
    int32_t* row_sum) {
  const float qmin = static_cast<float>(w.act_qmin);
  const float qmax = static_cast<float>(w.act_qmax);
  // Per-element rounding is a libm call on baseline x86-64, slower than the
  // GEMM itself; the SIMD row functions give identical bits.
  auto absmax_fn = detail::absmax_scalar;
  auto quantize_fn = detail::quantize_row_scalar;
#if defined(__x86_64__)
  if (kernel_path_available(KernelPath::Avx512Vnni)) {
    absmax_fn = detail::absmax_avx512;
    quantize_fn = detail::quantize_row_avx512;
  } else if (kernel_path_available(KernelPath::Avx2)) {
    absmax_fn = detail::absmax_avx2;
    quantize_fn = detail::quantize_row_avx2;
  }
#elif defined(__aarch64__)
  absmax_fn = detail::absmax_neon;
  quantize_fn = detail::quantize_row_neon;
#endif
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
      const float absmax = absmax_fn(xr, w.k);
      // An all-zero row quantizes to zeros; scale 0 then gives y = bias.
      scale = absmax / qmax;
      inv_scale = absmax > 0.0f ? qmax / absmax : 0.0f;
    }
    row_sum[i] = quantize_fn(xr, w.k, inv_scale, qmin, qmax, qr);
    std::memset(qr + w.k, 0, w.k_padded - w.k);
    row_scale[i] = scale;
  }
}

bool ternary_gemm_s32(
    const TernaryLinear& w, const int8_t* q, const int32_t* row_sum, size_t m, int32_t* acc,
    KernelPath path, Executor* executor) {
  if (executor == nullptr) executor = &own_executor();
  const GemmArgs a{&w, q, row_sum, m, acc, nullptr, nullptr, 0, 0};
  return run_gemm(a, path, executor, useful_threads(w, m, executor));
}

bool ternary_linear(
    const TernaryLinear& w, const float* x, size_t m, float* y, Scratch* s, KernelPath path,
    Executor* executor) {
  if (executor == nullptr) executor = &own_executor();
  s->q.resize(m * w.k_padded);
  s->row_scale.resize(m);
  s->row_sum.resize(m);
  const int threads = useful_threads(w, m, executor);
  if (threads <= 1) {
    quantize_activations(w, x, m, s->q.data(), s->row_scale.data(), s->row_sum.data());
  } else {
    QuantizeTask task{&w, x, m, s};
    executor->run((m + kRowsPerQuantizeTask - 1) / kRowsPerQuantizeTask, quantize_task, &task);
  }
  const GemmArgs a{&w, s->q.data(), s->row_sum.data(), m, nullptr, y, s->row_scale.data(), 0, 0};
  return run_gemm(a, path, executor, threads);
}

namespace detail {

float absmax_scalar(const float* x, size_t k) {
  float absmax = 0.0f;
  for (size_t i = 0; i < k; ++i) absmax = std::fmax(absmax, std::fabs(x[i]));
  return absmax;
}

int32_t quantize_row_scalar(const float* x, size_t k, float inv_scale, float qmin, float qmax, int8_t* q) {
  int32_t sum = 0;
  for (size_t i = 0; i < k; ++i) {
    q[i] = quantize_one(x[i], inv_scale, qmin, qmax);
    sum += q[i];
  }
  return sum;
}

// The reference: decode each 2-bit code and multiply, no tricks.
void gemm_scalar(const GemmArgs& a) {
  const TernaryLinear& w = *a.w;
  const size_t n_end = std::min<size_t>(w.n, a.panel_end * kPanelN);
  for (size_t n = a.panel_begin * kPanelN; n < n_end; ++n) {
    for (size_t i = 0; i < a.m; ++i) {
      const int8_t* qr = a.q + i * w.k_padded;
      int32_t acc = 0;
      for (size_t kk = 0; kk < w.k_padded; ++kk) acc += qr[kk] * (decode_code(w, n, kk) - 1);
      store_result(a, i, n, acc);
    }
  }
}

}  // namespace detail
}  // namespace ternary
}  // namespace dynaedge
