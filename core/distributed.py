"""Process-group setup from the ``torchrun`` environment and the feature gather the losses use.

One process per device. ``torchrun --nproc_per_node N -m core train ...`` sets ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``; without them training runs as a single process (world size 1)
and :func:`all_gather_with_grad` returns its input, so single-process and distributed runs share one code path.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass

import torch
import torch.distributed as dist

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job.

    Attributes:
        rank: global rank (0 for a single process).
        local_rank: rank on this machine (picks the CUDA device).
        world_size: number of processes.
        device: the device this process computes on.
    """

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_master(self) -> bool:
        """Rank 0: the only process that logs and writes files."""
        return self.rank == 0


def env_world() -> tuple[int, int, int]:
    """``(rank, local_rank, world_size)`` from the ``torchrun`` environment (``(0, 0, 1)`` when absent)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    return rank, local_rank, world_size


def init_distributed(device: str | None = None) -> DistInfo:
    """Pick the device and, under ``torchrun`` (``WORLD_SIZE`` > 1), join the process group.

    The backend is NCCL when computing on CUDA and Gloo on the CPU. Calling it when a group already exists (e.g. a
    test that initialised one) reuses that group.

    Args:
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available, else CPU).

    Returns:
        The process's :class:`DistInfo`.
    """
    want_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    if dist.is_available() and dist.is_initialized():
        rank, world_size = dist.get_rank(), dist.get_world_size()
        local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    else:
        rank, local_rank, world_size = env_world()
        if world_size > 1:
            backend = "nccl" if want_cuda else "gloo"
            dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
            log.info("joined process group: backend=%s rank=%d/%d", backend, rank, world_size)
    if want_cuda:
        torch.cuda.set_device(local_rank % max(torch.cuda.device_count(), 1))
        dev = torch.device("cuda", torch.cuda.current_device())
    else:
        dev = torch.device("cpu")
    return DistInfo(rank=rank, local_rank=local_rank, world_size=world_size, device=dev)


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of the current process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (B, ...) from every rank along dim 0, keeping the autograd graph.

    Gradients flow back to every rank's input (``torch.distributed.nn.functional.all_gather`` sums them), so a loss
    over the gathered batch trains each rank's features. With one process it returns ``x`` itself. All ranks must
    pass the same local batch size.
    """
    _, world_size = world()
    if world_size == 1:
        return x
    from torch.distributed.nn.functional import all_gather

    with warnings.catch_warnings():
        # Deprecated in favour of a private functional API; it is still the public autograd-aware all_gather.
        warnings.simplefilter("ignore", FutureWarning)
        parts = all_gather(x)
    return torch.cat(parts, dim=0)


def all_gather_no_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` (B, ...) from every rank along dim 0, without gradients (targets, ids, frozen features)."""
    _, world_size = world()
    if world_size == 1:
        return x
    parts = [torch.empty_like(x) for _ in range(world_size)]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts, dim=0)


def all_reduce_mean(x: torch.Tensor) -> torch.Tensor:
    """Mean of a tensor over ranks (a copy; ``x`` itself is unchanged). Used to log losses averaged over the job."""
    _, world_size = world()
    if world_size == 1:
        return x.detach().clone()
    out = x.detach().clone()
    dist.all_reduce(out)
    return out / world_size


def barrier() -> None:
    """Wait for every rank (no-op for one process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def cleanup() -> None:
    """Leave the process group if this process is in one."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
