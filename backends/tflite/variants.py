"""TFLite's variants: what `dynaedge export` can write as a .tflite (backends/variant.py).

fp32, static and dynamic int8 and mixed hold one graph per length bucket (lengths.py); full-integer
and the ternary files are fixed-length.
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
    # A mixed-precision model searched to a size (dynaedge export --mixed-mb S; backends/tflite/mixed.py):
    # its bytes come from its own bit map, its latency from the int8-dynamic fit on the work it keeps.
    # No all-4-bit TFLite fit exists to blend in (ternary-int4 is not calibrated), so its 4-bit rows are
    # priced as int8 rows.
    Variant("tflite", "mixed", "", SUFFIX, "litert", "mixed",
            "per group of rows 8-bit or 4-bit / ternary-as-4-bit weights searched to a size (AQ-BERT) in dynamic-range "
            "FULLY_CONNECTED ops, pruned heads and neurons removed (stock LiteRT)",
            default=True, table_bytes=0.5, lengths="buckets", dynamic_activations=True, timed_as="int8-dynamic"),
    # The same with its ternary Linear rows at 2 bits in our op: smaller only when the search priced
    # ternary rows at 2 bits (recipe pricing = "packed"); its row's bytes are the stock pricing's.
    Variant("tflite", "mixed", "op", SUFFIX, "litert+ternary", "mixed",
            "mixed precision as above, its ternary rows at 2 bits in DYNAEDGE_TERNARY_FC (fixed length)",
            options=(("ternary_rows", "op"),), table_bytes=0.5, dynamic_activations=True, timed_as="int8-dynamic"),
)
