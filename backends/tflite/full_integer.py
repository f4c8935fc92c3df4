"""Full-integer .tflite: ai-edge-quantizer static quantization of the fp32 graph, op class by op class.

litert-torch's PT2EQuantizer has no pattern for LayerNorm, softmax or the adds, so `int8_mode
full` quantizes the converted fp32 flatbuffer instead: per-channel int8 weights and static
activations (min/max calibrated on real training sentences) on every compute op RULES name:
int8 for the matmuls, GELU and the score scaling, 16 bits (LiteRT's int16 x int8 kernels) for
LayerNorm, the residual adds, softmax and the embedding / pooling ops, where one 8-bit scale
per tensor loses too much (the per-op study: scripts/tflite_full_integer.py, README). The one
op class left float is LayerNorm's SQUARED_DIFFERENCE (ai-edge-quantizer has no 16-bit kernel
for it, and 8 bits would square the outlier dims away); the manifest lists it.

Ops are picked by the names litert-torch gives their output tensors, which carry our encoder's
module path (exporter/model/encoder.py): `LayerNorm_<name>`, `MaskedSoftmax`, `SliceLinear_*`.
"""

from dataclasses import dataclass

import numpy as np

from backends.base import LowerSpec

CALIBRATION_SENTENCES = 256  # on the teacher: 86.0 % dev with 256, 85.7 % with 64 (README)


@dataclass(frozen=True)
class OpRule:
    scope: str         # regex over the op's output tensor names, ";"-joined with a trailing ";"
    op: str            # TFLite op name, or "*" for every op ai-edge-quantizer supports
    bits: int          # activation bits: 8 or 16 (weights always per-channel int8); 0 = leave float
    why: str


_ENCODER = r"exporter\.model\.encoder\.Encoder"
MATMULS = (
    OpRule(".*", "*", 0, "float unless a rule below names the op (layout ops and the fp32 word table)"),
    OpRule(".*", "FULLY_CONNECTED", 8, "the Linear layers, FFN outputs included"),
    OpRule(".*", "BATCH_MATMUL", 8, "attention scores and context"),
    OpRule(".*", "GELU", 8, "FFN activation"),
)
SCORE_SCALE = OpRule(".*", "MUL", 8, "the 1/sqrt(head size) scaling of the scores")
# 16 bits from here: one 8-bit scale per tensor is too coarse for these (README study).
LAYER_NORM = OpRule(r"LayerNorm_[a-z_]+;\d*;$", "*", 16, "decomposed LayerNorm: the residual stream's outlier dims")
RESIDUAL = OpRule(r"SliceLinear_(attn|ffn)_out;;$", "ADD", 16, "residual adds, the same stream")
EMBED_POOL = OpRule(rf"^({_ENCODER};\d*;)+$", "*", 16, "embedding sum, the additive mask and mean pooling")
SOFTMAX = OpRule("MaskedSoftmax", "*", 16, "scores + mask and softmax: int8 here (all but LayerNorm int8) gave 71 %")
RULES = MATMULS + (SCORE_SCALE, LAYER_NORM, RESIDUAL, EMBED_POOL, SOFTMAX)


def recipe(rules: tuple[OpRule, ...] = RULES):
    """ai-edge-quantizer recipe for `rules`; a later rule wins where several match an op."""
    from ai_edge_quantizer import qtyping, recipe_manager

    manager = recipe_manager.RecipeManager()
    for rule in rules:
        op = qtyping.TFLOperationName(rule.op)
        if rule.bits:
            manager.add_static_config(regex=rule.scope, operation_name=op, activation_num_bits=rule.bits,
                                      weight_num_bits=8)
        else:
            manager.add_quantization_config(rule.scope, op, algorithm_key="no_quantize")
    return manager.get_quantization_recipe()


def quantize_full_integer(fp32: bytes, spec: LowerSpec, rules: tuple[OpRule, ...] = RULES,
                          limit: int = CALIBRATION_SENTENCES) -> bytes:
    """Calibrate on spec's training sentences and return the full-integer flatbuffer."""
    return quantize_static(fp32, spec, recipe(rules), limit)


def quantize_static(fp32: bytes, spec: LowerSpec, aeq_recipe, limit: int = CALIBRATION_SENTENCES) -> bytes:
    """Any ai-edge-quantizer static recipe, calibrated on up to `limit` of spec's training sentences."""
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import quantizer

    from exporter.quiet import to_log

    names = Interpreter(model_content=fp32).get_signature_list()["serving_default"]["inputs"]
    ids_name, mask_name = sorted(names)  # the runner feeds inputs in name order too
    n = min(limit, len(spec.calibration_ids))
    samples = [{ids_name: spec.calibration_ids[i:i + 1].astype(np.int32),
                mask_name: spec.calibration_mask[i:i + 1].astype(np.int32)} for i in range(n)]
    q = quantizer.Quantizer(bytearray(fp32), aeq_recipe)
    with to_log():  # its progress bars ignore enable_progress_bar
        calibration = q.calibrate({"serving_default": samples}, num_threads=2)
        result = q.quantize(calibration, enable_progress_bar=False, enable_progress_report=False)
    return bytes(result.quantized_model)
