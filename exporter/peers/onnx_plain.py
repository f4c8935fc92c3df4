"""The peer most users try first: the teacher's own graph through torch.onnx.export, with dynamic
batch and sequence axes (as optimum / Hugging Face users export, so each sentence runs at its own
length), then onnxruntime.quantization.quantize_dynamic(QInt8)."""

from pathlib import Path

NOTE = "the teacher's own graph, exported as is (opset 17, dynamic batch and sequence axes)"
DYNAMIC_AXES = {"ids": {0: "batch", 1: "sequence"}, "mask": {0: "batch", 1: "sequence"}, "logits": {0: "batch"}}


def build_plain(teacher, example: tuple, fp32_path: Path, int8_path: Path) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    exported = fp32_path.with_suffix(".tmp.onnx")
    torch.onnx.export(teacher.eval(), example, str(exported), input_names=["ids", "mask"], output_names=["logits"],
                      dynamic_axes=DYNAMIC_AXES, opset_version=17, dynamo=False)
    exported.replace(fp32_path)
    tmp = int8_path.with_suffix(".tmp.onnx")
    quantize_dynamic(str(fp32_path), str(tmp), weight_type=QuantType.QInt8)
    tmp.replace(int8_path)
