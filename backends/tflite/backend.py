"""TFLite backend: litert-torch converts the encoder; int8 through litert-torch's PT2EQuantizer.

int8 modes: "static" (default) = int8 activations calibrated on real training sentences and
per-channel int8 weights, on the Linear layers (int8_scope "linear"; "all" adds every op the
quantizer supports); an int8 output tensor is dequantized by the runner with its scale / zero
point. "dynamic" = dynamic-range int8: ai-edge-quantizer's dynamic_wi8c_afp32 on the fp32 graph's
FULLY_CONNECTED ops (per-channel int8 weights, activations quantized per call). "full" =
full-integer: ai-edge-quantizer static quantization of the fp32 graph per op class
(full_integer.RULES: int8 or 16-bit activations). Ops left in float (and, for "full", ops on
16-bit activations) are listed as fallbacks.

Every int8 mode first swaps the word table for backends/int8_embedding.Int8Embedding: int8 rows
with one fp32 scale per row, a GATHER_ND on an int8 constant then CAST and MUL in the graph, which
no quantizer touches (LiteRT's EMBEDDING_LOOKUP refuses per-channel int8 tables, and the
converter's own PT2E dynamic mode gave the table a non-zero zero point it refuses at load time).
"""

from pathlib import Path

import numpy as np
import torch

from backends.base import LowerSpec, Lowered, at_own_length, calibrate, length_dims
from backends.int8_embedding import with_int8_word_table, word_table_option
from backends.int8_scope import module_list, node_predicate
from backends.tflite.inspect import float_ops, int16_ops, op_counts
from backends.lengths import bucket_for, bucket_lengths
from backends.tflite.lengths import convert_buckets, signature_lengths, signature_name
from exporter.errors import unknown_choice

INT8_MODES = ("static", "dynamic", "full")


class TFLiteBackend:
    name = "tflite"
    suffix = ".tflite"
    # "mixed": a frozen mixed-precision model (exporter/compress/freeze_mixed.py, variant "mixed")
    precisions = ("fp32", "int8", "ternary", "mixed")

    def lower(self, model: torch.nn.Module, spec: LowerSpec) -> Lowered:
        import litert_torch

        if spec.precision not in self.precisions:
            raise unknown_choice("tflite precision", spec.precision, self.precisions)
        model = model.eval()
        example = spec.example_inputs()
        if spec.precision == "ternary":
            from backends.tflite.ternary.lowering import lower_ternary

            return lower_ternary(model, spec)
        if spec.precision == "mixed":  # dynamic-range int8 and int4 FULLY_CONNECTED parts (+ ternary ones in our op)
            from backends.tflite.mixed import lower_mixed_tflite

            return lower_mixed_tflite(model, spec)
        if spec.precision == "fp32":
            model, scheme = word_table_option(model, spec)
            data = convert_buckets(model, spec)
            return Lowered(data, self.name, "fp32", scheme, op_counts(data), max_len=spec.seq_len,
                           buckets=bucket_lengths(spec.seq_len))
        mode = spec.option("int8_mode", "static")
        if mode not in INT8_MODES:
            raise unknown_choice("int8_mode", mode, INT8_MODES)
        model = with_int8_word_table(model)
        if mode == "static":
            data = _convert_int8(model, spec)
            if spec.option("int8_float_modules", "ffn_out"):
                # The Linears kept off static activations still store int8 weights (dynamic-range, as
                # in the int8-dynamic file): ai-edge-quantizer rewrites only the FCs left in float;
                # full size 33.8 -> ~23 MB.
                data = _dynamic_int8(data)
        elif mode == "dynamic":  # ai-edge-quantizer rewrites the converted fp32 flatbuffer
            data = _dynamic_int8(convert_buckets(model, spec))
        else:
            # Fixed length: full_integer calibrates and names the ops of one serving_default graph.
            from backends.tflite.full_integer import quantize_full_integer

            data = quantize_full_integer(litert_torch.convert(model, example).model_content(), spec)
        fallbacks = tuple(f"{what}: {', '.join(f'{k} x{v}' for k, v in ops.items())}"
                          for what, ops in (("ops left in float", float_ops(data)),
                                            ("ops on 16-bit activations", int16_ops(data) if mode == "full" else {}))
                          if ops)
        fixed = mode == "full"
        if fixed:
            fallbacks += (f"fixed length {spec.seq_len}: the full-integer recipe is written for the fixed-length "
                          f"graph, so sentences are padded to it",)
        return Lowered(data, self.name, "int8", _scheme(mode, spec), op_counts(data), fallbacks,
                       max_len=None if fixed else spec.seq_len, buckets=() if fixed else bucket_lengths(spec.seq_len))

    def load(self, path: Path, threads: int = 2):
        from backends.tflite.ternary.payload import OP_NAME

        if OP_NAME.encode() in Path(path).read_bytes():  # the op code's name; the Python interpreter cannot run it
            from backends.tflite.ternary.runner import LiteRtTernaryRunner

            return LiteRtTernaryRunner(Path(path), threads=threads)
        return TFLiteRunner(Path(path), threads)


def _scheme(mode: str, spec: LowerSpec) -> str:
    if mode == "dynamic":
        return ("dynamic-range int8 (ai-edge-quantizer: per-channel int8 FULLY_CONNECTED weights, float "
                "activations quantized at run time); embeddings int8 per row")
    if mode == "full":
        return ("full-integer (ai-edge-quantizer static: per-channel int8 weights, int8 activations, int16 on "
                "the ops listed in fallbacks); embeddings int8 per row")
    return (f"static int8 activations, per-channel int8 weights (PT2EQuantizer, scope "
            f"{spec.option('int8_scope', 'linear')}; dynamic-range int8 on: "
            f"{spec.option('int8_float_modules', 'ffn_out') or 'none'}); "
            f"embeddings int8 per row")


def _dynamic_int8(fp32: bytes) -> bytes:
    from ai_edge_quantizer import qtyping, recipe

    rules = recipe.dynamic_wi8c_afp32(operation_name=qtyping.TFLOperationName.FULLY_CONNECTED)
    return apply_quantizer_recipe(fp32, rules)


def apply_quantizer_recipe(data: bytes, rules) -> bytes:
    """A flatbuffer rewritten by an ai-edge-quantizer recipe that needs no calibration."""
    from ai_edge_quantizer import quantizer

    from exporter.quiet import to_log

    with to_log():  # its progress bars ignore enable_progress_bar
        result = quantizer.Quantizer(bytearray(data), rules).quantize(enable_progress_bar=False,
                                                                      enable_progress_report=False)
    return bytes(result.quantized_model)


def _convert_int8(model: torch.nn.Module, spec: LowerSpec) -> bytes:
    import litert_torch
    from litert_torch.quantize.pt2e_quantizer import get_symmetric_quantization_config
    from litert_torch.quantize.quant_config import QuantConfig
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    example = spec.example_inputs()
    graph = torch.export.export(model, example, dynamic_shapes=length_dims(spec.seq_len), strict=False).module()
    config = get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
    wanted = node_predicate(spec.option("int8_scope", "linear"), module_list(spec.option("int8_float_modules", "ffn_out")))
    quantizer = _filtered_quantizer(config, wanted)
    prepared = prepare_pt2e(graph, quantizer)
    # each sentence at its own length (traced with a dynamic length, so every bucket's graph comes
    # from this one calibrated module); padding would skew the ranges
    calibrate(prepared, spec, limit=256, desc="calibrate int8 (tflite)", own_length=True)
    converted = convert_pt2e(prepared, fold_quantize=False)
    return convert_buckets(converted, spec, quant_config=QuantConfig(pt2e_quantizer=quantizer))


def _filtered_quantizer(config, wanted):
    """litert-torch's PT2EQuantizer annotating only the nodes `wanted` accepts.

    Its own set_module_name / set_module_type filters parse nn_module_stack in an older
    format than torch.export writes today and match nothing, so annotation is driven here.
    """
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer
    from litert_torch.quantize.pt2e_quantizer_utils import propagate_annotation

    class FilteredQuantizer(PT2EQuantizer):
        def annotate(self, model):
            self._annotate_all_static_patterns(model, config, wanted)
            propagate_annotation(model)
            return model

    return FilteredQuantizer().set_global(config)  # QuantConfig reads the global config's mode


class TFLiteRunner:
    """ai_edge_litert Interpreter; int32 inputs; an int8 output is dequantized with its own scale.
    A bucketed file (signatures s16, s32, ...: lengths.py) runs each sentence padded to the first
    bucket that holds it; `buckets` says which kind of file it is (() = one fixed-length graph)."""

    def __init__(self, path: Path, threads: int):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=threads)
        self.buckets = signature_lengths(self.interpreter.get_signature_list())
        if self.buckets:
            self.signatures = {n: self.interpreter.get_signature_runner(signature_name(n)) for n in self.buckets}
            details = self.signatures[self.buckets[0]].get_input_details()
            self.input_names = sorted(details)  # args_0 (ids), args_1 (mask): the runner feeds name order
            out = next(iter(self.signatures[self.buckets[0]].get_output_details().values()))
        else:
            self.interpreter.allocate_tensors()
            inputs = sorted(self.interpreter.get_input_details(), key=lambda d: d["name"])
            self.inputs = [(d["index"], d["dtype"]) for d in inputs]
            out = self.interpreter.get_output_details()[0]
            self.output = out["index"]
        scale, zero = out["quantization"]
        self.dequant = (scale, zero) if out["dtype"] in (np.int8, np.uint8) and scale else None

    def __call__(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.buckets:
            out = self._bucketed(ids, mask)
        else:
            for (index, dtype), value in zip(self.inputs, (ids, mask)):
                self.interpreter.set_tensor(index, np.ascontiguousarray(value, dtype=dtype))
            self.interpreter.invoke()
            out = self.interpreter.get_tensor(self.output)
        if self.dequant:
            scale, zero = self.dequant
            return ((out.astype(np.float32) - zero) * scale).astype(np.float32)
        return out.astype(np.float32)

    def _bucketed(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        ids, mask = at_own_length(ids, mask)
        bucket = bucket_for(ids.shape[1], self.buckets)
        fed = [np.zeros((1, bucket), np.int32) for _ in range(2)]
        fed[0][:, :ids.shape[1]], fed[1][:, :ids.shape[1]] = ids, mask
        result = self.signatures[bucket](**dict(zip(self.input_names, fed)))
        return next(iter(result.values()))
