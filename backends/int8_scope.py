"""Which ops a pt2e int8 quantizer touches (shared by the ExecuTorch and TFLite backends).

Scopes:
- "linear" (default): the Linear layers only; residual adds, LayerNorm, softmax and GELU stay
  float.
- "all": every op pattern the quantizer supports (linear, add, mul, ...) except the masked
  softmax, whose additive mask (encoder.MASK_VALUE) would otherwise set the scale of the attention scores.
In both, the int8 word table (backends/int8_embedding.Int8Embedding: already int8, dequantized by
its own per-row scales) and any module type a backend names in `float_types` stay as they are.

FFN output projections read GELU outputs, too heavy-tailed for one static scale: on the
fine-tuned MiniLM (1,057 dev sentences) static activations everywhere lost 1.0-1.4 points,
while giving `ffn_out` dynamic activations lost none. ExecuTorch's quantizer mixes the two in one
pass; TFLite's cannot, so `ffn_out` stays float there and ai-edge-quantizer then gives those FCs
int8 weights with activations quantized per call. Those module names are options.
"""

import torch

from exporter.errors import unknown_choice

INT8_SCOPES = ("all", "linear")


def qualified_name(module_type: type) -> str:
    """How torch.export's nn_module_stack names a module type ("pkg.mod.Class")."""
    return f"{module_type.__module__}.{module_type.__qualname__}"


def apply_scope(quantizer, config, scope: str, model: torch.nn.Module, dynamic_config=None,
                dynamic_modules: tuple[str, ...] = (), float_types: tuple[type, ...] = ()):
    """Configure an XNNPACKQuantizer for `scope`; Linear modules named (last part) in
    `dynamic_modules` get `dynamic_config`; modules of `float_types` stay float."""
    from backends.int8_embedding import Int8Embedding
    from exporter.model.encoder import MaskedSoftmax

    if scope not in INT8_SCOPES:
        raise unknown_choice("int8_scope", scope, INT8_SCOPES)
    if scope == "all":
        quantizer.set_global(config)
        for kept in (MaskedSoftmax, Int8Embedding, *float_types):
            quantizer.set_module_type(kept, None)  # None: leave this module's ops as they are
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        last = name.split(".")[-1]
        if last in dynamic_modules:
            quantizer.set_module_name(name, dynamic_config)
        elif scope == "linear":
            quantizer.set_module_name(name, config)
    return quantizer


def module_list(text: str) -> tuple[str, ...]:
    return tuple(m.strip() for m in text.split(",") if m.strip())


def node_predicate(scope: str, float_modules: tuple[str, ...] = ()):
    """For quantizers configured by a node filter: should the op behind `node` be quantized?

    Decided by the innermost module in the node's nn_module_stack (path, qualified type name).
    """
    from backends.int8_embedding import Int8Embedding
    from exporter.model.encoder import MaskedSoftmax, SliceLinear

    if scope not in INT8_SCOPES:
        raise unknown_choice("int8_scope", scope, INT8_SCOPES)
    linear_types = {qualified_name(SliceLinear), qualified_name(torch.nn.Linear)}
    kept_types = {qualified_name(MaskedSoftmax), qualified_name(Int8Embedding)}

    def wanted(node) -> bool:
        stack = list(node.meta.get("nn_module_stack", {}).values())
        if not stack:
            return scope == "all"
        path, type_name = stack[-1]
        type_name = type_name if isinstance(type_name, str) else qualified_name(type_name)
        if path.split(".")[-1] in float_modules:
            return False
        if scope == "linear":
            return type_name in linear_types
        return type_name not in kept_types

    return wanted
