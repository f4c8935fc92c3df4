"""Data-parallel training on an existing engine: torch.distributed + DistributedDataParallel.

`torchrun --nproc_per_node N <the same command>` sets RANK / WORLD_SIZE / MASTER_ADDR; `init_from_env()`
then joins the process group (gloo on CPU, nccl when CUDA is there). Without those variables
everything runs as one process and nothing here touches torch.distributed.

How the trainer uses it (trainer.py): every rank computes the same seeded global batch and keeps
the rows `idx[rank::world]` (what DistributedSampler does to an index list); DDP averages the
gradients; the per-rank loss is weighted by its share of the global batch so the averaged
gradient equals the single-process gradient of the global-batch mean, even for an uneven last
batch. Rank 0 alone writes checkpoints (atomically, exporter.atomic) and the others wait at a barrier.
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def current() -> World:
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


def init_from_env() -> World:
    """Join the process group torchrun describes in the environment; a no-op for one process."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or (dist.is_available() and dist.is_initialized()):
        return current()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    return current()


def barrier() -> None:
    if current().size > 1:
        dist.barrier()


def all_max_(t: torch.Tensor) -> torch.Tensor:
    """In place: the max over ranks (activation ranges must agree so every rank quantizes alike)."""
    if current().size > 1:
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t


def shard(idx: torch.Tensor, world: World) -> tuple[torch.Tensor, float]:
    """This rank's rows of a global batch and the weight that makes DDP's mean the global mean.

    A rank left without rows (global batch smaller than the world) runs one row with weight 0,
    because every rank must take part in each gradient all-reduce.
    """
    local = idx[world.rank::world.size]
    if len(local) == 0:
        return idx[:1], 0.0
    return local, world.size * len(local) / len(idx)


def wrap(module: torch.nn.Module, world: World) -> torch.nn.Module:
    if world.size <= 1:
        return module
    from torch.nn.parallel import DistributedDataParallel

    # find_unused_parameters: a depth-sliced step leaves the dropped layers without gradients.
    # broadcast_buffers off: activation-range buffers are kept equal by all_max_ instead.
    return DistributedDataParallel(module, find_unused_parameters=True, broadcast_buffers=False)
