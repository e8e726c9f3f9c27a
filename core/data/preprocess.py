"""Preprocessing: the exact transform from an :class:`~core.ecg.ECG` to a model input array.

Its parameters (:class:`PreprocessConfig`) are saved inside every checkpoint, so training, evaluation and the app
all preprocess the same way. Steps, in order: fill NaN gaps (linear interpolation), resample to ``fs_hz``
(polyphase, anti-aliased), zero-phase Butterworth band-pass (the high-pass removes baseline wander), centre-crop,
normalise over the real samples, zero-pad to ``duration_s``; rows of missing leads stay zero throughout.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import Any

import numpy as np
from scipy import signal as sps

from core.data.filters import butter_sos
from core.ecg import ECG, MAX_FS_HZ, MIN_FS_HZ
from core.leads import CANONICAL_LEADS

# Bump when preprocess() gives different output for the same config (caches of preprocessed signals key on it).
# 2: filters pad one second (odd extension) instead of scipy's few samples; z-score before zero padding.
PREPROCESS_VERSION = 2
NORMALIZE_MODES = ("zscore", "none")
MAX_FILTER_ORDER = 10


@dataclass(frozen=True)
class PreprocessConfig:
    """How a model wants its ECGs.

    Attributes:
        fs_hz: target sampling rate.
        duration_s: target length; longer signals are centre-cropped, shorter ones zero-padded at the end.
        highpass_hz: cut-off of the baseline-wander high-pass (0 disables).
        lowpass_hz: cut-off of the noise low-pass (0 disables); must be below the target Nyquist frequency.
        filter_order: Butterworth order (applied forward and backward, so zero phase and twice the attenuation).
        normalize: ``"zscore"`` (per lead, over time, real samples only) or ``"none"`` (keep millivolts).
        lead_order: row order of the output; always the canonical 12 leads (recorded so a checkpoint states it).
        units: unit of the input signal; always ``"mV"`` (recorded so a checkpoint states it).

    Raises:
        ValueError: on construction, for any value out of range (see :meth:`validate`).
    """

    fs_hz: float = 100.0
    duration_s: float = 10.0
    highpass_hz: float = 0.5
    lowpass_hz: float = 40.0
    filter_order: int = 4
    normalize: str = "zscore"
    lead_order: tuple[str, ...] = CANONICAL_LEADS
    units: str = "mV"

    def __post_init__(self) -> None:
        # JSON gives lists (and maybe ints for floats); store canonical types so equality and hashing are stable.
        object.__setattr__(self, "lead_order", tuple(self.lead_order))
        for name in ("fs_hz", "duration_s", "highpass_hz", "lowpass_hz"):
            object.__setattr__(self, name, _as_float(name, getattr(self, name)))
        if isinstance(self.filter_order, bool) or not float(self.filter_order).is_integer():
            raise ValueError(f"PreprocessConfig: filter_order must be an integer, got {self.filter_order!r}")
        object.__setattr__(self, "filter_order", int(self.filter_order))
        self.validate()

    def validate(self) -> None:
        """Check every value; raise ``ValueError`` naming the field, the value and the allowed range."""
        nyquist = self.fs_hz / 2
        problems = []
        if not MIN_FS_HZ <= self.fs_hz <= MAX_FS_HZ:
            problems.append(f"fs_hz={self.fs_hz:g} must be within {MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz")
        if not self.duration_s > 0 or self.fs_hz * self.duration_s < 1:
            problems.append(f"duration_s={self.duration_s:g} must be positive and hold at least one sample")
        if self.highpass_hz < 0 or self.lowpass_hz < 0:
            problems.append("highpass_hz and lowpass_hz must be >= 0 (0 disables the filter)")
        if self.lowpass_hz >= nyquist:
            problems.append(
                f"lowpass_hz={self.lowpass_hz:g} must be below the Nyquist frequency {nyquist:g} Hz "
                f"of fs_hz={self.fs_hz:g}"
            )
        if self.highpass_hz >= nyquist:
            problems.append(f"highpass_hz={self.highpass_hz:g} must be below the Nyquist frequency {nyquist:g} Hz")
        if self.highpass_hz > 0 and self.lowpass_hz > 0 and self.highpass_hz >= self.lowpass_hz:
            problems.append(f"highpass_hz={self.highpass_hz:g} must be below lowpass_hz={self.lowpass_hz:g}")
        if not 1 <= self.filter_order <= MAX_FILTER_ORDER:
            problems.append(f"filter_order={self.filter_order} must be within 1-{MAX_FILTER_ORDER}")
        if self.normalize not in NORMALIZE_MODES:
            problems.append(f"normalize={self.normalize!r} must be one of {NORMALIZE_MODES}")
        if self.lead_order != CANONICAL_LEADS:
            problems.append(f"lead_order={list(self.lead_order)} must be the canonical order {list(CANONICAL_LEADS)}")
        if self.units != "mV":
            problems.append(f"units={self.units!r} must be 'mV'")
        if problems:
            raise ValueError("invalid PreprocessConfig: " + "; ".join(problems))

    @property
    def n_samples(self) -> int:
        """Output length in samples: ``round(fs_hz * duration_s)``."""
        return int(round(self.fs_hz * self.duration_s))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists, not tuples); ``from_dict(to_dict())`` gives an equal config."""
        data = asdict(self)
        data["lead_order"] = list(self.lead_order)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessConfig:
        """Rebuild a config saved by :meth:`to_dict`; missing keys take their defaults (older checkpoints).

        Raises:
            ValueError: unknown keys or invalid values.
        """
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown preprocessing option(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError(f"PreprocessConfig: {name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"PreprocessConfig: {name} must be a number, got {value!r}") from exc
    if not math.isfinite(number):
        raise ValueError(f"PreprocessConfig: {name} must be finite, got {value!r}")
    return number


def preprocess(ecg: ECG, cfg: PreprocessConfig) -> np.ndarray:
    """Resample, filter, crop/pad and normalise an ECG.

    Args:
        ecg: the input ECG (any rate and length); NaN samples inside a lead are interpolated.
        cfg: the target configuration.

    Returns:
        float32 array of shape (12, cfg.n_samples); rows of missing leads are zero.
    """
    x = fill_nans(ecg.signal_mv.astype(np.float64, copy=True))
    x = resample(x, ecg.fs_hz, cfg.fs_hz)
    x = bandpass(x, cfg)
    x = crop(x, cfg.n_samples)
    if cfg.normalize == "zscore":
        std = x.std(axis=1, keepdims=True)
        x = (x - x.mean(axis=1, keepdims=True)) / np.where(std > 1e-6, std, 1.0)
    x = pad(x, cfg.n_samples)
    x[~np.asarray(ecg.lead_mask, dtype=bool)] = 0.0
    return x.astype(np.float32)


def fill_nans(x: np.ndarray) -> np.ndarray:
    """Linearly interpolate non-finite samples inside each row, in place (edges hold the nearest value).

    Rows without any finite sample become zeros (the reader already masked such leads).
    """
    for row in x:
        bad = ~np.isfinite(row)
        if bad.all():
            row[:] = 0.0
        elif bad.any():
            idx = np.arange(row.size)
            row[bad] = np.interp(idx[bad], idx[~bad], row[~bad])
    return x


def resample(x: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling along time (anti-aliasing FIR built in), for rational rate ratios.

    Rates whose ratio is not a small fraction (e.g. 499.7 Hz) are approximated within 1/1000.
    """
    if abs(fs_in - fs_out) <= 1e-6 * fs_out:
        return x
    ratio = Fraction(fs_out / fs_in).limit_denominator(1000)
    return sps.resample_poly(x, ratio.numerator, ratio.denominator, axis=1)


def bandpass(x: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """Zero-phase Butterworth high-/low-/band-pass at ``cfg.fs_hz`` (a disabled cut-off is skipped)."""
    low = cfg.highpass_hz or None
    high = cfg.lowpass_hz or None
    if x.shape[1] < 2 or not (low or high):
        return x
    if low and high:
        sos = butter_sos(cfg.filter_order, (low, high), cfg.fs_hz, "bandpass")
    elif low:
        sos = butter_sos(cfg.filter_order, low, cfg.fs_hz, "highpass")
    else:
        sos = butter_sos(cfg.filter_order, high, cfg.fs_hz, "lowpass")
    # scipy's default pad (3 * (2 * sections + 1) samples) is far shorter than a 0.5 Hz high-pass's response, so a
    # baseline drift leaves edge transients of ~0.05 mV; odd-extending by one second removes them (< 0.01 mV).
    padlen = min(x.shape[1] - 1, int(round(cfg.fs_hz)))
    return sps.sosfiltfilt(sos, x, axis=1, padtype="odd", padlen=padlen)


def crop(x: np.ndarray, n: int) -> np.ndarray:
    """Keep the central ``n`` samples of a longer signal (shorter ones are returned unchanged)."""
    if x.shape[1] <= n:
        return x
    start = (x.shape[1] - n) // 2
    return x[:, start : start + n]


def pad(x: np.ndarray, n: int) -> np.ndarray:
    """Zero-pad a shorter signal at the end to ``n`` samples (longer ones are returned unchanged)."""
    if x.shape[1] >= n:
        return x
    return np.pad(x, ((0, 0), (0, n - x.shape[1])))
