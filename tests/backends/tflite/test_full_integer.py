"""Full-integer rules: the activation bits each op gets (0 = float), as ai-edge-quantizer resolves them."""

import pytest

from backends.tflite.full_integer import RULES, OpRule, recipe

_ENC = "exporter.model.encoder.Encoder"
_LAYER = f"{_ENC}/exporter.model.encoder.Layer_3"
# Op scopes as litert-torch names them in the default encoder's graph (output tensor names + ";").
SCOPES = {
    "FULLY_CONNECTED": (f"{_LAYER}/exporter.model.encoder.SliceLinear_ffn_in;1;", 8),
    "GELU": (f"{_LAYER};14;", 8),
    "BATCH_MATMUL": (f"{_LAYER};8;", 8),
    "SOFTMAX": (f"{_LAYER}/exporter.model.encoder.MaskedSoftmax_softmax;;{_ENC}/exporter.model.encoder.Layer_0/"
                "exporter.model.encoder.MaskedSoftmax_softmax;;", 16),
    "RSQRT": (f"{_LAYER}/torch.nn.modules.normalization.LayerNorm_ffn_norm;5;", 16),
    "ADD": (f"{_LAYER};;{_LAYER}/exporter.model.encoder.SliceLinear_ffn_out;;", 16),  # residual
    "SUM": (f"{_ENC};8;", 16),  # mean pooling
    "MUL": (f"{_LAYER};;{_ENC}/exporter.model.encoder.Layer_0;;{_LAYER};;", 8),  # score scaling
    "EMBEDDING_LOOKUP": (f"{_ENC}/torch.nn.modules.sparse.Embedding_word;2;", 0),  # the fp32 word table
}


def _bits(rules, op, scope):
    from ai_edge_quantizer import qtyping, recipe_manager

    manager = recipe_manager.RecipeManager()
    manager.load_quantization_recipe(recipe(rules))
    key, config = manager.get_quantization_configs(qtyping.TFLOperationName(op), scope)
    return 0 if key == "no_quantize" else config.activation_tensor_config.num_bits


@pytest.mark.parametrize("op", sorted(SCOPES))
def test_rules_give_each_op_its_activation_bits(op):
    scope, bits = SCOPES[op]
    assert _bits(RULES, op, scope) == bits, (op, scope)


def test_a_layer_norm_name_in_a_fused_fc_scope_keeps_the_fc_int8():
    # litert-torch fuses names: the q projection's output also carries the preceding LayerNorm's name.
    scope = (f"{_ENC}/torch.nn.modules.normalization.LayerNorm_emb_norm;;{_ENC}/exporter.model.encoder.Layer_0/"
             "exporter.model.encoder.SliceLinear_q;1;")
    assert _bits(RULES, "FULLY_CONNECTED", scope) == 8


def test_later_rule_wins():
    rules = (OpRule(".*", "*", 8, "default"), OpRule("Layer_3", "*", 16, "override"))
    assert _bits(rules, "GELU", f"{_LAYER};14;") == 16
    assert _bits(rules, "GELU", f"{_ENC}/exporter.model.encoder.Layer_2;14;") == 8
