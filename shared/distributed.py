"""Multi-process training with PyTorch's DistributedDataParallel, started by `torchrun` (Chapter 5).

Usage:
    torchrun --nproc_per_node=2 ch05/gpt_train.py --preset tiny --max-steps 4 --out-dir out/ddp

    from shared.distributed import init_distributed, is_main_process
    dist_info = init_distributed()   # reads RANK / WORLD_SIZE / LOCAL_RANK that torchrun sets
    # ... train_model(...) wraps the model in DDP and gives each rank its own shard of the data ...

`torchrun` starts one process per device. Each process holds a full copy of the model, trains on its own
share of every batch order, and DDP averages the gradients across processes during `backward()`, so all
copies take the same optimizer step and stay identical. The backend is NCCL on CUDA and Gloo on the CPU.
Without torchrun (no WORLD_SIZE in the environment) everything here is a no-op for a single process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device | str | None = None) -> DistInfo:
    """Join the process group torchrun set up (if any) and return this process' rank, world size and device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistInfo(device=torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu")))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and str(device or "cuda").startswith("cuda")
    if use_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(rank, local_rank, world_size, torch.device(f"cuda:{local_rank}" if use_cuda else "cpu"))


def world() -> tuple[int, int]:
    """(rank, world_size) of this process; (0, 1) outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    return world()[0] == 0


def barrier() -> None:
    if world()[1] > 1:
        dist.barrier()


def mean_across_processes(value: float, device: torch.device | str = "cpu") -> float:
    """The mean of `value` over all processes (the value itself in a single process)."""
    if world()[1] == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor.item() / world()[1]


def cleanup_distributed() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
