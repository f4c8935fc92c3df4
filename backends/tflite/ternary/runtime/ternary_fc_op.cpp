// The DYNAEDGE_TERNARY_FC kernel over LiteRT's C custom-op API (see ternary_fc_op.h).
#include "ternary_fc_op.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "ternary_blob.h"
#include "ternary_kernel.h"

using dynaedge::ternary::BlobStatus;
using dynaedge::ternary::KernelPath;
using dynaedge::ternary::Scratch;
using dynaedge::ternary::TernaryLinear;
using dynaedge::ternary::TernaryView;

namespace {

constexpr uint32_t kWrapperMagic = 0x43465444u;  // bytes "DTFC" read little-endian
constexpr uint16_t kWrapperVersion = 1;
constexpr uint16_t kWrapperSize = 16;
constexpr uint8_t kFlagKeepNumDims = 1;

struct Node {
  bool ok = false;
  bool keep_num_dims = true;
  TernaryLinear linear;
};

}  // namespace

struct DynaedgeTernaryOps {
  std::vector<Node> nodes;  // in Init order = node order
  size_t run_cursor = 0;  // next node Run will see
  size_t layout_cursor = 0;  // next node GetOutputLayouts will see
  int live = 0;  // Init minus Destroy calls
  std::string error;  // the first error, kept: LiteRT drops returned statuses
  Scratch scratch;  // nodes run one at a time
  LiteRtCustomOpKernel kernel{};
};

namespace {

uint32_t read_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

uint16_t read_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

LiteRtStatus fail(DynaedgeTernaryOps* ops, size_t node, const std::string& what) {
  if (ops->error.empty()) {
    ops->error = std::string(DYNAEDGE_TERNARY_FC_NAME) + " node " + std::to_string(node) + ": " + what;
  }
  return kLiteRtStatusErrorInvalidArgument;
}

// Validates the wrapper and the whole blob (magic, version, sizes, CRC32,
// weight codes, scales) before anything is used.
LiteRtStatus op_init(void* user_data, const void* init_data, size_t size) {
  auto* ops = static_cast<DynaedgeTernaryOps*>(user_data);
  const size_t index = ops->nodes.size();
  ops->nodes.emplace_back();  // keeps node order even when this one is bad
  ++ops->live;
  const auto* p = static_cast<const uint8_t*>(init_data);
  if (p == nullptr || size < kWrapperSize) {
    return fail(ops, index, "custom_options of " + std::to_string(size) + " bytes, shorter than the " +
                                std::to_string(kWrapperSize) + "-byte DTFC header");
  }
  if (read_u32(p) != kWrapperMagic) return fail(ops, index, "bad custom_options magic (expected 'DTFC')");
  if (read_u16(p + 4) != kWrapperVersion) {
    return fail(ops, index, "unsupported DTFC version " + std::to_string(read_u16(p + 4)) + " (expected 1)");
  }
  if (read_u16(p + 6) != kWrapperSize || (p[8] & ~kFlagKeepNumDims) != 0 || p[9] != 0 || read_u16(p + 10) != 0) {
    return fail(ops, index, "bad DTFC header size, flags or reserved bytes");
  }
  const uint64_t blob_size = read_u32(p + 12);
  if (blob_size != size - kWrapperSize) {
    return fail(ops, index, "DTFC header says " + std::to_string(blob_size) + " blob bytes, custom_options hold " +
                                std::to_string(size - kWrapperSize));
  }
  TernaryView view;
  const BlobStatus status = dynaedge::ternary::parse_blob(p + kWrapperSize, blob_size, &view);
  if (status != BlobStatus::Ok) {
    return fail(ops, index, std::string("ternary blob: ") + dynaedge::ternary::blob_status_name(status));
  }
  Node& node = ops->nodes.back();
  node.linear = dynaedge::ternary::copy_linear(view);  // custom_options need not outlive Init
  node.keep_num_dims = (p[8] & kFlagKeepNumDims) != 0;
  node.ok = true;
  return kLiteRtStatusOk;
}

size_t leading_elements(const LiteRtLayout& layout) {
  size_t m = 1;
  for (unsigned i = 0; i + 1 < layout.rank; ++i) m *= static_cast<size_t>(layout.dimensions[i]);
  return m;
}

LiteRtStatus op_output_layouts(void* user_data, size_t num_inputs, const LiteRtLayout* in, size_t num_outputs,
                               LiteRtLayout* out) {
  auto* ops = static_cast<DynaedgeTernaryOps*>(user_data);
  if (ops->nodes.empty()) return kLiteRtStatusErrorRuntimeFailure;
  const size_t index = ops->layout_cursor++ % ops->nodes.size();
  const Node& node = ops->nodes[index];
  if (num_inputs != 1 || num_outputs != 1) return fail(ops, index, "expects 1 input and 1 output");
  if (!node.ok) return kLiteRtStatusErrorInvalidArgument;
  if (in[0].rank < 1 || in[0].dimensions[in[0].rank - 1] != static_cast<int32_t>(node.linear.k)) {
    return fail(ops, index, "input's last dimension is not K=" + std::to_string(node.linear.k) +
                                " (nodes out of order?)");
  }
  out[0] = LiteRtLayout{};
  if (node.keep_num_dims) {
    out[0] = in[0];
    out[0].has_strides = 0;
  } else {
    out[0].rank = 2;
    out[0].dimensions[0] = static_cast<int32_t>(leading_elements(in[0]));
  }
  out[0].dimensions[out[0].rank - 1] = static_cast<int32_t>(node.linear.n);
  return kLiteRtStatusOk;
}

LiteRtStatus op_run(void* user_data, size_t num_inputs, const LiteRtTensorBuffer* inputs, size_t num_outputs,
                    LiteRtTensorBuffer* outputs) {
  auto* ops = static_cast<DynaedgeTernaryOps*>(user_data);
  if (ops->nodes.empty()) return kLiteRtStatusErrorRuntimeFailure;
  const size_t index = ops->run_cursor++ % ops->nodes.size();
  const Node& node = ops->nodes[index];
  if (num_inputs != 1 || num_outputs != 1) return fail(ops, index, "expects 1 input and 1 output");
  LiteRtRankedTensorType in_type, out_type;
  if (LiteRtGetTensorBufferTensorType(inputs[0], &in_type) != kLiteRtStatusOk ||
      LiteRtGetTensorBufferTensorType(outputs[0], &out_type) != kLiteRtStatusOk) {
    return fail(ops, index, "cannot read tensor types");
  }
  const size_t m = leading_elements(in_type.layout);
  const auto& in_l = in_type.layout;
  const auto& out_l = out_type.layout;
  void* y_ptr = nullptr;
  if (LiteRtLockTensorBuffer(outputs[0], &y_ptr, kLiteRtTensorBufferLockModeWrite) != kLiteRtStatusOk) {
    return fail(ops, index, "cannot lock the output");
  }
  float* y = static_cast<float*>(y_ptr);
  LiteRtStatus status = kLiteRtStatusOk;
  if (!node.ok || in_type.element_type != kLiteRtElementTypeFloat32 ||
      out_type.element_type != kLiteRtElementTypeFloat32 || in_l.rank < 1 || out_l.rank < 1 ||
      in_l.dimensions[in_l.rank - 1] != static_cast<int32_t>(node.linear.k) ||
      out_l.dimensions[out_l.rank - 1] != static_cast<int32_t>(node.linear.n) || leading_elements(out_l) != m) {
    status = node.ok ? fail(ops, index, "input/output types or shapes do not match N=" +
                                            std::to_string(node.linear.n) + ", K=" + std::to_string(node.linear.k))
                     : kLiteRtStatusErrorInvalidArgument;
  } else {
    void* x_ptr = nullptr;
    if (LiteRtLockTensorBuffer(inputs[0], &x_ptr, kLiteRtTensorBufferLockModeRead) != kLiteRtStatusOk) {
      status = fail(ops, index, "cannot lock the input");
    } else {
      if (!dynaedge::ternary::ternary_linear(node.linear, static_cast<const float*>(x_ptr), m, y, &ops->scratch,
                                             KernelPath::Auto)) {
        status = fail(ops, index, "no kernel path available on this CPU");
      }
      LiteRtUnlockTensorBuffer(inputs[0]);
    }
  }
  if (status != kLiteRtStatusOk) {
    // LiteRT ignores this status: NaN outputs make a skipped node impossible to miss.
    const size_t count = leading_elements(out_l) * static_cast<size_t>(out_l.rank ? out_l.dimensions[out_l.rank - 1] : 0);
    for (size_t i = 0; i < count; ++i) y[i] = std::numeric_limits<float>::quiet_NaN();
  }
  LiteRtUnlockTensorBuffer(outputs[0]);
  return status;
}

LiteRtStatus op_destroy(void* user_data) {
  auto* ops = static_cast<DynaedgeTernaryOps*>(user_data);
  // Called once per node; the weights go with the last one. The state itself
  // belongs to whoever registered it.
  if (--ops->live == 0) {
    ops->nodes.clear();
    ops->run_cursor = ops->layout_cursor = 0;
  }
  return kLiteRtStatusOk;
}

}  // namespace

extern "C" {

DynaedgeTernaryOps* dynaedge_tflite_ternary_register(LiteRtOptions options, LiteRtStatus* status) {
  auto* ops = new DynaedgeTernaryOps();
  ops->kernel = LiteRtCustomOpKernel{op_init, op_output_layouts, op_run, op_destroy};
  const LiteRtStatus s = LiteRtAddCustomOpKernelOption(options, DYNAEDGE_TERNARY_FC_NAME, 1, &ops->kernel, ops);
  if (status != nullptr) *status = s;
  if (s != kLiteRtStatusOk) {
    delete ops;
    return nullptr;
  }
  return ops;
}

const char* dynaedge_tflite_ternary_error(const DynaedgeTernaryOps* ops) { return ops->error.c_str(); }

int dynaedge_tflite_ternary_num_nodes(const DynaedgeTernaryOps* ops) { return static_cast<int>(ops->nodes.size()); }

void dynaedge_tflite_ternary_free(DynaedgeTernaryOps* ops) { delete ops; }

}  // extern "C"
