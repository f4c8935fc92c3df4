"""The peers `dynaedge bench` times beside our files, each built the way its users build it, from
the same teacher weights (GitHub issue #21).

Layout:
- bert_form.py      the teacher in Hugging Face BERT's op order, plain nn modules, same weights:
                    the form ONNX Runtime's transformer fuser and torch's quantize_dynamic expect
- onnx_plain.py     ONNX Runtime as most users try it first: torch.onnx.export + quantize_dynamic
- onnx_bert.py      ONNX Runtime: export, optimize_model(model_type="bert") fusion, dynamic int8,
                    and the fused op counts of a graph
- torch_dynamic.py  PyTorch eager dynamic int8 (torch.ao.quantization.quantize_dynamic on nn.Linear)
- parity.py         a peer's logits against the teacher's on real sentences, as numbers
"""


def code_key() -> str:
    """Part of a peer file's cache name: this folder's code and the versions that shape the files
    (a fix to a peer, or a new fuser, never times a stale file)."""
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    h = hashlib.sha256()
    for source in sorted(Path(__file__).resolve().parent.glob("*.py")):
        h.update(source.name.encode())
        h.update(source.read_bytes())
    for package in ("torch", "onnxruntime", "onnx"):
        h.update(f"{package}=={version(package)}".encode())
    return h.hexdigest()[:8]
