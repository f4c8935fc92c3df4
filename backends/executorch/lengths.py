"""Length-adaptive .pte files: the sequence dimension is dynamic, bounded by the spec's seq_len.

torch.export traces with `Dim("seq", min=MIN_LENGTH, max=seq_len)` on ids and mask (base.length_dims), so a file runs
a sentence at its own length (XNNPACK reshapes its runtime for each new length) instead of padding
it to seq_len. The file says so itself: a constant method MAX_LEN_METHOD returns seq_len (the
convention of ExecuTorch's own LLM exports), which the runner and the demo app read; a
fixed-length file has no such method and is fed padded inputs as before.
"""

MAX_LEN_METHOD = "get_max_seq_len"


def constant_methods(seq_len: int) -> dict:
    return {MAX_LEN_METHOD: seq_len}
