// A small C entry point over the parser and kernels, for ctypes tests, the
// microbenchmark and fuzzing. Not used by ExecuTorch itself.
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "ternary_blob.h"
#include "ternary_block.h"
#include "ternary_kernel.h"

using namespace dynaedge::ternary;

extern "C" {

// Returns a BlobStatus code (0 = valid) of a one-Linear or a fused-block blob.
int dynaedge_ternary_validate(const uint8_t* blob, size_t size) {
  if (is_block_blob(blob, size)) return static_cast<int>(parse_block(blob, size, nullptr));
  return static_cast<int>(parse_blob(blob, size, nullptr));
}

const char* dynaedge_ternary_status_name(int status) {
  return blob_status_name(static_cast<BlobStatus>(status));
}

int dynaedge_ternary_path_available(int path) {
  return kernel_path_available(static_cast<KernelPath>(path)) ? 1 : 0;
}

const char* dynaedge_ternary_path_name(int path) {
  return kernel_path_name(static_cast<KernelPath>(path));
}

void dynaedge_ternary_set_num_threads(int threads) { set_num_threads(threads); }

int dynaedge_ternary_num_threads() { return num_threads(); }

void dynaedge_ternary_set_min_parallel_macs(uint64_t macs) { set_min_parallel_macs(macs); }

int dynaedge_ternary_best_path() { return static_cast<int>(best_kernel_path()); }

// Runs the Linear on x[m, K]. With acc != null writes the int32 accumulators
// acc[m, N] (exactness tests), else the fp32 output y[m, N]. Returns a
// BlobStatus code, or -1 if the path is not available here. Runs `repeats`
// times and, if seconds != null, stores the mean time of one run (parsing
// excluded) for the microbenchmark.
int dynaedge_ternary_run(
    const uint8_t* blob, size_t size, const float* x, size_t m, float* y, int32_t* acc,
    int path, int repeats, double* seconds) {
  TernaryView view;
  const BlobStatus status = parse_blob(blob, size, &view);
  if (status != BlobStatus::Ok) return static_cast<int>(status);
  const TernaryLinear w = copy_linear(view);
  const KernelPath kp = static_cast<KernelPath>(path);
  if (!kernel_path_available(kp)) return -1;
  Scratch s;
  const int runs = repeats < 1 ? 1 : repeats;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < runs; ++r) {
    if (acc != nullptr) {
      s.q.resize(m * w.k_padded);
      s.row_scale.resize(m);
      s.row_sum.resize(m);
      quantize_activations(w, x, m, s.q.data(), s.row_scale.data(), s.row_sum.data());
      if (!ternary_gemm_s32(w, s.q.data(), s.row_sum.data(), m, acc, kp)) return -1;
    } else if (!ternary_linear(w, x, m, y, &s, kp)) {
      return -1;
    }
  }
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (seconds != nullptr) *seconds = elapsed.count() / runs;
  return 0;
}

// Runs a fused block (ternary_block.h) on x[m, K] (and residual[m, hidden] for
// LinearAddNorm, else null) into y[m, hidden] (Qkv: q, k, v one after the
// other in y), on the kernel's own pool.
// Returns a BlobStatus code, or -1 if the path is not available here.
int dynaedge_ternary_run_block(
    const uint8_t* blob, size_t size, const float* x, const float* residual, size_t m, float* y, int path) {
  TernaryBlock block;
  const BlobStatus status = parse_block(blob, size, &block);
  if (status != BlobStatus::Ok) return static_cast<int>(status);
  const KernelPath kp = static_cast<KernelPath>(path);
  if (!kernel_path_available(kp)) return -1;
  if ((block.kind == BlockKind::LinearAddNorm) != (residual != nullptr)) return -2;
  if (block.kind == BlockKind::Qkv) {  // y holds q, k and v one after the other
    Scratch s;
    const size_t q_size = m * block.first.n, k_size = m * block.second.n;
    return run_qkv(block, x, m, y, y + q_size, y + q_size + k_size, &s, kp) ? 0 : -1;
  }
  BlockScratch s;
  return run_block(block, x, residual, m, y, &s, kp) ? 0 : -1;
}

}  // extern "C"
