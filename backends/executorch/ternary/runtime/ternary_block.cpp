#include "ternary_block.h"

#include <cmath>
#include <cstring>

namespace dynaedge {
namespace ternary {
namespace {

// Header field offsets; see README.md "Block blob".
constexpr size_t kOffMagic = 0;
constexpr size_t kOffVersion = 4;
constexpr size_t kOffHeaderSize = 6;
constexpr size_t kOffKind = 8;
constexpr size_t kOffFlags = 9;
constexpr uint8_t kFlagResidualFirst = 1;  // LinearAddNorm: the delegate's inputs are (residual, x)
constexpr size_t kOffReserved16 = 10;
constexpr size_t kOffHidden = 12;
constexpr size_t kOffEps = 16;
constexpr size_t kOffReserved32 = 20;
constexpr size_t kOffSections = 24;  // 4 x (u32 offset, u32 size): first, second, norm weight, norm bias
constexpr size_t kOffTotalSize = 56;
constexpr size_t kOffChecksum = 60;

BlobStatus parse_linear(const uint8_t* data, uint64_t offset, uint64_t size, TernaryLinear* out) {
  TernaryView view;
  const BlobStatus status = parse_blob(data + offset, static_cast<size_t>(size), &view);
  if (status != BlobStatus::Ok) return status;
  *out = copy_linear(view);
  return BlobStatus::Ok;
}

// Rows per parallel task of the element-wise passes.
constexpr size_t kRowsPerTask = 4;

struct RowsTask {
  const TernaryBlock* b;
  const float* a;  // GELU: the rows, in place; add+norm: the Linear output
  const float* residual;
  float* y;
  size_t m;
  size_t width;
};

void gelu_task(void* ctx, size_t t) {
  const auto* task = static_cast<const RowsTask*>(ctx);
  const size_t i0 = t * kRowsPerTask;
  const size_t rows = task->m - i0 < kRowsPerTask ? task->m - i0 : kRowsPerTask;
  gelu_inplace(task->y + i0 * task->width, rows * task->width);
}

void add_norm_task(void* ctx, size_t t) {
  const auto* task = static_cast<const RowsTask*>(ctx);
  const TernaryBlock& b = *task->b;
  const size_t end = (t + 1) * kRowsPerTask < task->m ? (t + 1) * kRowsPerTask : task->m;
  for (size_t i = t * kRowsPerTask; i < end; ++i) {
    add_layer_norm_row(task->a + i * b.hidden, task->residual + i * b.hidden, b.norm_weight.data(),
                       b.norm_bias.data(), b.eps, b.hidden, task->y + i * b.hidden);
  }
}

// One small pass over rows: on the pool when there is more than one task.
void run_rows(Executor* executor, size_t m, TaskFn fn, RowsTask* task) {
  const size_t tasks = (m + kRowsPerTask - 1) / kRowsPerTask;
  if (tasks <= 1 || executor->threads() <= 1) {
    for (size_t t = 0; t < tasks; ++t) fn(task, t);
    return;
  }
  executor->run(tasks, fn, task);
}

// erf(x) as x P(x^2) / Q(x^2) on [-4, 4] (beyond, |erf| rounds to 1 in fp32):
// the rational approximation XLA and Eigen use for float, max error ~4e-7.
// Plain element-wise float ops, so the compiler vectorizes the loop and
// every CPU computes the same bits.
inline float erf_rational(float v) {
  const float x = v < -4.0f ? -4.0f : (v > 4.0f ? 4.0f : v);
  const float x2 = x * x;
  float p = x2 * -2.72614225801306e-10f + 2.77068142495902e-08f;
  p = x2 * p + -2.10102402082508e-06f;
  p = x2 * p + -5.69250639462346e-05f;
  p = x2 * p + -7.34990630326855e-04f;
  p = x2 * p + -2.95459980854025e-03f;
  p = x2 * p + -1.60960333262415e-02f;
  p = x * p;
  float q = x2 * -1.45660718464996e-05f + -2.13374055278905e-04f;
  q = x2 * q + -1.68282697438203e-03f;
  q = x2 * q + -7.37332916720468e-03f;
  q = x2 * q + -1.42647390514189e-02f;
  return p / q;
}

}  // namespace

bool is_block_blob(const uint8_t* data, size_t size) {
  return data != nullptr && size >= 4 && read_le<uint32_t>(data, kOffMagic) == kBlockMagic;
}

BlobStatus parse_block(const uint8_t* data, size_t size, TernaryBlock* out) {
  if (data == nullptr || size < kHeaderSize) return BlobStatus::TooSmall;
  if (read_le<uint32_t>(data, kOffMagic) != kBlockMagic) return BlobStatus::BadMagic;
  if (read_le<uint16_t>(data, kOffVersion) != kBlockVersion) return BlobStatus::BadVersion;
  const uint8_t kind = data[kOffKind];
  if (read_le<uint16_t>(data, kOffHeaderSize) != kHeaderSize || (data[kOffFlags] & ~kFlagResidualFirst) != 0 ||
      read_le<uint16_t>(data, kOffReserved16) != 0 || read_le<uint32_t>(data, kOffReserved32) != 0 ||
      kind < static_cast<uint8_t>(BlockKind::LinearAddNorm) || kind > static_cast<uint8_t>(BlockKind::Qkv)) {
    return BlobStatus::BadHeader;
  }
  if (read_le<uint32_t>(data, kOffTotalSize) != size) return BlobStatus::SizeMismatch;
  const BlockKind block_kind = static_cast<BlockKind>(kind);
  const bool qkv = block_kind == BlockKind::Qkv;
  const uint32_t hidden = read_le<uint32_t>(data, kOffHidden);
  const float eps = read_le<float>(data, kOffEps);
  if (hidden == 0 || hidden > kMaxDim) return BlobStatus::BadShape;
  if (qkv ? eps != 0.0f : !(std::isfinite(eps) && eps > 0.0f)) return BlobStatus::BadScale;

  // What each of the four slots holds for this kind: a Linear, a LayerNorm
  // vector, or nothing (offset and size 0). Sections in slot order, 64-byte
  // aligned, each after the previous, the last ending at the blob's end.
  enum Slot { kEmpty, kLinear, kNorm };
  static const Slot kSlots[3][4] = {{kLinear, kEmpty, kNorm, kNorm},
                                    {kLinear, kLinear, kNorm, kNorm},
                                    {kLinear, kLinear, kLinear, kEmpty}};
  const Slot* slots = kSlots[kind - 1];
  uint64_t offset[4], length[4];
  for (int s = 0; s < 4; ++s) {
    offset[s] = read_le<uint32_t>(data, kOffSections + 8 * s);
    length[s] = read_le<uint32_t>(data, kOffSections + 8 * s + 4);
  }
  const uint64_t total = size;
  uint64_t next = kHeaderSize;
  for (int s = 0; s < 4; ++s) {
    if (slots[s] == kEmpty) {
      if (offset[s] != 0 || length[s] != 0) return BlobStatus::BadSection;
      continue;
    }
    if (offset[s] < next || offset[s] % kSectionAlign != 0 || offset[s] > total || length[s] > total - offset[s] ||
        (slots[s] == kNorm && length[s] != static_cast<uint64_t>(hidden) * 4)) {
      return BlobStatus::BadSection;
    }
    next = offset[s] + length[s];
  }
  if (next != total) return BlobStatus::BadSection;
  if (read_le<uint32_t>(data, kOffChecksum) != blob_checksum(data, size)) return BlobStatus::ChecksumMismatch;

  TernaryBlock b;
  b.kind = block_kind;
  b.hidden = hidden;
  b.eps = eps;
  b.residual_first = (data[kOffFlags] & kFlagResidualFirst) != 0;
  // only the attention output takes a residual apart from x
  if (b.residual_first && block_kind != BlockKind::LinearAddNorm) return BlobStatus::BadHeader;
  TernaryLinear* linears[3] = {&b.first, &b.second, &b.third};
  for (int s = 0; s < 3; ++s) {
    if (slots[s] != kLinear) continue;
    const BlobStatus status = parse_linear(data, offset[s], length[s], linears[s]);
    if (status != BlobStatus::Ok) return status;
  }
  bool shapes_ok;
  switch (block_kind) {
    case BlockKind::LinearAddNorm: shapes_ok = b.first.n == hidden; break;
    case BlockKind::FfnAddNorm:
      shapes_ok = b.first.k == hidden && b.second.k == b.first.n && b.second.n == hidden;
      break;
    default: shapes_ok = b.first.k == hidden && b.second.k == hidden && b.third.k == hidden; break;
  }
  if (!shapes_ok) return BlobStatus::BadShape;
  if (!qkv) {
    if (!floats_ok(data + offset[2], hidden, true) || !floats_ok(data + offset[3], hidden, true)) {
      return BlobStatus::BadScale;
    }
    b.norm_weight.resize(hidden);
    b.norm_bias.resize(hidden);
    std::memcpy(b.norm_weight.data(), data + offset[2], static_cast<size_t>(hidden) * 4);
    std::memcpy(b.norm_bias.data(), data + offset[3], static_cast<size_t>(hidden) * 4);
  }
  if (out != nullptr) *out = std::move(b);
  return BlobStatus::Ok;
}

// x86: one clone per ISA, picked at load time; the same element-wise ops, so the same bits.
#if defined(__x86_64__) && defined(__linux__) && !defined(__ANDROID__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void gelu_inplace(float* x, size_t n) {
  for (size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + erf_rational(x[i] * 0.70710678118654752f));
}

void add_layer_norm_row(const float* a, const float* b, const float* weight, const float* bias, float eps,
                        size_t n, float* y) {
  // Sums over 16 lanes in a fixed order: vectorizable, and the same on every CPU.
  constexpr size_t kLanes = 16;
  float lanes[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      y[i + j] = a[i + j] + b[i + j];
      lanes[j] += y[i + j];
    }
  }
  float total = 0.0f;
  for (size_t j = 0; j < kLanes; ++j) total += lanes[j];
  for (; i < n; ++i) {
    y[i] = a[i] + b[i];
    total += y[i];
  }
  const float mean = total / static_cast<float>(n);
  float sq[kLanes] = {};
  for (i = 0; i + kLanes <= n; i += kLanes) {
    for (size_t j = 0; j < kLanes; ++j) {
      const float d = y[i + j] - mean;
      sq[j] += d * d;
    }
  }
  float var = 0.0f;
  for (size_t j = 0; j < kLanes; ++j) var += sq[j];
  for (; i < n; ++i) var += (y[i] - mean) * (y[i] - mean);
  const float rstd = 1.0f / std::sqrt(var / static_cast<float>(n) + eps);
  for (i = 0; i < n; ++i) y[i] = (y[i] - mean) * rstd * weight[i] + bias[i];
}

bool run_qkv(const TernaryBlock& b, const float* x, size_t m, float* q, float* k, float* v, Scratch* s,
             KernelPath path, Executor* executor) {
  if (b.kind != BlockKind::Qkv) return false;
  return ternary_linear(b.first, x, m, q, s, path, executor) && ternary_linear(b.second, x, m, k, s, path, executor) &&
         ternary_linear(b.third, x, m, v, s, path, executor);
}

bool run_block(const TernaryBlock& b, const float* x, const float* residual, size_t m, float* y,
               BlockScratch* s, KernelPath path, Executor* executor) {
  if (b.kind == BlockKind::Qkv) return false;  // three outputs: run_qkv
  if (executor == nullptr) executor = &own_executor();
  s->sum.resize(m * b.hidden);
  const float* add_to = residual;
  if (b.kind == BlockKind::FfnAddNorm) {
    s->hidden.resize(m * b.first.n);
    if (!ternary_linear(b.first, x, m, s->hidden.data(), &s->linear, path, executor)) return false;
    RowsTask gelu{&b, nullptr, nullptr, s->hidden.data(), m, b.first.n};
    run_rows(executor, m, gelu_task, &gelu);
    if (!ternary_linear(b.second, s->hidden.data(), m, s->sum.data(), &s->linear, path, executor)) return false;
    add_to = x;
  } else if (!ternary_linear(b.first, x, m, s->sum.data(), &s->linear, path, executor)) {
    return false;
  }
  RowsTask norm{&b, s->sum.data(), add_to, y, m, b.hidden};
  run_rows(executor, m, add_norm_task, &norm);
  return true;
}

}  // namespace ternary
}  // namespace dynaedge
