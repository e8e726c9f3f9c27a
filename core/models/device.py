"""Device and mixed-precision helpers (CUDA when available, otherwise CPU; never a hard-coded ``"cuda"``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def default_device() -> torch.device:
    """CUDA device 0 when CUDA is available, else the CPU."""
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a :class:`torch.device`, or :func:`default_device` when ``None``."""
    return default_device() if device is None else torch.device(device)


@contextlib.contextmanager
def autocast(device: str | torch.device | None = None, enabled: bool = True) -> Iterator[None]:
    """bfloat16 autocast on the given device when ``enabled``, else full precision.

    Callers decide when to enable it (the trainer: on CUDA by default; on a CPU only when asked, since CPU bf16 is
    slower than fp32 for these models); the same ``torch.autocast`` region then runs on either device.

    Args:
        device: the device the computation runs on (``None``: :func:`default_device`).
        enabled: ``False`` forces full precision.
    """
    dev = resolve_device(device)
    if enabled and dev.type in ("cuda", "cpu"):
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16):
            yield
    else:
        yield
