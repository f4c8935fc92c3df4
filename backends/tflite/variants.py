"""TFLite's variants: what `dynaedge export` can write as a .tflite (backends/variant.py).

fp32, static and dynamic int8 hold one graph per length bucket (lengths.py); full-integer and
the ternary files are fixed-length.
"""

from backends.variant import Variant

SUFFIX = ".tflite"

VARIANTS = (
    Variant("tflite", "fp32", "", SUFFIX, "litert", "fp32", "fp32 (litert-torch)", default=True, lengths="buckets"),
    Variant("tflite", "fp32", "emb8", SUFFIX, "litert", "fp32-emb8",
            "fp32, word table int8 per row (a third of the fp32 file's size)",
            options=(("word_table", "int8"),), table_bytes=1.0, lengths="buckets", timed_as="fp32"),
    Variant("tflite", "int8", "", SUFFIX, "litert", "int8",
            "static int8 activations calibrated on training sentences, per-channel int8 weights",
            options=(("int8_mode", "static"),), default=True, table_bytes=1.0, lengths="buckets"),
    Variant("tflite", "int8", "dynamic", SUFFIX, "litert", "int8",
            "dynamic-range int8: per-channel int8 weights, activations quantized per call",
            options=(("int8_mode", "dynamic"),), table_bytes=1.0, lengths="buckets", dynamic_activations=True),
    Variant("tflite", "int8", "full", SUFFIX, "litert", "int8",
            "full-integer: integer ops, some on 16-bit activations; LayerNorm's SQUARED_DIFFERENCE float",
            options=(("int8_mode", "full"),), table_bytes=1.0),
    Variant("tflite", "ternary", "", SUFFIX, "litert+ternary", "ternary-litert",
            "2-bit ternary weights in our DYNAEDGE_TERNARY_FC custom op (kernel registered via LiteRT's C API)",
            options=(("custom_ops", "on"),), default=True, table_bytes=0.25),
    Variant("tflite", "ternary", "int8", SUFFIX, "litert", "ternary-fallback",
            "ternary values as int8 FULLY_CONNECTED weights, activations quantized per call (stock LiteRT)",
            options=(("custom_ops", "off"),), weight_bytes=1.0, table_bytes=0.25, dynamic_activations=True),
    Variant("tflite", "ternary", "int4", SUFFIX, "litert", "ternary-fallback",
            "ternary values as int4 FULLY_CONNECTED weights {-7,0,7}, activations quantized per call (stock LiteRT)",
            options=(("custom_ops", "int4"),), weight_bytes=0.5, table_bytes=0.25, dynamic_activations=True),
)
