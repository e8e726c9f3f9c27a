"""Launch ``core.train.main`` in N local processes, as ``torchrun`` would (Gloo on CPU, NCCL on CUDA)."""

from __future__ import annotations

import os
import socket
import sys

import torch
import torch.multiprocessing as mp

from core.train import main


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, nprocs: int, port: int, argv: list[str], threads: int | None) -> None:
    env = {"RANK": rank, "LOCAL_RANK": rank, "WORLD_SIZE": nprocs, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}
    os.environ.update({k: str(v) for k, v in env.items()})
    if threads:
        torch.set_num_threads(threads)
    main(argv)  # leaves the process group itself
    # Gloo's background threads can abort (SIGABRT) while the interpreter shuts down, failing a run whose work is
    # done and saved; end the worker at once instead.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def run_ranks(argv: list[str], nprocs: int = 2, threads: int | None = None) -> None:
    """Run the training command line ``argv`` in ``nprocs`` spawned processes on a free loopback port."""
    args = (nprocs, _free_port(), argv, threads)
    mp.start_processes(_worker, args=args, nprocs=nprocs, join=True, start_method="spawn")
