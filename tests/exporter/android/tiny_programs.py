"""Tiny real ExecuTorch programs (executorch 1.5.1) for the APK and deployability tests, made once per session.

- xnnpack_program(): embedding -> linear -> layer_norm -> sum, with input ids and a mask
  like the app's model contract; linear on XNNPACK, the rest on portable kernels, all of
  which the phone's libexecutorch.so registers.
- sort_program(): torch.sort, lowered without delegation: aten::sort.values, a kernel
  react-native-executorch 0.8.4's library does not register (nor does the host wheel's).
- with_delegate_id(pte, new_id): the same program, its delegate renamed through executorch's
  own serializer, e.g. to our ternary delegate's id, which the stock runtime lacks.
"""

from functools import lru_cache

import torch


class _TinyEncoder(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.word = torch.nn.Embedding(16, 8)
        self.proj = torch.nn.Linear(8, 8)
        self.norm = torch.nn.LayerNorm(8)
        self.head = torch.nn.Linear(8, 2)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.proj(self.word(ids)))
        pooled = (h * mask.unsqueeze(-1).float()).sum(1)
        return self.head(pooled)


class _Sort(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sort(x, dim=1).values


@lru_cache(maxsize=None)
def xnnpack_program() -> bytes:
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower

    torch.manual_seed(0)
    ids = torch.randint(0, 16, (1, 6), dtype=torch.int32)
    program = torch.export.export(_TinyEncoder().eval(), (ids, torch.ones_like(ids)))
    return bytes(to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()]).to_executorch().buffer)


@lru_cache(maxsize=None)
def sort_program() -> bytes:
    from executorch.exir import to_edge

    program = torch.export.export(_Sort().eval(), (torch.randn(2, 4),))
    return bytes(to_edge(program).to_executorch().buffer)


def with_delegate_id(pte: bytes, new_id: str) -> bytes:
    from executorch.exir._serialize._program import deserialize_pte_binary, serialize_pte_binary

    pte_file = deserialize_pte_binary(pte)
    for plan in pte_file.program.execution_plan:
        for delegate in plan.delegates:
            delegate.id = new_id
    return bytes(serialize_pte_binary(pte_file))
