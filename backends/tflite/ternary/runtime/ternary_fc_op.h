// DYNAEDGE_TERNARY_FC: a LiteRT custom op running one ternary Linear with the
// ExecuTorch delegate's kernels (backends/executorch/ternary/runtime).
//
// custom_options = a 16-byte TFLite wrapper header + one ternary blob in the
// ExecuTorch delegate's format (magic "DTRN", checksummed):
//   u32 magic "DTFC" | u16 version | u16 header size (16) |
//   u8 flags (bit 0: keep_num_dims) | u8 reserved | u16 reserved | u32 blob size
//
// LiteRT 2.3 gives a custom op ONE user_data per op name and no node handle:
// Init runs once per node in node order (at LiteRtCreateCompiledModel) and
// Run / GetOutputLayouts once per node in execution order, which for a CPU
// plan is node order. So the op state keeps the nodes' weights in Init order
// and walks them with a cursor; Run checks each node's shapes against them.
// LiteRT also ignores the statuses Init and Run return, so errors are kept in
// the state and read back with dynaedge_tflite_ternary_error() right after the
// compiled model is created (and after every run).
#pragma once

#include <stddef.h>

#include "litert_c_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DYNAEDGE_TERNARY_FC_NAME "DYNAEDGE_TERNARY_FC"

typedef struct DynaedgeTernaryOps DynaedgeTernaryOps;

// Creates the op state and registers the kernel on `options` (before
// LiteRtCreateCompiledModel). The state must outlive the compiled model;
// free it with dynaedge_tflite_ternary_free after LiteRtDestroyCompiledModel.
DynaedgeTernaryOps* dynaedge_tflite_ternary_register(LiteRtOptions options, LiteRtStatus* status);

// The first error any node reported ("" if none): a corrupted payload names
// the node and the field, e.g. "DYNAEDGE_TERNARY_FC node 3: blob ChecksumMismatch".
const char* dynaedge_tflite_ternary_error(const DynaedgeTernaryOps* ops);

// Nodes initialized so far (one per DYNAEDGE_TERNARY_FC op in the model).
int dynaedge_tflite_ternary_num_nodes(const DynaedgeTernaryOps* ops);

void dynaedge_tflite_ternary_free(DynaedgeTernaryOps* ops);

#ifdef __cplusplus
}
#endif
