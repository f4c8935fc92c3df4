"""What a lowered file *is*: one typed entry per (backend, precision, mode, storage).

Each backend lists its variants in its own `variants.py` (pure data, cheap to import); the
registry collects them. CLI choices and help, export jobs, parity gates, selector candidates,
latency-model keys, the bench plan and APK packing all read this table, so a new variant is one
entry plus its lowering code.
"""

from dataclasses import dataclass

from backends.lengths import bucket_for, bucket_lengths


@dataclass(frozen=True)
class Runtime:
    """A runtime a file needs: `family` is what an app embeds, `custom` = our own kernel inside."""

    name: str
    family: str          # "executorch" | "litert": one choice per device and family
    custom: bool         # needs a kernel of ours registered (not in a stock build of the runtime)
    description: str


RUNTIMES = {r.name: r for r in (
    Runtime("executorch", "executorch", False, "stock ExecuTorch >= 1.1 with XNNPACK"),
    Runtime("executorch+ternary", "executorch", True, "ExecuTorch + DynaedgeTernaryBackend"),
    Runtime("litert", "litert", False, "stock LiteRT"),
    Runtime("litert+ternary", "litert", True, "LiteRT + DYNAEDGE_TERNARY_FC"),
)}
FAMILIES = ("executorch", "litert")
LENGTH_KINDS = ("fixed", "any", "buckets")


@dataclass(frozen=True)
class PrecisionFacts:
    """Per-precision numbers the latency model and size estimate read."""

    weight_bytes: float  # bytes per Linear weight (memory floor, size estimate)
    peak: str            # the device-profile number the Linear work scales with
    gate: str            # default parity gate (exporter.verify.THRESHOLDS)


PRECISIONS = {
    "fp32": PrecisionFacts(4.0, "fp32_gflops", "fp32"),
    "int8": PrecisionFacts(1.0, "int8_gops", "int8"),
    "ternary": PrecisionFacts(0.25, "int8_gops", "ternary"),
    # Per group of rows 8, 4 or 2 bits (compress/mixed.py): each mixed model has its own bytes per
    # weight (its table row's "shape"); 1.0 is the bound, every row at 8 bits.
    "mixed": PrecisionFacts(1.0, "int8_gops", "mixed"),
}


@dataclass(frozen=True)
class Variant:
    backend: str                      # registry name: "executorch" | "tflite"
    precision: str                    # PRECISIONS key: what the supernet table's row is
    tag: str                          # "" for the backend's plain file of that precision, else e.g. "dynamic"
    suffix: str                       # ".pte" | ".tflite"
    runtime: str                      # RUNTIMES key: what runs the file
    gate: str                         # exporter.verify.THRESHOLDS key
    scheme: str                       # one line for --help and the docs
    options: tuple[tuple[str, str], ...] = ()   # LowerSpec options the backend reads
    default: bool = False             # written by a plain `export --precision P`
    weight_bytes: float | None = None  # bytes per Linear weight if not the precision's
    table_bytes: float = 4.0          # bytes per word-table entry (the file's largest tensor)
    # How a sentence shorter than seq_len runs: "fixed" padded to seq_len (and costs seq_len); "any"
    # at its own length; "buckets" padded to the first of the file's bucket lengths that holds it
    # (backends.lengths.bucket_lengths: one graph per bucket, weights stored once).
    lengths: str = "fixed"
    # Activations quantized per token at run time instead of with the trained static scales: the
    # selector credits the file with its slice's "dynamic" row (exporter/compress/ptq.py), and a
    # ternary file is verified against that computation.
    dynamic_activations: bool = False
    # The variant whose latency fit this one uses, when the two compute the same graph and differ only
    # in how a table is stored (fp32-emb8: fp32 Linears, int8 word-table rows gathered per token).
    timed_as: str | None = None
    # The all-4-bit variant whose latency fit is blended in for this file's share of MACs on 4-bit
    # weights (Work.int4_mmacs), when it mixes 8- and 4-bit Linears (mixed precision: "ternary-int4").
    int4_timed_as: str | None = None

    def __post_init__(self):
        assert self.precision in PRECISIONS, self.precision
        assert self.runtime in RUNTIMES, self.runtime
        assert self.lengths in LENGTH_KINDS, self.lengths

    @property
    def name(self) -> str:
        """"int8-dynamic": what the user types and the file name carries."""
        return f"{self.precision}-{self.tag}" if self.tag else self.precision

    @property
    def key(self) -> str:
        """"executorch/int8-dynamic": unique across backends (latency fits, bench rows)."""
        return f"{self.backend}/{self.name}"

    @property
    def fit_name(self) -> str:
        """The variant name its latency fit is stored under (exporter/devices/fit.py)."""
        return self.timed_as or self.name

    @property
    def fit_names(self) -> tuple[str, ...]:
        """Every latency fit a prediction for this variant reads."""
        return (self.fit_name,) + ((self.int4_timed_as,) if self.int4_timed_as else ())

    @property
    def family(self) -> str:
        return RUNTIMES[self.runtime].family

    @property
    def custom(self) -> bool:
        return RUNTIMES[self.runtime].custom

    @property
    def linear_bytes(self) -> float:
        return self.weight_bytes if self.weight_bytes is not None else PRECISIONS[self.precision].weight_bytes

    @property
    def peak(self) -> str:
        return PRECISIONS[self.precision].peak

    @property
    def adaptive_length(self) -> bool:
        """A short sentence costs less than seq_len (own length or its bucket)."""
        return self.lengths != "fixed"

    def run_length(self, seq_len: int, length: int | None) -> int:
        """The tokens a sentence of `length` costs in this file (None: a full seq_len sentence)."""
        if length is None or self.lengths == "fixed":
            return seq_len
        length = min(length, seq_len)
        return bucket_for(length, bucket_lengths(seq_len)) if self.lengths == "buckets" else length

    def file_name(self, subnet_name: str) -> str:
        return f"{subnet_name}-{self.name}{self.suffix}"
