"""The systems `dynaedge bench` times: our lowered artifacts and the peers, built from one teacher
(and the ternary ones from the supernet's full-size ternary slice, when a supernet is trained).

Artifacts are built per sequence length (they are static-shape) and cached by the teacher's
weights and the backends' source, so a second bench run only times.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
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
    name: str
    precision: str
    runner: object
    bytes: int


def lowering_code_hash() -> str:
    """The code that shapes a lowered graph (backends/ and exporter/model/, e.g. the attention mask
    value): part of every cache key of lowered files, so a fix never times a stale file."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for source in sorted([*(root / "backends").rglob("*"), *(root / "exporter" / "model").rglob("*")]):
        if source.suffix in (".py", ".cpp", ".h", ".c") and source.is_file():
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


class TorchRunner:
    def __init__(self, model):
        self.model = model.eval()

    @torch.no_grad()
    def __call__(self, ids, mask):
        return self.model(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()


def build_systems(teacher, inputs, seq_len: int, threads: int, ternary=None) -> list[System]:
    """`ternary`: a frozen full-size ternary model (slices.SupernetSlices), timed on both backends."""
    from tqdm import tqdm

    work = cache_dir("bench", f"{_teacher_key(teacher)}-s{seq_len}")
    calib = LowerSpec("fp32", seq_len, inputs.splits.train.ids[:256], inputs.splits.train.mask[:256])
    systems = [System("torch-eager", "fp32", TorchRunner(teacher), 4 * teacher.num_params())]
    plain = [v for v in variants() if v.precision != "ternary"]
    for variant in tqdm(plain, desc=f"lower for bench (seq {seq_len})", leave=False):
        systems.append(_system(teacher, variant, calib, work, threads))
    if ternary is not None:
        systems += _ternary_systems(ternary, calib, seq_len, threads)
    onnx_path = work / "int8-dynamic.onnx"
    if not onnx_path.exists():
        _onnx_dynamic_int8(teacher, calib, work / "fp32.onnx", onnx_path)
    systems.append(System("onnxruntime-dynamic", "int8", OnnxRunner(onnx_path, threads), onnx_path.stat().st_size))
    return systems


def _ternary_systems(frozen, calib: LowerSpec, seq_len: int, threads: int) -> list[System]:
    """Every ternary variant (2-bit delegate and custom op, and the stock-runtime int8 / int4 storages)
    of the supernet's frozen full-size ternary slice."""
    work = cache_dir("bench", f"{_teacher_key(frozen)}-s{seq_len}")
    return [_system(frozen, v, calib, work, threads) for v in variants() if v.precision == "ternary"]


def _system(model, variant: Variant, calib: LowerSpec, work: Path, threads: int) -> System:
    """Lower `model` as `variant` once, cached in `work`."""
    backend = get_backend(variant.backend)
    path = work / variant.file_name("bench")
    if not path.exists():
        spec = LowerSpec(variant.precision, calib.seq_len, calib.calibration_ids, calib.calibration_mask,
                         variant.options)
        write_bytes(path, backend.lower(model, spec).data)
    return System(system_name(variant), variant.precision, backend.load(path, threads), path.stat().st_size)


def _onnx_dynamic_int8(teacher, calib: LowerSpec, fp32_path: Path, int8_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    torch.onnx.export(teacher.eval(), calib.example_inputs(), str(fp32_path), input_names=["ids", "mask"],
                      output_names=["logits"], opset_version=17, dynamo=False)
    tmp = int8_path.with_suffix(".tmp.onnx")
    quantize_dynamic(str(fp32_path), str(tmp), weight_type=QuantType.QInt8)
    tmp.replace(int8_path)


class OnnxRunner:
    def __init__(self, path: Path, threads: int):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def __call__(self, ids, mask):
        return self.session.run(["logits"], {"ids": ids.astype(np.int32), "mask": mask.astype(np.int32)})[0]
