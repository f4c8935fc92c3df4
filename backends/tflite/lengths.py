"""Length-bucketed .tflite files: one graph per bucket length, weights stored once.

A sentence runs padded to the first bucket that holds it (backends.lengths.bucket_lengths: 16,
32 and 64 tokens at seq_len 64), so a 25-token sentence costs a 32-token run instead of a
64-token one. Each bucket is a signature `s<N>` of one flatbuffer; litert-torch converts them
from the same module, so every weight is one shared buffer (the file grows by the small per-graph
constants only).

Why not one graph of any length, as the .pte files are: litert-torch converts a dynamic length
(with its tfl.* decompositions), but the graph then computes its reshapes at run time, its
tensors become dynamic and XNNPACK delegates none of them: the full-size dynamic-range file ran
9.5 ms at 64 tokens against 1.8 ms for the fixed-shape one (Intel host, 2026-12-06).
"""

import torch

from backends.base import LowerSpec
from backends.lengths import bucket_lengths

PREFIX = "s"


def signature_name(length: int) -> str:
    return f"{PREFIX}{length}"


def convert_buckets(model: torch.nn.Module, spec: LowerSpec, **kwargs) -> bytes:
    """`model` as one flatbuffer with a signature per bucket of spec.seq_len; kwargs go to
    litert_torch's convert (e.g. quant_config)."""
    import litert_torch

    converter = None
    for length in bucket_lengths(spec.seq_len):
        example = tuple(torch.ones((1, length), dtype=x.dtype) for x in spec.example_inputs())
        converter = (litert_torch.signature(signature_name(length), model, example) if converter is None
                     else converter.signature(signature_name(length), model, example))
    return converter.convert(**kwargs).model_content()


def signature_lengths(names) -> tuple[int, ...]:
    """The bucket lengths of a file's signature names; () for a file with one plain signature."""
    lengths = [int(n[len(PREFIX):]) for n in names if n.startswith(PREFIX) and n[len(PREFIX):].isdigit()]
    return tuple(sorted(lengths)) if len(lengths) == len(list(names)) else ()
