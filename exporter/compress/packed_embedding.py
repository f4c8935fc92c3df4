"""Ternary word embeddings stored at 2 bits and unpacked inside the exported graph.

A ternary table holds, per row n, values alpha_n * t with t in {-1, 0, +1}. Stored as fp32 it
is MiniLM's largest tensor (30,522 x 384 x 4 B = 46.9 MB): ExecuTorch and TFLite have no 2-bit
gather, so the table would dominate every ternary artifact. Here it is stored as 4 codes per
int8 byte (code = t + 1 in base 3: byte = c0 + 3 c1 + 9 c2 + 27 c3 <= 80 for columns 4j .. 4j+3;
base 3 keeps the byte signed, which litert-torch's MLIR needs: it rejects unsigned constants) plus
one fp32 scale per row (2.9 MB + 0.1 MB), and the forward pass unpacks only the looked-up rows with
gathers every runtime already has: the rows' bytes, then each byte's four values from a table of
the 81 possible bytes, times the row's scale. So the same module lowers unchanged to ExecuTorch
(embedding kernels: row copies) and to TFLite (GATHER), and computes exactly alpha_n * t (no
rounding anywhere).
"""

import torch
import torch.nn.functional as F
from torch import nn

CODES_PER_BYTE = 4
BASE = 3                                   # three codes: t + 1 for t in {-1, 0, 1}
DIGITS = (1, BASE, BASE ** 2, BASE ** 3)   # 3^4 = 81 <= 127: four codes fit a signed byte


def ternary_codes(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(t in {-1, 0, 1} as int8, alpha per row) of a table whose rows are already ternary.

    Raises ValueError naming the first row with more than one magnitude: packing must never
    silently change values.
    """
    w = weight.detach().to(torch.float32)
    alpha = w.abs().amax(-1)
    t = torch.sign(w)
    rebuilt = t * alpha[:, None]
    bad = (rebuilt != w).any(-1).nonzero()
    if len(bad):
        row = int(bad[0])
        values = torch.unique(w[row]).tolist()
        raise ValueError(f"embedding row {row} is not ternary ({len(values)} distinct values, e.g. {values[:4]}); "
                         "ternarize the table (freeze_ternary) before packing")
    return t.to(torch.int8), alpha


def pack_codes(t: torch.Tensor) -> torch.Tensor:
    """int8 [V, H] in {-1, 0, 1} -> int8 [V, ceil(H / 4)], column 4j + k in base-3 digit k."""
    rows, cols = t.shape
    padded = -(-cols // CODES_PER_BYTE) * CODES_PER_BYTE
    codes = torch.ones(rows, padded, dtype=torch.int32)  # padding code 1 = value 0
    codes[:, :cols] = t.to(torch.int32) + 1
    codes = codes.reshape(rows, padded // CODES_PER_BYTE, CODES_PER_BYTE)
    return (codes * torch.tensor(DIGITS, dtype=torch.int32)).sum(-1).to(torch.int8)


def byte_values(digits: tuple[int, ...], base: int, offset: int) -> torch.Tensor:
    """float32 [256, len(digits)]: the codes a packed byte holds, minus `offset` (the values it
    stands for). A gather from this table unpacks a row in one step on ExecuTorch's portable
    kernels, where floor-divide and remainder of every byte took 0.32 ms per 64-token sentence (ETDump)."""
    b = torch.arange(256, dtype=torch.int64)[:, None]
    return (torch.div(b, torch.tensor(digits), rounding_mode="floor") % base - offset).to(torch.float32)


def gather_unpacked(ids: torch.Tensor, packed: torch.Tensor, values: torch.Tensor, scale: torch.Tensor,
                    dim: int) -> torch.Tensor:
    """Rows `ids` of a packed table as float [..., dim]: their bytes gathered, each byte's values
    gathered from `values` (byte_values), times the row's scale. aten.embedding, not indexing:
    ExecuTorch's portable index kernel took ~0.1 ms per gather of a 64-token sentence, its
    embedding kernel (a row copy) a few microseconds."""
    rows = F.embedding(ids, packed).to(torch.int64)                                  # [..., bytes]
    return F.embedding(rows, values).reshape(*ids.shape, -1)[..., :dim] * F.embedding(ids, scale)


class GatheredTable(nn.Module):
    """A packed table whose rows a forward pass unpacks by gather_unpacked: subclasses register
    `packed` (bytes per row), `scale` ([rows, 1]) and `values` (byte_values) and set embedding_dim."""

    embedding_dim: int

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return gather_unpacked(ids, self.packed, self.values, self.scale, self.embedding_dim)

    def stored_bytes(self) -> int:
        return self.packed.numel() + 4 * self.scale.numel() + 4 * self.values.numel()


class PackedTernaryEmbedding(GatheredTable):
    """Drop-in for a ternary nn.Embedding: `forward(ids) -> float32 [..., dim]`."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        t, alpha = ternary_codes(weight)
        self.num_embeddings, self.embedding_dim = weight.shape
        self.register_buffer("packed", pack_codes(t))
        self.register_buffer("scale", alpha.reshape(-1, 1).contiguous())
        # the 3^4 = 81 bytes four codes make; codes 0, 1, 2 stand for -1, 0, +1
        self.register_buffer("values", byte_values(DIGITS, BASE, 1)[:BASE ** CODES_PER_BYTE].contiguous())

    @property
    def weight(self) -> torch.Tensor:
        """The unpacked table (for tests and inspection; the graph never builds it)."""
        return self.forward(torch.arange(self.num_embeddings))


INT4_OFFSET = 7                       # codes -7..7 stored as 0..14
INT4_BASE = 15                        # two codes per byte: c0 + 15 c1 <= 224 (uint8)
INT4_DIGITS = (1, INT4_BASE)


class PackedInt4Embedding(GatheredTable):
    """A table of symmetric 4-bit rows (codes -7..7 times one fp32 scale per row), two codes per
    uint8 byte, unpacked for the looked-up rows by a gather from the 256 byte values (byte_values).
    uint8: ExecuTorch's portable kernels take it (litert-torch's MLIR would not; see above)."""

    def __init__(self, codes: torch.Tensor, scale: torch.Tensor):
        super().__init__()
        rows, cols = codes.shape
        if codes.abs().max() > INT4_OFFSET:
            raise ValueError(f"4-bit codes must lie in [-{INT4_OFFSET}, {INT4_OFFSET}], found {int(codes.abs().max())}")
        self.num_embeddings, self.embedding_dim = rows, cols
        padded = torch.full((rows, cols + cols % 2), INT4_OFFSET, dtype=torch.int32)  # padding code = value 0
        padded[:, :cols] = codes.to(torch.int32) + INT4_OFFSET
        pairs = padded.reshape(rows, -1, 2) * torch.tensor(INT4_DIGITS, dtype=torch.int32)
        self.register_buffer("packed", pairs.sum(-1).to(torch.uint8))
        self.register_buffer("scale", scale.reshape(-1, 1).to(torch.float32).contiguous())
        self.register_buffer("values", byte_values(INT4_DIGITS, INT4_BASE, INT4_OFFSET))
