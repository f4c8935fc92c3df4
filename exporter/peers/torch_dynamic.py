"""PyTorch eager dynamic int8, the way PyTorch's BERT tutorial builds it:
`torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)` (fbgemm / x86
kernels: int8 weights per tensor, activations quantized per call; embeddings and LayerNorm stay fp32).

Applied to exporter.peers.bert_form.BertForm, the teacher's weights in plain nn.Linear layers:
quantize_dynamic swaps modules by exact type, so on the Encoder it would only reach the classifier
(its layers are SliceLinear). torch.ao.quantization is deprecated in favour of torchao but still
ships in torch 2.13, and its eager kernels are what users of this recipe run.
"""

import io
import warnings
from pathlib import Path

NOTE = ("torch.ao.quantization.quantize_dynamic({nn.Linear}, qint8) on the teacher in plain nn.Linear form; "
        "embeddings and LayerNorm stay fp32")


def save_torch_dynamic(teacher, path: Path) -> None:
    """Pickle the quantized module to `path` (the bench child loads .pt with torch.load), atomically."""
    import torch
    from torch import nn

    from exporter.atomic import write_bytes
    from exporter.peers.bert_form import BertForm

    with warnings.catch_warnings():  # the deprecation notices of torch.ao, said once in NOTE
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=".*quantized tensor creation functions.*")
        model = torch.ao.quantization.quantize_dynamic(BertForm.from_encoder(teacher), {nn.Linear}, dtype=torch.qint8)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    write_bytes(path, buffer.getvalue())


def shipped_bytes(path: Path) -> int:
    """Size of the quantized module's state_dict as torch.save writes it: what a user ships."""
    import torch

    buffer = io.BytesIO()
    torch.save(torch.load(path, weights_only=False).state_dict(), buffer)
    return buffer.getbuffer().nbytes
