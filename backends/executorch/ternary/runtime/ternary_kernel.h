// int8-activation x ternary-weight Linear: y[M,N] = dequant(q(x)[M,K] . W[N,K]^T).
//
// Every path (scalar, AVX2, AVX-512 VNNI, NEON, NEON SDOT, i8mm) computes the same int32
// accumulators exactly; only the speed differs. The float epilogue is shared,
// compiled with -ffp-contract=off, so outputs are bit-identical too.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "ternary_blob.h"

namespace dynaedge {
namespace ternary {

enum class KernelPath : int {
  Auto = 0,  // the fastest path this CPU supports
  Scalar = 1,  // the reference
  Avx2 = 2,
  Avx512Vnni = 3,
  Neon = 4,  // ARMv8.0 widening multiplies
  NeonDot = 5,  // ARMv8.2 SDOT
  I8mm = 6,  // ARMv8.6 SMMLA
};

const char* kernel_path_name(KernelPath path);
// Compiled in for this target and supported by the running CPU.
bool kernel_path_available(KernelPath path);
KernelPath best_kernel_path();

// Threads of the kernel's own pool (the caller plus num_threads() - 1
// workers). Default: the CPU count capped at 4, or $DYNAEDGE_TERNARY_THREADS.
constexpr int kMaxThreads = 8;
void set_num_threads(int threads);
int num_threads();

// A Linear of fewer multiply-adds (M x N_padded x K_padded) runs on the caller
// alone, whatever the executor offers. Measured by
// scripts/ternary_parallel_threshold.py (README: "Threads"): from 786,432 on,
// two threads beat one by >= 5 % in every MiniLM slice shape with the pool
// warm (AMD EPYC, AVX2, 2026-12-07). Settable for that measurement.
constexpr uint64_t kDefaultMinParallelMacs = 786432;
void set_min_parallel_macs(uint64_t macs);

// Where a Linear's parallel work runs: run(tasks, fn, ctx) calls fn(ctx, t)
// for every t in [0, tasks), the caller taking a share, and returns when all
// are done. The ExecuTorch delegate passes ExecuTorch's own pool (the one
// XNNPACK uses); null means the kernel's own pool.
using TaskFn = void (*)(void* ctx, size_t task);
class Executor {
 public:
  virtual int threads() const = 0;
  virtual void run(size_t tasks, TaskFn fn, void* ctx) = 0;

 protected:
  ~Executor() = default;
};
Executor& own_executor();

// Quantizes x[m, K] (row-major fp32) into q[m, K_padded] int8 with zeroed
// padding, the per-row dequantization scale and the per-row sum of q (the x86
// paths multiply by weight+1 and subtract the row sum).
void quantize_activations(
    const TernaryLinear& w,
    const float* x,
    size_t m,
    int8_t* q,
    float* row_scale,
    int32_t* row_sum);

// Exactly acc[i, n] = sum_k q[i, k] * weight[n, k]. Returns false if `path`
// is not available.
bool ternary_gemm_s32(
    const TernaryLinear& w,
    const int8_t* q,
    const int32_t* row_sum,
    size_t m,
    int32_t* acc,
    KernelPath path,
    Executor* executor = nullptr);

// Buffers reused across calls so execute() does not allocate per call.
struct Scratch {
  std::vector<int8_t> q;
  std::vector<float> row_scale;
  std::vector<int32_t> row_sum;
};

// The whole op: y[i, n] = float(acc[i, n]) * (row_scale[i] * w_scale[n]) + bias[n].
// Activation quantization (row blocks) and the GEMM with its epilogue (column
// panels) both run as parallel tasks on `executor`.
bool ternary_linear(
    const TernaryLinear& w,
    const float* x,
    size_t m,
    float* y,
    Scratch* scratch,
    KernelPath path,
    Executor* executor = nullptr);

}  // namespace ternary
}  // namespace dynaedge
