// Unit tests of the blob parser and every GEMM path, without ExecuTorch, so
// the same binary runs natively and under qemu-aarch64. Exit code 0 = pass.
// Prints one line per check group with the numbers it compared.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "../ternary_block.h"
#include "../ternary_kernel.h"
#include "../ternary_kernel_impl.h"
#include "blob_builder.h"

using namespace dynaedge::ternary;
using dynaedge::ternary::testing::build_blob;
using dynaedge::ternary::testing::build_block_blob;
using dynaedge::ternary::testing::LinearSpec;
using dynaedge::ternary::testing::put;
using dynaedge::ternary::testing::reseal;

namespace {

int g_failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++g_failures;
    std::printf("FAIL %s\n", what.c_str());
  }
}

LinearSpec random_spec(uint32_t n, uint32_t k, bool bias, ActMode mode, std::mt19937& rng) {
  LinearSpec s{n, k, {}, {}, {}};
  std::uniform_int_distribution<int> code(-1, 1);
  std::uniform_real_distribution<float> uni(0.01f, 1.0f);
  for (size_t i = 0; i < static_cast<size_t>(n) * k; ++i) s.weights.push_back(static_cast<int8_t>(code(rng)));
  for (uint32_t i = 0; i < n; ++i) s.scales.push_back(uni(rng));
  if (bias)
    for (uint32_t i = 0; i < n; ++i) s.bias.push_back(uni(rng) - 0.5f);
  s.act_mode = mode;
  s.act_scale = mode == ActMode::StaticPerTensor ? 0.02f : 0.0f;
  if (mode == ActMode::StaticPerTensor) s.act_qmin = -128;
  return s;
}

// The int32 result straight from the unpacked weights, independent of the
// 2-bit layout: what every path must reproduce exactly.
std::vector<int32_t> naive_acc(const LinearSpec& s, const std::vector<int8_t>& q, size_t m, uint32_t kp) {
  std::vector<int32_t> acc(m * s.n);
  for (size_t i = 0; i < m; ++i)
    for (uint32_t n = 0; n < s.n; ++n) {
      int32_t a = 0;
      for (uint32_t kk = 0; kk < s.k; ++kk) a += q[i * kp + kk] * s.weights[static_cast<size_t>(n) * s.k + kk];
      acc[i * s.n + n] = a;
    }
  return acc;
}

void test_paths() {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  const uint32_t shapes[][2] = {{1, 1}, {3, 63}, {4, 64}, {5, 65}, {17, 130}, {64, 384}, {33, 1536}, {128, 64}, {200, 1536}};
  const KernelPath paths[] = {KernelPath::Scalar, KernelPath::Avx2, KernelPath::Avx512Vnni,
                              KernelPath::Neon, KernelPath::NeonDot, KernelPath::I8mm};
  int compared = 0;
  std::string compared_paths;
  for (KernelPath p : paths) {
    if (kernel_path_available(p)) compared_paths += std::string(" ") + kernel_path_name(p);
  }
  for (const auto& shape : shapes) {
    for (ActMode mode : {ActMode::DynamicPerRow, ActMode::StaticPerTensor}) {
      const LinearSpec s = random_spec(shape[0], shape[1], shape[0] % 2 == 1, mode, rng);
      const std::vector<uint8_t> blob = build_blob(s);
      TernaryView view;
      const BlobStatus st = parse_blob(blob.data(), blob.size(), &view);
      check(st == BlobStatus::Ok, std::string("parse valid blob: ") + blob_status_name(st));
      if (st != BlobStatus::Ok) continue;
      const TernaryLinear w = copy_linear(view);
      for (size_t m : {1, 2, 3, 4, 5, 9, 16, 37}) {
        std::vector<float> x(m * s.k);
        for (float& v : x) v = normal(rng);
        if (m == 3) x[s.k] = 1e4f;  // saturates in static mode
        std::vector<int8_t> q(m * w.k_padded);
        std::vector<float> row_scale(m);
        std::vector<int32_t> row_sum(m);
        quantize_activations(w, x.data(), m, q.data(), row_scale.data(), row_sum.data());
        const std::vector<int32_t> expect = naive_acc(s, q, m, w.k_padded);
        std::vector<float> y_ref(m * s.n);
        Scratch scratch;
        check(ternary_linear(w, x.data(), m, y_ref.data(), &scratch, KernelPath::Scalar), "scalar runs");
        for (KernelPath p : paths) {
          if (!kernel_path_available(p)) continue;
          std::vector<int32_t> acc(m * s.n, -7);
          check(ternary_gemm_s32(w, q.data(), row_sum.data(), m, acc.data(), p), "gemm runs");
          check(acc == expect, std::string("int32 acc ") + kernel_path_name(p) + " n=" +
                    std::to_string(s.n) + " k=" + std::to_string(s.k) + " m=" + std::to_string(m));
          std::vector<float> y(m * s.n);
          check(ternary_linear(w, x.data(), m, y.data(), &scratch, p), "linear runs");
          check(std::memcmp(y.data(), y_ref.data(), y.size() * 4) == 0,
                std::string("float output bit-identical to scalar: ") + kernel_path_name(p));
          ++compared;
        }
      }
    }
  }
  std::printf("paths: best=%s, threads=%d, %d (shape, m, path) cases compared exactly; paths:%s\n",
              kernel_path_name(best_kernel_path()), num_threads(), compared, compared_paths.c_str());
  check(compared > 0, "at least one case compared");
}

// The SIMD activation quantizers must give the scalar bits, including for
// NaN, infinities, ties (x.5) and values beyond the int8 range.
void test_quantizers() {
  std::mt19937 rng(99);
  std::normal_distribution<float> normal(0.0f, 40.0f);
  int rows = 0;
  for (size_t k : {1, 3, 4, 15, 16, 17, 64, 100, 385}) {
    std::vector<float> x(k);
    for (float& v : x) v = normal(rng);
    for (size_t i = 0; i < k; i += 7) x[i] = std::round(x[i]) + 0.5f;  // ties
    if (k > 3) {
      x[1] = NAN;
      x[2] = INFINITY;
      x[3] = -INFINITY;
    }
    const float want_absmax = detail::absmax_scalar(x.data(), k);
    std::vector<int8_t> want(k), got(k);
    const int32_t want_sum = detail::quantize_row_scalar(x.data(), k, 1.0f, -128.0f, 127.0f, want.data());
    using AbsFn = float (*)(const float*, size_t);
    using QFn = int32_t (*)(const float*, size_t, float, float, float, int8_t*);
    std::vector<std::pair<AbsFn, QFn>> impls;
#if defined(__x86_64__)
    if (kernel_path_available(KernelPath::Avx512Vnni)) impls.push_back({detail::absmax_avx512, detail::quantize_row_avx512});
    if (kernel_path_available(KernelPath::Avx2)) impls.push_back({detail::absmax_avx2, detail::quantize_row_avx2});
#endif
#if defined(__aarch64__)
    impls.push_back({detail::absmax_neon, detail::quantize_row_neon});
#endif
    for (const auto& impl : impls) {
      const float absmax = impl.first(x.data(), k);
      check(std::memcmp(&absmax, &want_absmax, 4) == 0, "SIMD absmax equals scalar, k=" + std::to_string(k));
      const int32_t sum = impl.second(x.data(), k, 1.0f, -128.0f, 127.0f, got.data());
      check(sum == want_sum && got == want, "SIMD quantized row equals scalar, k=" + std::to_string(k));
      ++rows;
    }
  }
  std::printf("quantizers: %d SIMD rows compared with scalar\n", rows);
}

void expect_status(std::vector<uint8_t> blob, BlobStatus want, const char* what, bool reseal_it = true) {
  if (reseal_it && blob.size() >= kHeaderSize) reseal(blob);
  const BlobStatus got = parse_blob(blob.data(), blob.size(), nullptr);
  check(got == want, std::string(what) + ": expected '" + blob_status_name(want) + "', got '" +
            blob_status_name(got) + "'");
}

// A host's pool (ExecuTorch's in the delegate) may report any thread count and
// run tasks in any order: the output must not change. This executor runs them
// in reverse and counts them.
struct ReverseExecutor final : Executor {
  int reported = 1;
  size_t ran = 0;
  int threads() const override { return reported; }
  void run(size_t tasks, TaskFn fn, void* ctx) override {
    for (size_t t = tasks; t-- > 0;) fn(ctx, t);
    ran += tasks;
  }
};

void test_executors() {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  const LinearSpec s = random_spec(384, 1536, true, ActMode::DynamicPerRow, rng);
  const std::vector<uint8_t> blob = build_blob(s);
  TernaryView view;
  check(parse_blob(blob.data(), blob.size(), &view) == BlobStatus::Ok, "parse executor blob");
  const TernaryLinear w = copy_linear(view);
  const size_t m = 100;  // 7 quantize tasks (the last one short), 12 GEMM tasks
  std::vector<float> x(m * s.k);
  for (float& v : x) v = normal(rng);
  Scratch scratch;
  std::vector<float> want(m * s.n), got(m * s.n);
  check(ternary_linear(w, x.data(), m, want.data(), &scratch, KernelPath::Scalar), "scalar runs");
  ReverseExecutor reverse;
  for (int threads : {1, 2, 5}) {
    reverse.reported = threads;
    reverse.ran = 0;
    check(ternary_linear(w, x.data(), m, got.data(), &scratch, KernelPath::Auto, &reverse), "linear runs");
    check(std::memcmp(got.data(), want.data(), got.size() * 4) == 0,
          "same bits on an executor reporting " + std::to_string(threads) + " threads");
    check(reverse.ran == (threads == 1 ? 0u : 7u + 12u),
          "tasks handed to the executor with " + std::to_string(threads) + " threads: " + std::to_string(reverse.ran));
  }
  // The kernel's own pool at 1..4 threads, many calls in a row (a worker that
  // missed a job or read a finished one would corrupt or hang these).
  const int before = num_threads();
  for (int threads : {1, 2, 3, 4}) {
    set_num_threads(threads);
    for (int call = 0; call < 50; ++call) {
      std::fill(got.begin(), got.end(), 0.0f);
      check(ternary_linear(w, x.data(), m, got.data(), &scratch, KernelPath::Auto), "linear runs");
      check(std::memcmp(got.data(), want.data(), got.size() * 4) == 0,
            "same bits on the own pool with " + std::to_string(threads) + " threads");
    }
  }
  set_num_threads(before);
  std::printf("executors: reverse-order executor at 1/2/5 threads and own pool at 1..4 threads match scalar\n");
}

void test_malformed() {
  std::mt19937 rng(7);
  const std::vector<uint8_t> good = build_blob(random_spec(5, 70, true, ActMode::StaticPerTensor, rng));
  check(parse_blob(good.data(), good.size(), nullptr) == BlobStatus::Ok, "good blob parses");
  using B = std::vector<uint8_t>;
  auto edit = [&](const std::function<void(B&)>& f) { B b = good; f(b); return b; };
  expect_status(B(good.begin(), good.begin() + 10), BlobStatus::TooSmall, "truncated header", false);
  expect_status(B(good.begin(), good.end() - 1), BlobStatus::SizeMismatch, "truncated payload", false);
  expect_status(edit([](B& b) { b[0] = 'X'; }), BlobStatus::BadMagic, "magic");
  expect_status(edit([](B& b) { put<uint16_t>(b, 4, 2); }), BlobStatus::BadVersion, "version");
  expect_status(edit([](B& b) { put<uint16_t>(b, 6, 32); }), BlobStatus::BadHeader, "header size");
  expect_status(edit([](B& b) { b[21] = 0x81; }), BlobStatus::BadHeader, "unknown flag");
  expect_status(edit([](B& b) { put<uint32_t>(b, 8, 0); }), BlobStatus::BadShape, "N = 0");
  expect_status(edit([](B& b) { put<uint32_t>(b, 8, 0xFFFFFFFFu); }), BlobStatus::BadShape, "N huge");
  expect_status(edit([](B& b) { put<uint32_t>(b, 12, 1u << 31); put<uint32_t>(b, 16, 1u << 31); }),
                BlobStatus::BadShape, "K huge (N*K overflow)");
  expect_status(edit([](B& b) { put<uint32_t>(b, 16, 64); }), BlobStatus::BadShape, "K_padded");
  expect_status(edit([](B& b) { put<uint32_t>(b, 8, 6); }), BlobStatus::BadSection, "N disagrees with sections");
  expect_status(edit([](B& b) { b[20] = 2; }), BlobStatus::BadActivation, "activation mode");
  expect_status(edit([](B& b) { put<float>(b, 24, -1.0f); }), BlobStatus::BadActivation, "negative act scale");
  expect_status(edit([](B& b) { put<float>(b, 24, NAN); }), BlobStatus::BadActivation, "NaN act scale");
  expect_status(edit([](B& b) { put<int16_t>(b, 28, -200); }), BlobStatus::BadActivation, "qmin");
  expect_status(edit([](B& b) { put<uint32_t>(b, 32, 0); }), BlobStatus::BadSection, "weights inside header");
  expect_status(edit([](B& b) { put<uint32_t>(b, 40, 0xFFFFFFC0u); }), BlobStatus::BadSection, "scales past end");
  expect_status(edit([](B& b) { put<uint32_t>(b, 36, 4); }), BlobStatus::BadSection, "weights size");
  expect_status(edit([](B& b) { put<uint32_t>(b, 56, 1u << 30); }), BlobStatus::SizeMismatch, "total size");
  expect_status(edit([](B& b) { b[70] ^= 1; }), BlobStatus::ChecksumMismatch, "payload bit flip", false);
  expect_status(edit([](B& b) { b[64] = 0xFF; }), BlobStatus::BadWeightCode, "weight code 3");
  // The good blob has N = 5, K = 70, so k = 70 and column 5 are padding.
  auto set_code = [](B& b, size_t n, size_t k, int code) {
    const CodeLocation at = code_location(n, k, 128);
    uint8_t& byte = b[kHeaderSize + at.byte];
    byte = static_cast<uint8_t>((byte & ~(3u << at.shift)) | (code << at.shift));
  };
  expect_status(edit([&](B& b) { set_code(b, 0, 70, 2); }), BlobStatus::BadWeightCode, "nonzero code in K padding");
  expect_status(edit([&](B& b) { set_code(b, 5, 3, 0); }), BlobStatus::BadWeightCode, "nonzero code in N padding");
  expect_status(edit([&](B& b) { set_code(b, 4, 69, 0); }), BlobStatus::Ok, "last real weight may be -1");
  expect_status(edit([](B& b) {
                  uint32_t off;
                  std::memcpy(&off, b.data() + 40, 4);
                  put<float>(b, off, INFINITY);
                }),
                BlobStatus::BadScale, "infinite row scale");
  std::printf("malformed: checked\n");
}

// Fused blocks: GELU and add + LayerNorm against double-precision formulas,
// a whole block against its pieces run one by one, every path the same bits,
// and malformed block headers rejected with the right status.
#if defined(__GNUC__) && !defined(__clang__)
// Debian's aarch64 GCC 12 crashes vectorizing this function's error
// reductions (internal compiler error in vect_transform_reduction); they are
// test code, so not vectorizing them costs nothing.
__attribute__((optimize("no-tree-vectorize")))
#endif
void test_blocks() {
  std::vector<float> xs;
  for (int i = -8000; i <= 8000; ++i) xs.push_back(static_cast<float>(i) * 1e-3f);
  std::vector<float> g = xs;
  gelu_inplace(g.data(), g.size());
  double gelu_err = 0.0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const double x = xs[i];
    gelu_err = std::fmax(gelu_err, std::fabs(g[i] - 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)))));
  }
  check(gelu_err < 2e-6, "GELU max abs error " + std::to_string(gelu_err));

  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  const uint32_t hidden = 70, inner = 90;
  std::vector<float> a(hidden), r(hidden), w(hidden), bias(hidden), y(hidden);
  for (uint32_t i = 0; i < hidden; ++i) {
    a[i] = normal(rng);
    r[i] = normal(rng) + 3.0f;
    w[i] = 1.0f + 0.1f * normal(rng);
    bias[i] = 0.1f * normal(rng);
  }
  add_layer_norm_row(a.data(), r.data(), w.data(), bias.data(), 1e-12f, hidden, y.data());
  double mean = 0.0, var = 0.0, ln_err = 0.0;
  for (uint32_t i = 0; i < hidden; ++i) mean += static_cast<double>(a[i]) + r[i];
  mean /= hidden;
  for (uint32_t i = 0; i < hidden; ++i) var += std::pow(static_cast<double>(a[i]) + r[i] - mean, 2);
  var /= hidden;
  for (uint32_t i = 0; i < hidden; ++i) {
    const double ref = (static_cast<double>(a[i]) + r[i] - mean) / std::sqrt(var + 1e-12) * w[i] + bias[i];
    ln_err = std::fmax(ln_err, std::fabs(y[i] - ref));
  }
  check(ln_err < 1e-5, "add + LayerNorm max abs error " + std::to_string(ln_err));

  const LinearSpec up = random_spec(inner, hidden, true, ActMode::StaticPerTensor, rng);
  const LinearSpec down = random_spec(hidden, inner, true, ActMode::DynamicPerRow, rng);
  const LinearSpec out = random_spec(hidden, inner, false, ActMode::DynamicPerRow, rng);
  const size_t m = 5;
  std::vector<float> x(m * hidden), ctx(m * inner), res(m * hidden);
  for (float& v : x) v = normal(rng);
  for (float& v : ctx) v = normal(rng);
  for (float& v : res) v = normal(rng);
  for (int kind = 1; kind <= 2; ++kind) {
    const bool ffn = kind == 2;
    const std::vector<uint8_t> blob = ffn ? build_block_blob(BlockKind::FfnAddNorm, {up, down}, w, bias, 1e-5f)
                                          : build_block_blob(BlockKind::LinearAddNorm, {out}, w, bias, 1e-12f);
    TernaryBlock b;
    check(parse_block(blob.data(), blob.size(), &b) == BlobStatus::Ok, "valid block blob parses");
    // The pieces one by one, on the scalar path.
    Scratch s;
    std::vector<float> h(m * inner), sum(m * hidden), expect(m * hidden), got(m * hidden);
    const float* input = ffn ? x.data() : ctx.data();
    const float* residual = ffn ? x.data() : res.data();
    if (ffn) {
      ternary_linear(b.first, input, m, h.data(), &s, KernelPath::Scalar);
      gelu_inplace(h.data(), h.size());
      ternary_linear(b.second, h.data(), m, sum.data(), &s, KernelPath::Scalar);
    } else {
      ternary_linear(b.first, input, m, sum.data(), &s, KernelPath::Scalar);
    }
    for (size_t i = 0; i < m; ++i) {
      add_layer_norm_row(sum.data() + i * hidden, residual + i * hidden, w.data(), bias.data(), b.eps, hidden,
                         expect.data() + i * hidden);
    }
    BlockScratch bs;
    for (KernelPath p : {KernelPath::Scalar, KernelPath::Avx2, KernelPath::Avx512Vnni, KernelPath::Neon,
                         KernelPath::NeonDot, KernelPath::I8mm}) {
      if (!kernel_path_available(p)) continue;
      check(run_block(b, input, ffn ? nullptr : res.data(), m, got.data(), &bs, p), "run_block runs");
      check(std::memcmp(got.data(), expect.data(), got.size() * 4) == 0,
            std::string("block kind ") + std::to_string(kind) + " on " + kernel_path_name(p) +
                " equals its pieces bit for bit");
    }
  }

  // Q/K/V: three Linears of one input, each equal to its own call.
  const std::vector<LinearSpec> qkv_specs = {random_spec(inner, hidden, true, ActMode::StaticPerTensor, rng),
                                             random_spec(inner, hidden, true, ActMode::DynamicPerRow, rng),
                                             random_spec(inner, hidden, false, ActMode::StaticPerTensor, rng)};
  const std::vector<uint8_t> qkv_blob = build_block_blob(BlockKind::Qkv, qkv_specs, {}, {}, 0.0f, false, hidden);
  TernaryBlock qkv;
  check(parse_block(qkv_blob.data(), qkv_blob.size(), &qkv) == BlobStatus::Ok, "valid Q/K/V blob parses");
  std::vector<float> qkv_out(3 * m * inner), qkv_expect(3 * m * inner);
  Scratch qs;
  const TernaryLinear* parts[3] = {&qkv.first, &qkv.second, &qkv.third};
  for (int i = 0; i < 3; ++i) {
    ternary_linear(*parts[i], x.data(), m, qkv_expect.data() + i * m * inner, &qs, KernelPath::Scalar);
  }
  for (KernelPath p : {KernelPath::Scalar, KernelPath::Avx2, KernelPath::Avx512Vnni, KernelPath::Neon,
                       KernelPath::NeonDot, KernelPath::I8mm}) {
    if (!kernel_path_available(p)) continue;
    float* o = qkv_out.data();
    check(run_qkv(qkv, x.data(), m, o, o + m * inner, o + 2 * m * inner, &qs, p), "run_qkv runs");
    check(std::memcmp(qkv_out.data(), qkv_expect.data(), qkv_out.size() * 4) == 0,
          std::string("Q/K/V block on ") + kernel_path_name(p) + " equals three Linear calls");
  }
  std::vector<uint8_t> qkv_eps = qkv_blob;
  put<float>(qkv_eps, 16, 1e-5f);
  reseal(qkv_eps);
  check(parse_block(qkv_eps.data(), qkv_eps.size(), nullptr) == BlobStatus::BadScale, "Q/K/V block with an eps");
  const std::vector<uint8_t> qkv_wide = build_block_blob(BlockKind::Qkv, qkv_specs, {}, {}, 0.0f, false, hidden + 1);
  check(parse_block(qkv_wide.data(), qkv_wide.size(), nullptr) == BlobStatus::BadShape, "Q/K/V of another width");

  // Malformed headers (each resealed so the check under test is reached).
  const std::vector<uint8_t> good = build_block_blob(BlockKind::FfnAddNorm, {up, down}, w, bias, 1e-5f);
  auto status_of = [](std::vector<uint8_t> b) { return parse_block(b.data(), b.size(), nullptr); };
  auto edited = [&](size_t offset, uint32_t value) {
    std::vector<uint8_t> b = good;
    put<uint32_t>(b, offset, value);
    reseal(b);
    return b;
  };
  check(status_of(edited(8, 4)) == BlobStatus::BadHeader, "unknown block kind");
  check(status_of(edited(8, 2 | (1u << 8))) == BlobStatus::BadHeader, "FFN block with residual-first flag");
  check(status_of(edited(12, hidden + 1)) == BlobStatus::BadSection, "hidden disagrees with norm sizes");
  check(status_of(edited(16, 0)) == BlobStatus::BadScale, "eps 0");
  check(status_of(edited(28, 8)) == BlobStatus::TooSmall, "first Linear section cut short: the inner parser's status");
  check(status_of(edited(40, 0xFFFFFFC0u)) == BlobStatus::BadSection, "norm section past the end");
  std::vector<uint8_t> wrong_inner = build_block_blob(BlockKind::FfnAddNorm, {up, up}, w, bias, 1e-5f);
  check(status_of(wrong_inner) == BlobStatus::BadShape, "FFN Linears that do not chain");
  std::vector<uint8_t> bad_sub = good;
  bad_sub[64 + 4] = 9;  // the first Linear's version; the block CRC resealed, the Linear's not
  reseal(bad_sub);
  check(status_of(bad_sub) == BlobStatus::BadVersion, "a bad inner Linear blob reports its own status");
  std::vector<uint8_t> truncated(good.begin(), good.end() - 4);
  check(status_of(truncated) == BlobStatus::SizeMismatch, "truncated block");
  std::printf("blocks: GELU max err %.2e, add+LayerNorm max err %.2e, all kinds equal their pieces on every path\n",
              gelu_err, ln_err);
}

}  // namespace

int main() {
  test_blocks();
  test_paths();
  test_quantizers();
  test_executors();
  test_malformed();
  if (g_failures != 0) {
    std::printf("%d FAILURES\n", g_failures);
    return 1;
  }
  std::printf("ALL PASS\n");
  return 0;
}
