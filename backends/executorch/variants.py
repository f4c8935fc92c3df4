"""ExecuTorch's variants: what `dynaedge export` can write as a .pte (backends/variant.py).

Every file takes any length up to seq_len (lengths.py).
"""

from backends.variant import Variant

SUFFIX = ".pte"

VARIANTS = (
    Variant("executorch", "fp32", "", SUFFIX, "executorch", "fp32", "fp32, every op on XNNPACK", default=True,
            lengths="any"),
    Variant("executorch", "fp32", "emb8", SUFFIX, "executorch", "fp32-emb8",
            "fp32 on XNNPACK, word table int8 per row (a third of the fp32 file's size)",
            options=(("word_table", "int8"),), table_bytes=1.0, lengths="any", timed_as="fp32"),
    Variant("executorch", "int8", "", SUFFIX, "executorch", "int8",
            "static int8 activations calibrated on training sentences, per-channel int8 weights (XNNPACK)",
            options=(("int8_mode", "static"),), default=True, table_bytes=1.0, lengths="any"),
    Variant("executorch", "int8", "dynamic", SUFFIX, "executorch", "int8",
            "dynamic int8 activations (quantized per call), per-channel int8 weights (XNNPACK)",
            options=(("int8_mode", "dynamic"),), table_bytes=1.0, lengths="any", dynamic_activations=True),
    Variant("executorch", "ternary", "", SUFFIX, "executorch+ternary", "ternary",
            "2-bit ternary weights on our DynaedgeTernaryBackend delegate, int8 activations",
            options=(("ternary_storage", "delegate"),), default=True, table_bytes=0.25, lengths="any"),
    Variant("executorch", "ternary", "int4", SUFFIX, "executorch", "ternary-fallback",
            "ternary weights as XNNPACK 4-bit per-channel codes {-7,0,7}, dynamic int8 activations (stock runtime)",
            options=(("ternary_storage", "int4"),), weight_bytes=0.5, table_bytes=0.25,
            lengths="any", dynamic_activations=True),
    # A mixed-precision model searched to a size (dynaedge export --mixed-mb S): its bytes come from its
    # own bit map, its latency from the int8-dynamic fit on the work it keeps (timed_as) blended with
    # the ternary-int4 fit (all 4-bit codes, the same XNNPACK qd8-f32-qc4w kernels) by its share of
    # MACs on 4-bit weights.
    Variant("executorch", "mixed", "", SUFFIX, "executorch", "mixed",
            "per group of rows 8-bit or 4-bit / ternary-as-4-bit weights searched to a size (AQ-BERT), pruned "
            "heads and neurons removed, dynamic int8 activations (XNNPACK)",
            default=True, table_bytes=0.5, lengths="any", dynamic_activations=True, timed_as="int8-dynamic",
            int4_timed_as="ternary-int4"),
)
