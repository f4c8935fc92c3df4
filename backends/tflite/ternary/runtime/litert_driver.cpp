// A tiny C driver over LiteRT's CompiledModel for ctypes: open a .tflite with
// DYNAEDGE_TERNARY_FC registered, run signature 0 (int32 inputs, one float32
// output), report errors as text. The Python interpreter cannot register C
// custom ops in ai-edge-litert 2.3, so parity runs go through here.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "litert_c_api.h"
#include "ternary_fc_op.h"
#include "ternary_kernel.h"

namespace {

constexpr size_t kAlign = 64;  // LiteRT refuses host buffers that are not 64-byte aligned

struct HostTensor {
  LiteRtRankedTensorType type{};
  void* data = nullptr;
  size_t bytes = 0;
  LiteRtTensorBuffer buffer = nullptr;
};

size_t elements(const LiteRtLayout& l) {
  size_t n = 1;
  for (unsigned i = 0; i < l.rank; ++i) n *= static_cast<size_t>(l.dimensions[i]);
  return n;
}

}  // namespace

struct DynaedgeLiteRtModel {
  LiteRtEnvironment env = nullptr;
  LiteRtModel model = nullptr;
  LiteRtOptions options = nullptr;
  LiteRtCompiledModel compiled = nullptr;
  DynaedgeTernaryOps* ops = nullptr;
  std::vector<HostTensor> inputs;
  HostTensor output;
};

extern "C" {

void dynaedge_litert_close(DynaedgeLiteRtModel* m);

static bool make_tensor(HostTensor* t, LiteRtElementType type, const LiteRtLayout& layout) {
  t->type.element_type = type;
  t->type.layout = layout;
  t->bytes = (elements(layout) * 4 + kAlign - 1) / kAlign * kAlign;
  t->data = std::aligned_alloc(kAlign, t->bytes);
  if (t->data == nullptr) return false;
  std::memset(t->data, 0, t->bytes);
  return LiteRtCreateTensorBufferFromHostMemory(&t->type, t->data, t->bytes, nullptr, &t->buffer) == kLiteRtStatusOk;
}

// Returns null and writes the reason into `error` on failure (never crashes
// on a bad payload: the op validates it in Init and this reports it here).
// `num_threads` > 0: the CPU accelerator's (XNNPACK's) threads for the model's other ops; without
// it LiteRT's CompiledModel runs them on one thread, while the Python Interpreter's files use two.
DynaedgeLiteRtModel* dynaedge_litert_open(const char* path, int num_inputs, int num_threads, char* error,
                                          size_t error_size) {
  auto* m = new DynaedgeLiteRtModel();
  auto bail = [&](const std::string& what) {
    std::snprintf(error, error_size, "%s", what.c_str());
    dynaedge_litert_close(m);
    return static_cast<DynaedgeLiteRtModel*>(nullptr);
  };
  if (LiteRtCreateEnvironment(0, nullptr, &m->env) != kLiteRtStatusOk) return bail("LiteRtCreateEnvironment failed");
  if (LiteRtCreateModelFromFile(m->env, path, &m->model) != kLiteRtStatusOk) {
    return bail(std::string("LiteRtCreateModelFromFile failed for ") + path + " (not a valid .tflite?)");
  }
  if (LiteRtCreateOptions(&m->options) != kLiteRtStatusOk ||
      LiteRtSetOptionsHardwareAccelerators(m->options, kLiteRtHwAcceleratorCpu) != kLiteRtStatusOk) {
    return bail("LiteRtCreateOptions failed");
  }
  if (num_threads > 0) {
    const std::string toml = "num_threads = " + std::to_string(num_threads) + "\n";
    char* payload = strdup(toml.c_str());
    LiteRtOpaqueOptions cpu = nullptr;
    if (payload == nullptr ||
        LiteRtCreateOpaqueOptions("xnnpack", payload, [](void* p) { std::free(p); }, &cpu) != kLiteRtStatusOk) {
      std::free(payload);
      return bail("LiteRtCreateOpaqueOptions failed for the CPU threads");
    }
    if (LiteRtAddOpaqueOptions(m->options, cpu) != kLiteRtStatusOk) {  // the options own it from here
      LiteRtDestroyOpaqueOptions(cpu);
      return bail("LiteRtAddOpaqueOptions failed for the CPU threads");
    }
  }
  LiteRtStatus status;
  m->ops = dynaedge_tflite_ternary_register(m->options, &status);
  if (m->ops == nullptr) return bail("LiteRtAddCustomOpKernelOption failed, status " + std::to_string(status));
  status = LiteRtCreateCompiledModel(m->env, m->model, m->options, &m->compiled);
  if (*dynaedge_tflite_ternary_error(m->ops) != '\0') return bail(dynaedge_tflite_ternary_error(m->ops));
  if (status != kLiteRtStatusOk) return bail("LiteRtCreateCompiledModel failed, status " + std::to_string(status));
  m->inputs.resize(num_inputs);
  for (int i = 0; i < num_inputs; ++i) {
    LiteRtLayout layout;
    if (LiteRtGetCompiledModelInputTensorLayout(m->compiled, 0, i, &layout) != kLiteRtStatusOk ||
        !make_tensor(&m->inputs[i], kLiteRtElementTypeInt32, layout)) {
      return bail("cannot create input buffer " + std::to_string(i));
    }
  }
  LiteRtLayout out_layout;
  if (LiteRtGetCompiledModelOutputTensorLayouts(m->compiled, 0, 1, &out_layout, false) != kLiteRtStatusOk ||
      !make_tensor(&m->output, kLiteRtElementTypeFloat32, out_layout)) {
    return bail("cannot create the output buffer");
  }
  return m;
}

// Element counts of input `i` / of the output, for the caller's checks.
size_t dynaedge_litert_input_size(const DynaedgeLiteRtModel* m, int i) { return elements(m->inputs[i].type.layout); }
size_t dynaedge_litert_output_size(const DynaedgeLiteRtModel* m) { return elements(m->output.type.layout); }

// inputs[i] holds dynaedge_litert_input_size(m, i) int32 values. Returns 0 or
// writes the reason into `error` and returns 1.
int dynaedge_litert_run(DynaedgeLiteRtModel* m, const int32_t* const* inputs, float* out, char* error,
                        size_t error_size) {
  std::vector<LiteRtTensorBuffer> in_buffers;
  for (size_t i = 0; i < m->inputs.size(); ++i) {
    std::memcpy(m->inputs[i].data, inputs[i], elements(m->inputs[i].type.layout) * 4);
    in_buffers.push_back(m->inputs[i].buffer);
  }
  const LiteRtStatus status =
      LiteRtRunCompiledModel(m->compiled, 0, in_buffers.size(), in_buffers.data(), 1, &m->output.buffer);
  if (*dynaedge_tflite_ternary_error(m->ops) != '\0') {
    std::snprintf(error, error_size, "%s", dynaedge_tflite_ternary_error(m->ops));
    return 1;
  }
  if (status != kLiteRtStatusOk) {
    std::snprintf(error, error_size, "LiteRtRunCompiledModel failed, status %d", static_cast<int>(status));
    return 1;
  }
  std::memcpy(out, m->output.data, elements(m->output.type.layout) * 4);
  return 0;
}

// Threads of the ternary kernel's own pool (the caller plus threads - 1
// workers), for every model this library runs.
void dynaedge_litert_set_kernel_threads(int threads) { dynaedge::ternary::set_num_threads(threads); }

int dynaedge_litert_num_ternary_nodes(const DynaedgeLiteRtModel* m) {
  return dynaedge_tflite_ternary_num_nodes(m->ops);
}

void dynaedge_litert_close(DynaedgeLiteRtModel* m) {
  if (m == nullptr) return;
  for (auto* t : {&m->output}) {
    if (t->buffer) LiteRtDestroyTensorBuffer(t->buffer);
    std::free(t->data);
  }
  for (auto& t : m->inputs) {
    if (t.buffer) LiteRtDestroyTensorBuffer(t.buffer);
    std::free(t.data);
  }
  if (m->compiled) LiteRtDestroyCompiledModel(m->compiled);
  if (m->options) LiteRtDestroyOptions(m->options);
  if (m->model) LiteRtDestroyModel(m->model);
  if (m->env) LiteRtDestroyEnvironment(m->env);
  dynaedge_tflite_ternary_free(m->ops);  // after the compiled model: its nodes point here
  delete m;
}

}  // extern "C"
