"""ONNX Runtime's strongest CPU setup for a BERT encoder, the way its docs build it: export the
model with dynamic axes, `optimize_model(model_type="bert")` (Attention, SkipLayerNormalization,
EmbedLayerNormalization, BiasGelu fusions), then `quantize_dynamic(per_channel=True, QInt8)`
after the documented `quant_pre_process` shape inference (ONNX's own shape inference cannot type
the outputs of the fused contrib ops, so quantize_dynamic refuses the fused graph without it).

Also the op counts of a graph as ONNX Runtime runs it, so a bench row says what was fused.
"""

from dataclasses import dataclass
from pathlib import Path

# The op types worth a column: fused transformer ops, the int8 matmul kernels, and the plain ops
# whose presence says a fusion did not happen (MatMul, Softmax, LayerNormalization, Erf).
NOTABLE_OPS = ("Attention", "MultiHeadAttention", "QAttention", "EmbedLayerNormalization", "QEmbedLayerNormalization",
               "SkipLayerNormalization", "LayerNormalization", "BiasGelu", "FastGelu", "Gelu", "Erf", "Softmax",
               "MatMul", "FusedMatMul", "Gemm", "MatMulInteger", "MatMulIntegerToFloat", "DynamicQuantizeMatMul")


@dataclass(frozen=True)
class FusedFiles:
    fp32: Path    # fused graph, fp32 weights
    int8: Path    # the same, dynamic int8 (per-channel QInt8 weights, uint8 activations)


def build_fused(teacher, example: tuple, work: Path, tag: str) -> FusedFiles:
    """The fused fp32 and int8 files of `teacher` in `work`, built once (`tag` keys the code that
    shapes them, see exporter.peers.code_key)."""
    files = FusedFiles(work / f"onnx-fused-{tag}-fp32.onnx", work / f"onnx-fused-{tag}-int8-dynamic.onnx")
    if not files.fp32.exists():
        exported = work / f"onnx-bert-form-{tag}.onnx"
        export_bert_form(teacher, example, exported)
        fuse(exported, files.fp32, teacher.layers[0].heads, teacher.cfg.hidden)
        exported.unlink()
    if not files.int8.exists():
        quantize(files.fp32, files.int8)
    return files


def export_bert_form(teacher, example: tuple, path: Path) -> None:
    """`teacher` as exporter.peers.bert_form.BertForm, exported with dynamic batch and sequence
    axes, as optimum / HF users export (the fuser's position-embedding match needs the Shape ops a
    static export folds away)."""
    import torch

    from exporter.peers.bert_form import BertForm

    from exporter.peers.onnx_plain import DYNAMIC_AXES

    tmp = path.with_suffix(".tmp.onnx")
    torch.onnx.export(BertForm.from_encoder(teacher), example, str(tmp), input_names=["ids", "mask"],
                      output_names=["logits"], dynamic_axes=DYNAMIC_AXES, opset_version=17, dynamo=False)
    tmp.replace(path)


def fuse(src: Path, dst: Path, num_heads: int, hidden_size: int) -> None:
    from onnxruntime.transformers.optimizer import optimize_model

    # Defaults otherwise (opt_level 1 for bert, CPU, mask as key lengths: our padding is on the right).
    model = optimize_model(str(src), model_type="bert", num_heads=num_heads, hidden_size=hidden_size)
    tmp = dst.with_suffix(".tmp.onnx")
    model.save_model_to_file(str(tmp))
    tmp.replace(dst)


def quantize(src: Path, dst: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    typed, tmp = dst.with_suffix(".pre.onnx"), dst.with_suffix(".tmp.onnx")
    quant_pre_process(str(src), str(typed), skip_optimization=True)  # optimize_model already did that
    quantize_dynamic(str(typed), str(tmp), per_channel=True, weight_type=QuantType.QInt8)
    typed.unlink()
    tmp.replace(dst)


def file_ops(path: Path) -> dict[str, int]:
    """Counts of NOTABLE_OPS in the file's graph, as written."""
    import onnx

    return _count(onnx.load(str(path), load_external_data=False).graph.node)


def runtime_ops(path: Path, threads: int) -> dict[str, int]:
    """Counts of NOTABLE_OPS in the graph ONNX Runtime runs: after its load-time fusions, at the
    bench runner's settings (e.g. MatMulInteger becomes DynamicQuantizeMatMul, and the plain graph
    gains SkipLayerNormalization and Gelu, but no Attention)."""
    import tempfile

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.optimized_model_filepath = str(Path(tmp) / "optimized.onnx")
        opts.log_severity_level = 3  # the "hardware specific optimizations" warning of saving: expected
        ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return _count(onnx.load(opts.optimized_model_filepath).graph.node)


def fusion_note(fused_fp32: Path, layers: int) -> str:
    """What optimize_model fused out of what a BERT of `layers` layers offers, and what it missed."""
    ops = file_ops(fused_fp32)
    expected = {"Attention": layers, "SkipLayerNormalization": 2 * layers, "EmbedLayerNormalization": 1,
                "BiasGelu": layers}
    found = {"Attention": ops.get("Attention", 0) + ops.get("MultiHeadAttention", 0),
             "SkipLayerNormalization": ops.get("SkipLayerNormalization", 0),
             "EmbedLayerNormalization": ops.get("EmbedLayerNormalization", 0),
             "BiasGelu": ops.get("BiasGelu", 0) + ops.get("FastGelu", 0)}
    missed = [f"{op} {found[op]}/{n}" for op, n in expected.items() if found[op] < n]
    if missed:
        return "optimize_model did not fuse all: " + ", ".join(missed)
    return "optimize_model fused every layer (" + ", ".join(f"{op} {n}" for op, n in found.items()) + ")"


def _count(nodes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in nodes:
        if node.op_type in NOTABLE_OPS:
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: NOTABLE_OPS.index(kv[0])))
