"""The one value type for an ECG in this project."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ECGLeadError, ECGSignalError
from core.leads import CANONICAL_LEADS, LEAD_INDEX, NON_STANDARD_LEADS, canonical_lead_name

# Sampling rates outside this range are not ECGs (or are a unit mistake, e.g. a period given instead of a rate).
MIN_FS_HZ = 50.0
MAX_FS_HZ = 20_000.0


@dataclass(frozen=True)
class ECG:
    """A 12-lead ECG in canonical lead order.

    Attributes:
        signal_mv: float32 array of shape (12, samples), millivolts, rows in :data:`CANONICAL_LEADS` order.
            Rows of missing leads are zeros.
        fs_hz: sampling rate in Hz.
        lead_mask: bool array of shape (12,), True where the lead was recorded.
        record_id: identifier unique within its dataset (e.g. ``"ptbxl/00001"``).
        source: where it was read from (a path), if anywhere.
        meta: free-form metadata from the file header (age, sex, comments, dropped leads, ...).
    """

    signal_mv: np.ndarray
    fs_hz: float
    lead_mask: np.ndarray
    record_id: str = ""
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def lead_names(self) -> tuple[str, ...]:
        """Names of the rows of :attr:`signal_mv` (always the canonical 12)."""
        return CANONICAL_LEADS

    @property
    def present_leads(self) -> tuple[str, ...]:
        """Names of the leads that were actually recorded."""
        return tuple(name for name, ok in zip(CANONICAL_LEADS, self.lead_mask, strict=True) if ok)

    @property
    def n_samples(self) -> int:
        return int(self.signal_mv.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs_hz

    def lead(self, name: str) -> np.ndarray:
        """One lead's samples in mV, looked up by (any spelling of) its name."""
        canonical = canonical_lead_name(name)
        if canonical is None:
            raise KeyError(f"not a 12-lead name: {name!r}")
        return self.signal_mv[LEAD_INDEX[canonical]]

    def replace(self, **changes: Any) -> ECG:
        """A copy with some fields changed (the type is immutable)."""
        fields = {
            "signal_mv": self.signal_mv,
            "fs_hz": self.fs_hz,
            "lead_mask": self.lead_mask,
            "record_id": self.record_id,
            "source": self.source,
            "meta": self.meta,
        }
        fields.update(changes)
        return ECG(**fields)

    @classmethod
    def from_leads(
        cls,
        signal_mv: np.ndarray,
        fs_hz: float,
        lead_names: Sequence[str],
        *,
        record_id: str = "",
        source: str | Path | None = None,
        meta: dict[str, Any] | None = None,
        channel_axis: int = 0,
    ) -> ECG:
        """Build an ECG from an array whose channels are named, reordering by name.

        Args:
            signal_mv: array with one axis per lead (``channel_axis``) and one for time, in millivolts.
            fs_hz: sampling rate in Hz.
            lead_names: the label of each channel, in the array's order.
            record_id: identifier of the record.
            source: file path (used in error messages).
            meta: extra metadata to keep.
            channel_axis: 0 if the array is (leads, samples), 1 if (samples, leads).

        Raises:
            ECGLeadError: no recognisable lead, a duplicated lead, or an unknown lead name.
            ECGSignalError: zero-length signal, absurd sampling rate, or no usable lead (all NaN / flat).
        """
        where = source if source is not None else (record_id or "array")
        data = np.asarray(signal_mv, dtype=np.float64)
        if data.ndim == 1:
            data = data[None, :] if channel_axis == 0 else data[:, None]
        if data.ndim != 2:
            raise ECGSignalError(where, f"expected a 2-D (leads x samples) array, got shape {data.shape}")
        if channel_axis == 1:
            data = data.T
        if len(lead_names) != data.shape[0]:
            raise ECGLeadError(where, f"{len(lead_names)} lead names for {data.shape[0]} channels")
        if not np.isfinite(fs_hz) or not (MIN_FS_HZ <= float(fs_hz) <= MAX_FS_HZ):
            raise ECGSignalError(where, f"sampling rate {fs_hz!r} Hz is outside {MIN_FS_HZ:g}-{MAX_FS_HZ:g} Hz")
        if data.shape[1] == 0:
            raise ECGSignalError(where, "the signal has zero samples")

        out = np.zeros((len(CANONICAL_LEADS), data.shape[1]), dtype=np.float32)
        mask = np.zeros(len(CANONICAL_LEADS), dtype=bool)
        dropped: list[str] = []
        unknown: list[str] = []
        for row, raw_name in enumerate(lead_names):
            canonical = canonical_lead_name(str(raw_name))
            if canonical is None:
                key = str(raw_name).strip().lower()
                (dropped if key in NON_STANDARD_LEADS else unknown).append(str(raw_name))
                continue
            idx = LEAD_INDEX[canonical]
            if mask[idx]:
                raise ECGLeadError(where, f"lead {canonical} appears twice (labels: {list(lead_names)})")
            mask[idx] = True
            out[idx] = data[row]
        if unknown:
            raise ECGLeadError(
                where,
                f"unknown lead name(s) {unknown}; expected names from {list(CANONICAL_LEADS)}",
            )
        if not mask.any():
            raise ECGLeadError(where, f"none of the lead names {list(lead_names)} is a 12-lead name")

        meta = dict(meta or {})
        if dropped:
            meta["dropped_leads"] = dropped
        mask = _mask_unusable_leads(out, mask, where, meta)
        return cls(
            signal_mv=out,
            fs_hz=float(fs_hz),
            lead_mask=mask,
            record_id=record_id,
            source=str(source) if source is not None else None,
            meta=meta,
        )


def _mask_unusable_leads(signal: np.ndarray, mask: np.ndarray, where: Any, meta: dict[str, Any]) -> np.ndarray:
    """Treat all-NaN and flat leads as missing; raise if no lead is left.

    NaN samples inside an otherwise valid lead are kept here and handled by preprocessing (interpolation).
    """
    mask = mask.copy()
    bad: dict[str, str] = {}
    for idx in np.flatnonzero(mask):
        lead = signal[idx]
        finite = np.isfinite(lead)
        if not finite.any():
            bad[CANONICAL_LEADS[idx]] = "all NaN"
        elif np.ptp(lead[finite]) < 1e-6:
            bad[CANONICAL_LEADS[idx]] = "flat"
    for name in bad:
        idx = LEAD_INDEX[name]
        mask[idx] = False
        signal[idx] = 0.0
    if bad:
        meta["unusable_leads"] = bad
    if not mask.any():
        raise ECGSignalError(where, f"no usable lead: {', '.join(f'{k} {v}' for k, v in bad.items())}")
    return mask
