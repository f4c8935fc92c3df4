// ExecuTorch BackendInterface for "DynaedgeTernaryBackend": one delegate call
// is one Linear, inputs (x[..., K]) and outputs (y[..., N]), both fp32; or one
// fused block (ternary_block.h): (x, residual) -> y for LinearAddNorm, x -> y
// for FfnAddNorm, x -> (q, k, v) for Qkv.
// init() validates the blob and copies the weights out so ExecuTorch can free
// the processed buffer; execute() quantizes x and runs the ternary GEMM on
// ExecuTorch's own thread pool, the one XNNPACK runs on: its workers are still
// spinning from the previous XNNPACK call, a second pool would fight them for
// the cores, and the runtime's thread setting then governs every op.
#include <executorch/runtime/backend/interface.h>
#include <executorch/runtime/core/error.h>
#include <executorch/runtime/core/evalue.h>
#include <executorch/runtime/core/exec_aten/util/tensor_util.h>
#include <executorch/runtime/platform/log.h>

#include <array>
#include <cstdint>
#include <new>

#include "ternary_blob.h"
#include "ternary_block.h"
#include "ternary_kernel.h"

// The wheel ships libexecutorch_threadpool.so but not threadpool.h or
// pthreadpool.h: the three declarations used here, as those headers give them
// (extension/threadpool/threadpool.h; pthreadpool's stable C API).
struct pthreadpool;
extern "C" {
size_t pthreadpool_get_threads_count(pthreadpool* pool);
void pthreadpool_parallelize_1d(
    pthreadpool* pool, void (*fn)(void*, size_t), void* ctx, size_t range, uint32_t flags);
}
namespace executorch::extension::threadpool {
pthreadpool* get_pthreadpool();
}  // namespace executorch::extension::threadpool

namespace dynaedge {
namespace ternary {
namespace {

using executorch::aten::ScalarType;
using executorch::aten::SizesType;
using executorch::aten::Tensor;
using executorch::runtime::ArrayRef;
using executorch::runtime::BackendExecutionContext;
using executorch::runtime::BackendInitContext;
using executorch::runtime::BackendInterface;
using executorch::runtime::CompileSpec;
using executorch::runtime::DelegateHandle;
using executorch::runtime::Error;
using executorch::runtime::EValue;
using executorch::runtime::FreeableBuffer;
using executorch::runtime::Result;
using executorch::runtime::Span;

constexpr const char* kBackendName = "DynaedgeTernaryBackend";

// ExecuTorch's pool, looked up per call: the runtime may replace it
// (_unsafe_reset_threadpool) between calls. No pool: the caller alone.
class ExecuTorchExecutor final : public Executor {
 public:
  ExecuTorchExecutor() : pool_(executorch::extension::threadpool::get_pthreadpool()) {}
  int threads() const override {
    return pool_ == nullptr ? 1 : static_cast<int>(pthreadpool_get_threads_count(pool_));
  }
  void run(size_t tasks, TaskFn fn, void* ctx) override {
    if (pool_ == nullptr) {
      for (size_t t = 0; t < tasks; ++t) fn(ctx, t);
      return;
    }
    pthreadpool_parallelize_1d(pool_, fn, ctx, tasks, 0);
  }

 private:
  pthreadpool* pool_;
};

struct Handle {
  bool is_block = false;
  TernaryLinear linear;
  TernaryBlock block;
  Scratch scratch;  // reused by execute(); a method runs one call at a time
  BlockScratch block_scratch;
};

bool is_float(const EValue* v) { return v->isTensor() && v->toTensor().scalar_type() == ScalarType::Float; }

// y shaped like x's leading dims with `n` columns (resize handles dynamic shapes).
Error shape_output(const Tensor& x, Tensor& y, uint32_t n) {
  std::array<SizesType, executorch::runtime::kTensorDimensionLimit> sizes{};
  for (ssize_t d = 0; d + 1 < x.dim(); ++d) sizes[d] = x.size(d);
  sizes[x.dim() - 1] = static_cast<SizesType>(n);
  const Error resized = executorch::runtime::resize_tensor(
      y, ArrayRef<SizesType>(sizes.data(), static_cast<size_t>(x.dim())));
  if (resized != Error::Ok || static_cast<size_t>(y.numel()) != static_cast<size_t>(x.numel()) / x.size(x.dim() - 1) * n) {
    ET_LOG(Error, "%s: cannot shape the output as [..., %u]", kBackendName, n);
    return Error::InvalidArgument;
  }
  return Error::Ok;
}

// Qkv: x -> (q, k, v).
Error execute_qkv(Handle* handle, Span<EValue*> args) {
  const TernaryBlock& b = handle->block;
  if (args.size() != 4 || !is_float(args[0]) || !is_float(args[1]) || !is_float(args[2]) || !is_float(args[3])) {
    ET_LOG(Error, "%s: Q/K/V block expects float (x, q, k, v), got %zu args", kBackendName, args.size());
    return Error::InvalidArgument;
  }
  const Tensor& x = args[0]->toTensor();
  if (x.dim() < 1 || x.size(x.dim() - 1) != static_cast<ssize_t>(b.hidden)) {
    ET_LOG(Error, "%s: expected x[..., %u]", kBackendName, b.hidden);
    return Error::InvalidArgument;
  }
  const TernaryLinear* linears[3] = {&b.first, &b.second, &b.third};
  for (int i = 0; i < 3; ++i) {
    const Error shaped = shape_output(x, args[1 + i]->toTensor(), linears[i]->n);
    if (shaped != Error::Ok) return shaped;
  }
  ExecuTorchExecutor executor;
  const size_t m = static_cast<size_t>(x.numel()) / b.hidden;
  if (!run_qkv(b, x.const_data_ptr<float>(), m, args[1]->toTensor().mutable_data_ptr<float>(),
               args[2]->toTensor().mutable_data_ptr<float>(), args[3]->toTensor().mutable_data_ptr<float>(),
               &handle->scratch, KernelPath::Auto, &executor)) {
    return Error::Internal;
  }
  return Error::Ok;
}

Error execute_block(Handle* handle, Span<EValue*> args) {
  const TernaryBlock& b = handle->block;
  if (b.kind == BlockKind::Qkv) return execute_qkv(handle, args);
  const bool with_residual = b.kind == BlockKind::LinearAddNorm;
  const size_t inputs = with_residual ? 2 : 1;
  if (args.size() != inputs + 1) {
    ET_LOG(Error, "%s: block expects %zu inputs and 1 output, got %zu args", kBackendName, inputs, args.size());
    return Error::InvalidArgument;
  }
  for (size_t i = 0; i <= inputs; ++i) {
    if (!is_float(args[i])) {
      ET_LOG(Error, "%s: block argument %zu is not a float tensor", kBackendName, i);
      return Error::InvalidArgument;
    }
  }
  const size_t x_at = with_residual && b.residual_first ? 1 : 0;
  const Tensor& x = args[x_at]->toTensor();
  Tensor& y = args[inputs]->toTensor();
  if (x.dim() < 1 || x.size(x.dim() - 1) != static_cast<ssize_t>(b.first.k)) {
    ET_LOG(Error, "%s: expected x[..., %u]", kBackendName, b.first.k);
    return Error::InvalidArgument;
  }
  const size_t m = static_cast<size_t>(x.numel()) / b.first.k;
  const float* residual = nullptr;
  if (with_residual) {
    const Tensor& r = args[1 - x_at]->toTensor();
    if (static_cast<size_t>(r.numel()) != m * b.hidden || r.size(r.dim() - 1) != static_cast<ssize_t>(b.hidden)) {
      ET_LOG(Error, "%s: expected residual[..., %u] with x's rows", kBackendName, b.hidden);
      return Error::InvalidArgument;
    }
    residual = r.const_data_ptr<float>();
  }
  const Error shaped = shape_output(x, y, b.hidden);
  if (shaped != Error::Ok) return shaped;
  ExecuTorchExecutor executor;
  if (!run_block(b, x.const_data_ptr<float>(), residual, m, y.mutable_data_ptr<float>(), &handle->block_scratch,
                 KernelPath::Auto, &executor)) {
    return Error::Internal;
  }
  return Error::Ok;
}

class DynaedgeTernaryBackend final : public BackendInterface {
 public:
  bool is_available() const override { return true; }

  Result<DelegateHandle*> init(
      BackendInitContext& /*context*/,
      FreeableBuffer* processed,
      ArrayRef<CompileSpec> /*compile_specs*/) const override {
    if (processed == nullptr) return Error::InvalidArgument;
    Handle* handle = new (std::nothrow) Handle();
    if (handle == nullptr) return Error::MemoryAllocationFailed;
    const auto* data = static_cast<const uint8_t*>(processed->data());
    handle->is_block = is_block_blob(data, processed->size());
    TernaryView view;
    const BlobStatus status = handle->is_block ? parse_block(data, processed->size(), &handle->block)
                                               : parse_blob(data, processed->size(), &view);
    if (status != BlobStatus::Ok) {
      ET_LOG(Error, "%s: rejected %s blob of %zu bytes: %s", kBackendName, handle->is_block ? "block" : "linear",
             processed->size(), blob_status_name(status));
      delete handle;
      // A blob from another format version is an incompatibility, anything
      // else a corrupt program.
      return status == BlobStatus::BadMagic || status == BlobStatus::BadVersion
          ? Error::DelegateInvalidCompatibility
          : Error::InvalidProgram;
    }
    if (!handle->is_block) handle->linear = copy_linear(view);
    processed->Free();
    return handle;
  }

  Error execute(
      BackendExecutionContext& /*context*/,
      DelegateHandle* opaque,
      Span<EValue*> args) const override {
    if (opaque == nullptr) return Error::DelegateInvalidHandle;
    Handle* handle = static_cast<Handle*>(opaque);
    if (handle->is_block) return execute_block(handle, args);
    const TernaryLinear& w = handle->linear;
    if (args.size() != 2 || !args[0]->isTensor() || !args[1]->isTensor()) {
      ET_LOG(Error, "%s: expected (x, y) tensors, got %zu args", kBackendName, args.size());
      return Error::InvalidArgument;
    }
    const Tensor& x = args[0]->toTensor();
    Tensor& y = args[1]->toTensor();
    if (x.scalar_type() != ScalarType::Float || y.scalar_type() != ScalarType::Float ||
        x.dim() < 1 || x.size(x.dim() - 1) != static_cast<ssize_t>(w.k)) {
      ET_LOG(Error, "%s: expected float x[..., %u] and float y", kBackendName, w.k);
      return Error::InvalidArgument;
    }
    const Error shaped = shape_output(x, y, w.n);
    if (shaped != Error::Ok) return shaped;
    const size_t m = static_cast<size_t>(x.numel()) / w.k;
    ExecuTorchExecutor executor;
    if (!ternary_linear(w, x.const_data_ptr<float>(), m, y.mutable_data_ptr<float>(),
                        &handle->scratch, KernelPath::Auto, &executor)) {
      return Error::Internal;
    }
    return Error::Ok;
  }

  void destroy(DelegateHandle* opaque) const override { delete static_cast<Handle*>(opaque); }
};

DynaedgeTernaryBackend g_backend;
const executorch::runtime::Backend g_entry{kBackendName, &g_backend};
// Registration at load time: loading the library is all a host app does.
const Error g_registered = executorch::runtime::register_backend(g_entry);

}  // namespace
}  // namespace ternary
}  // namespace dynaedge

// Lets Python (and an app) ask whether this copy registered itself.
extern "C" int dynaedge_ternary_backend_registered() {
  return dynaedge::ternary::g_registered == executorch::runtime::Error::Ok ? 1 : 0;
}
