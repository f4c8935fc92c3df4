"""The systems `dynaedge bench` times: our lowered artifacts and the peers, built from one teacher
(and the ternary ones from the supernet's full-size ternary slice, when a supernet is trained).

Artifacts are built per sequence length (they are static-shape) and cached by the teacher's
weights and the backends' source, so a second bench run only times.
"""

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import torch

from backends.base import LowerSpec
from backends.registry import get_backend, variants
from backends.variant import Variant
from exporter.atomic import write_bytes
from exporter.paths import cache_dir


def system_name(variant: Variant) -> str:
    """"executorch-int8-dynamic": one bench row per variant of the backends' tables."""
    return f"{variant.backend}-{variant.name}"


@dataclass(frozen=True)
class System:
    """One timed system: a file the child process of exporter.bench_timing loads by its suffix."""

    name: str
    precision: str
    file: Path
    bytes: int             # what a user ships (torch eager: its fp32 weights)


def lowering_code_hash() -> str:
    """The code that shapes a lowered graph (backends/ and exporter/model/, e.g. the attention mask
    value): part of every cache key of lowered files, so a fix never times a stale file. A
    backend's runner.py only runs files and is left out."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for source in sorted([*(root / "backends").rglob("*"), *(root / "exporter" / "model").rglob("*")]):
        if source.suffix in (".py", ".cpp", ".h", ".c") and source.is_file() and source.name != "runner.py":
            h.update(str(source.relative_to(root)).encode())
            h.update(source.read_bytes())
    return h.hexdigest()[:16]


def _teacher_key(teacher) -> str:
    """Cache key of a model's lowered artifacts: its weights and the lowering code."""
    h = hashlib.sha256()
    for name, t in sorted(teacher.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().contiguous().numpy().tobytes())
    h.update(lowering_code_hash().encode())
    return h.hexdigest()[:16]


def build_systems(teacher, inputs, seq_len: int, ternary=None) -> list[System]:
    """`ternary`: a frozen full-size ternary model (slices.SupernetSlices), lowered in every ternary
    variant. Files are cached by weights and lowering code, so a second run only times."""
    from tqdm import tqdm

    work = cache_dir("bench", f"{_teacher_key(teacher)}-s{seq_len}")
    calib = LowerSpec("fp32", seq_len, inputs.splits.train.ids[:256], inputs.splits.train.mask[:256])
    eager = work / "torch-eager.pt"
    if not eager.exists():
        buffer = io.BytesIO()
        torch.save(teacher.eval(), buffer)
        write_bytes(eager, buffer.getvalue())
    systems = [System("torch-eager", "fp32", eager, 4 * teacher.num_params())]
    jobs = [(teacher, v, work) for v in variants() if v.precision != "ternary"]
    if ternary is not None:
        ternary_work = cache_dir("bench", f"{_teacher_key(ternary)}-s{seq_len}")
        jobs += [(ternary, v, ternary_work) for v in variants() if v.precision == "ternary"]
    for model, variant, where in tqdm(jobs, desc=f"lower for bench (seq {seq_len})", leave=False):
        systems.append(_system(model, variant, calib, where))
    onnx_path = work / "int8-dynamic.onnx"
    if not onnx_path.exists():
        _onnx_dynamic_int8(teacher, calib, work / "fp32.onnx", onnx_path)
    systems.append(System("onnxruntime-dynamic", "int8", onnx_path, onnx_path.stat().st_size))
    return systems


def _system(model, variant: Variant, calib: LowerSpec, work: Path) -> System:
    """Lower `model` as `variant` once, cached in `work`."""
    path = work / variant.file_name("bench")
    if not path.exists():
        spec = LowerSpec(variant.precision, calib.seq_len, calib.calibration_ids, calib.calibration_mask,
                         variant.options)
        write_bytes(path, get_backend(variant.backend).lower(model, spec).data)
    return System(system_name(variant), variant.precision, path, path.stat().st_size)


def _onnx_dynamic_int8(teacher, calib: LowerSpec, fp32_path: Path, int8_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    torch.onnx.export(teacher.eval(), calib.example_inputs(), str(fp32_path), input_names=["ids", "mask"],
                      output_names=["logits"], opset_version=17, dynamo=False)
    tmp = int8_path.with_suffix(".tmp.onnx")
    quantize_dynamic(str(fp32_path), str(tmp), weight_type=QuantType.QInt8)
    tmp.replace(int8_path)
