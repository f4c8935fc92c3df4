"""Sentence lengths a file can take, as pure numbers (no torch: the variant table and the selector read it).

A file of `seq_len` takes exactly seq_len tokens ("fixed"), any length MIN_LENGTH..seq_len ("any"),
or holds one graph per bucket length and runs a sentence padded to the first bucket that holds it
("buckets").
"""

MIN_LENGTH = 2  # [CLS] and [SEP]: the shortest tokenized sentence
# Of seq_len: 16, 32 and 64 tokens at seq_len 64. Each graph repeats its per-channel scales and
# tensor names (~0.4 MB at full size, the weights are shared): a fourth bucket (48) took the
# dynamic-range .tflite to 5.2 % over its one-graph size, three keep it near 3.5 %.
BUCKET_FRACTIONS = (0.25, 0.5, 1.0)


def bucket_lengths(seq_len: int) -> tuple[int, ...]:
    """The lengths a bucketed file has one graph for, the last one seq_len."""
    return tuple(sorted({max(MIN_LENGTH, -(-round(seq_len * f * 1000) // 1000)) for f in BUCKET_FRACTIONS}))


def bucket_for(length: int, buckets: tuple[int, ...]) -> int:
    """The first bucket that holds `length` tokens."""
    for bucket in buckets:
        if length <= bucket:
            return bucket
    raise ValueError(f"a sentence of {length} tokens is longer than the largest bucket, {buckets[-1]}")
