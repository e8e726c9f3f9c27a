"""Preprocessing: the exact transform from an :class:`~core.ecg.ECG` to a model input array.

Its parameters (:class:`PreprocessConfig`) are saved inside every checkpoint, so training, evaluation and the app
all preprocess the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
from scipy import signal as sps

from core.ecg import ECG


@dataclass(frozen=True)
class PreprocessConfig:
    """How a model wants its ECGs.

    Attributes:
        fs_hz: target sampling rate.
        duration_s: target length; longer signals are centre-cropped, shorter ones zero-padded at the end.
        highpass_hz: cut-off of the baseline-wander high-pass (0 disables).
        lowpass_hz: cut-off of the noise low-pass (0 disables); must be below the target Nyquist frequency.
        filter_order: Butterworth order (applied forward and backward, so zero phase).
        normalize: ``"zscore"`` (per lead, over time) or ``"none"`` (keep millivolts).
    """

    fs_hz: float = 100.0
    duration_s: float = 10.0
    highpass_hz: float = 0.5
    lowpass_hz: float = 40.0
    filter_order: int = 4
    normalize: str = "zscore"

    @property
    def n_samples(self) -> int:
        return int(round(self.fs_hz * self.duration_s))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PreprocessConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown preprocessing option(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


def preprocess(ecg: ECG, cfg: PreprocessConfig) -> np.ndarray:
    """Resample, filter, crop/pad and normalise an ECG.

    Args:
        ecg: the input ECG (any rate and length).
        cfg: the target configuration.

    Returns:
        float32 array of shape (12, cfg.n_samples); rows of missing leads stay zero.
    """
    x = ecg.signal_mv.astype(np.float64, copy=True)
    x = _fill_nans(x)
    if abs(ecg.fs_hz - cfg.fs_hz) > 1e-6:
        x = _resample(x, ecg.fs_hz, cfg.fs_hz)
    x = _bandpass(x, cfg)
    x = _crop_or_pad(x, cfg.n_samples)
    if cfg.normalize == "zscore":
        std = x.std(axis=1, keepdims=True)
        x = (x - x.mean(axis=1, keepdims=True)) / np.where(std > 1e-6, std, 1.0)
    elif cfg.normalize != "none":
        raise ValueError(f"unknown normalize mode {cfg.normalize!r}; use 'zscore' or 'none'")
    x[~ecg.lead_mask] = 0.0
    return x.astype(np.float32)


def _fill_nans(x: np.ndarray) -> np.ndarray:
    """Linearly interpolate isolated NaN samples inside each lead (all-NaN leads were masked by the reader)."""
    for row in x:
        bad = ~np.isfinite(row)
        if bad.any() and not bad.all():
            idx = np.arange(row.size)
            row[bad] = np.interp(idx[bad], idx[~bad], row[~bad])
        elif bad.all():
            row[:] = 0.0
    return x


def _resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling (anti-aliased) for rational rate ratios."""
    from fractions import Fraction

    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return sps.resample_poly(x, ratio.numerator, ratio.denominator, axis=1)


def _bandpass(x: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    nyquist = cfg.fs_hz / 2
    low = cfg.highpass_hz if cfg.highpass_hz > 0 else None
    high = cfg.lowpass_hz if 0 < cfg.lowpass_hz < nyquist else None
    if low and high:
        sos = sps.butter(cfg.filter_order, [low, high], btype="bandpass", fs=cfg.fs_hz, output="sos")
    elif low:
        sos = sps.butter(cfg.filter_order, low, btype="highpass", fs=cfg.fs_hz, output="sos")
    elif high:
        sos = sps.butter(cfg.filter_order, high, btype="lowpass", fs=cfg.fs_hz, output="sos")
    else:
        return x
    padlen = min(x.shape[1] - 1, 3 * (2 * len(sos) + 1))
    return sps.sosfiltfilt(sos, x, axis=1, padlen=padlen) if x.shape[1] > 1 else x


def _crop_or_pad(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[1] >= n:
        start = (x.shape[1] - n) // 2
        return x[:, start : start + n]
    return np.pad(x, ((0, 0), (0, n - x.shape[1])))
