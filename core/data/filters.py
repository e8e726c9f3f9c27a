"""Butterworth filter designs shared by preprocessing and the measurements, each designed once per process.

Designing a filter (``scipy.signal.butter``) costs about 1.5 ms, as much as filtering 12 leads with it; both
preprocessing and the measurements filter every ECG with the same few designs.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import signal as sps


def butter_sos(order: int, cutoffs_hz: float | tuple[float, float], fs_hz: float, btype: str) -> np.ndarray:
    """Second-order sections of a Butterworth filter (``scipy.signal.butter(..., fs=fs_hz, output="sos")``)."""
    # A copy: scipy's filters need a writable array, and a caller changing it must not change the cached design.
    return _cached_design(order, cutoffs_hz, fs_hz, btype).copy()


@functools.lru_cache(maxsize=32)
def _cached_design(order: int, cutoffs_hz: float | tuple[float, float], fs_hz: float, btype: str) -> np.ndarray:
    return sps.butter(order, cutoffs_hz, btype=btype, fs=fs_hz, output="sos")
