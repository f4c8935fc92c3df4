"""The systems `dynaedge bench` times: our lowered artifacts and the peers, built from one teacher
(and the ternary ones from the supernet's full-size ternary slice, when a supernet is trained).

Peers (GitHub issue #21; exporter/peers/ builds them the way their users do):
- torch-eager                  the teacher in PyTorch eager, fp32
- torch-eager-dynamic          torch.ao quantize_dynamic({nn.Linear}, qint8)
- onnxruntime-fp32             the teacher's plain ONNX export
- onnxruntime-dynamic          the same + quantize_dynamic(QInt8): what most users try first
- onnxruntime-fused-fp32       HF-form export + optimize_model(model_type="bert") fusions
- onnxruntime-fused-dynamic    the same + quantize_dynamic(per_channel=True, QInt8): the strongest
Each peer carries its parity with the teacher on dev sentences, and the ONNX ones the op counts of
the graph ONNX Runtime runs.

Artifacts are built per sequence length (each accepts at most that many tokens) and cached by the teacher's
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
    fused_ops: dict[str, int] | None = None   # ONNX peers: op counts of the graph the runtime runs
    note: str = ""                            # how a peer was built, what did not fuse
    parity: dict | None = None                # peers: logits vs the teacher (exporter.peers.parity)


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
    # mixed-precision files come from their own runs (export --mixed-mb), not from the teacher
    jobs = [(teacher, v, work) for v in variants() if v.precision in ("fp32", "int8")]
    if ternary is not None:
        ternary_work = cache_dir("bench", f"{_teacher_key(ternary)}-s{seq_len}")
        jobs += [(ternary, v, ternary_work) for v in variants() if v.precision == "ternary"]
    for model, variant, where in tqdm(jobs, desc=f"lower for bench (seq {seq_len})", leave=False):
        systems.append(_system(model, variant, calib, where))
    return systems + peer_systems(teacher, inputs, calib, work)


def peer_systems(teacher, inputs, calib: LowerSpec, work: Path) -> list[System]:
    """The peers after torch-eager (module docstring), each with its parity against the teacher on
    the first dev sentences; fp32 ones must match it (exporter.peers.parity)."""
    from exporter.peers import code_key, onnx_bert, onnx_plain, torch_dynamic
    from exporter.peers.parity import SENTENCES, check_same_function, peer_parity, teacher_logits

    threads = torch.get_num_threads()
    tag = code_key()
    fp32_path, int8_path = work / f"fp32-{tag}.onnx", work / f"int8-dynamic-{tag}.onnx"
    if not (fp32_path.exists() and int8_path.exists()):
        onnx_plain.build_plain(teacher, calib.example_inputs(), fp32_path, int8_path)
    fused = onnx_bert.build_fused(teacher, calib.example_inputs(), work, tag)
    torch_path = work / f"torch-eager-dynamic-{tag}.pt"
    if not torch_path.exists():
        torch_dynamic.save_torch_dynamic(teacher, torch_path)
    fusion = onnx_bert.fusion_note(fused.fp32, len(teacher.layers))
    plain = onnx_plain.NOTE
    peers = [("onnxruntime-fp32", "fp32", fp32_path, plain),
             ("onnxruntime-dynamic", "int8", int8_path, plain + "; quantize_dynamic(QInt8)"),
             ("onnxruntime-fused-fp32", "fp32", fused.fp32, fusion),
             ("onnxruntime-fused-dynamic", "int8", fused.int8, fusion + "; quantize_dynamic(per_channel, QInt8)"),
             ("torch-eager-dynamic", "int8", torch_path, torch_dynamic.NOTE)]
    dev = inputs.splits.dev
    ids, mask = dev.ids[:SENTENCES], dev.mask[:SENTENCES]
    reference = teacher_logits(teacher, ids, mask)
    systems = []
    for name, precision, path, note in peers:
        parity = peer_parity(path, reference, ids, mask, threads)
        if precision == "fp32":
            check_same_function(name, parity)
        if path.suffix == ".onnx":
            size, ops = path.stat().st_size, onnx_bert.runtime_ops(path, threads)
        else:
            size, ops = torch_dynamic.shipped_bytes(path), None
        systems.append(System(name, precision, path, size, ops, note, parity))
    return systems


def _system(model, variant: Variant, calib: LowerSpec, work: Path) -> System:
    """Lower `model` as `variant` once, cached in `work`."""
    path = work / variant.file_name("bench")
    if not path.exists():
        spec = LowerSpec(variant.precision, calib.seq_len, calib.calibration_ids, calib.calibration_mask,
                         variant.options)
        write_bytes(path, get_backend(variant.backend).lower(model, spec).data)
    return System(system_name(variant), variant.precision, path, path.stat().st_size)
