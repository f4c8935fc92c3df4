"""ExecuTorch backend: torch.export -> (pt2e int8) -> XNNPACK delegate -> .pte.

fp32: the whole encoder on XNNPACK. int8: pt2e with XNNPACKQuantizer, symmetric
per-channel weights, static per-tensor activations calibrated on real training sentences
(or dynamic activations with option int8_mode=dynamic), and the word table stored int8 per row
(backends/int8_embedding.py). fp32 and int8 lower a copy of the model whose LayerNorms are
written in XNNPACK's ops (layer_norm.py) and whose attention runs in 3D for one sentence
(attention.py), and edge passes (passes.py) trim the attention block (no-op expands and views,
double transposes, the score scaling moved onto the queries): only the embedding
gathers, the int -> float casts, the mask unsqueezes, the token-type row and the pooling sums stay
on portable kernels (the fallbacks line lists them). int8_mode=dynamic was the faster mode on the
hosts measured (scripts/bench_int8_variants.py). Every file accepts any
sentence length up to seq_len (lengths.py): a phone runs a 20-token sentence at 20, not padded to
64. ternary: a frozen QAT model
(exporter.compress.freeze) whose ternary Linears go to our 2-bit DynaedgeTernaryBackend
(backends/executorch/ternary), everything else to XNNPACK, from the same XNNPACK-friendly copy and
edge passes as fp32 and int8 (13 LayerNorms and 24 expands were portable ops in between).
"""

from pathlib import Path

import numpy as np
import torch

from backends.base import LowerSpec, Lowered, calibrate, length_dims
from backends.executorch.attention import with_one_sentence_attention
from backends.executorch.delegates import count_delegated_ops, undelegated_op_names
from backends.executorch.layer_norm import LinearMeanLayerNorm, with_linear_mean_layer_norms
from backends.executorch.lengths import constant_methods
from backends.executorch.passes import PASSES
from backends.int8_embedding import with_int8_word_table, word_table_option
from backends.int8_scope import apply_scope, module_list
from exporter.errors import unknown_choice

INT8_MODES = ("static", "dynamic")
TERNARY_BACKEND_ID = b"DynaedgeTernaryBackend"  # the delegate id a .pte stores as a string


class ExecuTorchBackend:
    name = "executorch"
    suffix = ".pte"
    # "mixed": a frozen mixed-precision model (exporter/compress/freeze_mixed.py, variant "mixed")
    precisions = ("fp32", "int8", "ternary", "mixed")

    def lower(self, model: torch.nn.Module, spec: LowerSpec) -> Lowered:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower

        if spec.precision not in self.precisions:
            raise unknown_choice("executorch precision", spec.precision, self.precisions)
        model = model.eval()
        example, lengths = spec.example_inputs(), length_dims(spec.seq_len)
        quantization = "none (fp32)"
        storage = spec.option("ternary_storage", "delegate")
        if spec.precision == "ternary" and storage not in ("delegate", "int4"):
            raise unknown_choice("executorch ternary_storage", storage, ("delegate", "int4"))
        if spec.precision == "ternary" and storage == "int4":  # stock runtime: XNNPACK 4-bit, no custom delegate
            from backends.executorch.ternary_int4 import SCHEME, lower_ternary_int4

            edge = lower_ternary_int4(_for_xnnpack(model), example, PASSES, lengths,
                                      constant_methods(spec.seq_len))
            quantization = SCHEME
        elif spec.precision == "mixed":  # stock runtime: XNNPACK int8 and 4-bit parts, dynamic int8 inputs
            from backends.executorch.mixed_xnnpack import SCHEME, lower_mixed

            edge = lower_mixed(_for_xnnpack(model), example, PASSES, lengths, constant_methods(spec.seq_len))
            quantization = SCHEME
        elif spec.precision == "ternary":
            from backends.executorch.ternary.blocks import with_fused_blocks
            from backends.executorch.ternary.lowering import lower_ternary
            from backends.executorch.ternary.partitioner import TernaryPartitionSpec

            # Only the model's own Linears: the LayerNorm rewrite's constant 1/H rows look ternary too.
            linears = frozenset(f"{name}.weight" for name, m in model.named_modules() if isinstance(m, torch.nn.Linear))
            edge = lower_ternary(_for_xnnpack(with_fused_blocks(model)), example, TernaryPartitionSpec(weights=linears),
                                 lengths, PASSES, constant_methods(spec.seq_len))
            quantization = ("ternary 2-bit weights with per-row scales (DynaedgeTernaryBackend), int8 activations "
                            "with trained static scales; per layer Q, K, V and two fused blocks (output + add + "
                            "LayerNorm, FFN + GELU + add + LayerNorm) on the delegate, attention on XNNPACK")
        else:
            model = _for_xnnpack(model)
            if spec.precision == "fp32":
                model, quantization = word_table_option(model, spec)
            else:
                model, quantization = _quantize_int8(with_int8_word_table(model), spec)
            program = torch.export.export(model, example, dynamic_shapes=lengths, strict=False)
            edge = to_edge_transform_and_lower(program, transform_passes=list(PASSES),
                                               partitioner=[XnnpackPartitioner()],
                                               constant_methods=constant_methods(spec.seq_len))
        # Count before to_executorch(): memory planning adds alloc nodes to the same graph.
        delegates = count_delegated_ops(edge)
        names = ", ".join(f"{k} x{v}" for k, v in undelegated_op_names(edge).items())
        fallbacks = (f"{delegates['undelegated']} ops outside XNNPACK run on portable kernels: {names}",) \
            if delegates.get("undelegated", 0) else ()
        data = edge.to_executorch().buffer
        return Lowered(bytes(data), self.name, spec.precision, quantization, delegates, fallbacks,
                       max_len=spec.seq_len)

    def load(self, path: Path, threads: int = 2):
        from backends.executorch.runner import ExecuTorchRunner

        return ExecuTorchRunner(Path(path), threads)


def _for_xnnpack(model: torch.nn.Module) -> torch.nn.Module:
    """A copy written in ops XNNPACK takes whole: LayerNorm as FCs, attention in 3D for one sentence."""
    return with_one_sentence_attention(with_linear_mean_layer_norms(model))


def _encoder_quantizer():
    """XNNPACKQuantizer without its convolution and pooling patterns: the encoder has none, and the
    quantizer traces each conv-bn pattern anew for every configured module (~1 s each; ~40 s of a
    full-size int8 lowering here). The ops it annotates, and so the files, stay the same."""
    from executorch.backends.xnnpack.quantizer import xnnpack_quantizer as xq

    absent = xq.CONV_TARGETS | xq.CONV_TRANSPOSE_TARGETS | xq.ADAPTIVE_AVG_POOL2D_TARGETS

    class EncoderQuantizer(xq.XNNPACKQuantizer):
        SUPPORTED_PATTERNS = [p for p in xq.XNNPACKQuantizer.SUPPORTED_PATTERNS if not set(p.op_overloads) & absent]

    return EncoderQuantizer()


def _quantize_int8(model: torch.nn.Module, spec: LowerSpec):
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import get_symmetric_quantization_config
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    mode = spec.option("int8_mode", "static")
    if mode not in INT8_MODES:
        raise unknown_choice("int8_mode", mode, INT8_MODES)
    dynamic = mode == "dynamic"
    graph = torch.export.export(model, spec.example_inputs(), dynamic_shapes=length_dims(spec.seq_len),
                                strict=False).module()
    scope = spec.option("int8_scope", "linear")
    dynamic_modules = module_list(spec.option("int8_dynamic_modules", "ffn_out"))
    quantizer = apply_scope(_encoder_quantizer(),
                            get_symmetric_quantization_config(is_per_channel=True, is_dynamic=dynamic), scope,
                            model=model, dynamic_modules=dynamic_modules, float_types=(LinearMeanLayerNorm,),
                            dynamic_config=get_symmetric_quantization_config(is_per_channel=True, is_dynamic=True))
    prepared = prepare_pt2e(graph, quantizer)
    calibrate(prepared, spec, limit=16 if dynamic else 256, desc="calibrate int8 (executorch)", own_length=True)
    scheme = ("dynamic int8 activations" if dynamic else
              f"static int8 activations (dynamic on {', '.join(dynamic_modules) or 'none'})") + \
        f", per-channel int8 weights (XNNPACKQuantizer, scope {scope}); embeddings int8 per row"
    return convert_pt2e(prepared), scheme
