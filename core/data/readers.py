"""Readers: one entry point, :func:`read_ecg`, that turns a file into an :class:`~core.ecg.ECG`.

Formats: WFDB (``.hea`` + ``.dat``), CinC/Challenge (``.hea`` + ``.mat``), SPH (HDF5), CSV, NPY/NPZ.
Every failure is an :class:`~core.errors.ECGReadError` subclass naming the file and the problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from core.ecg import ECG
from core.errors import ECGFileMissingError, ECGFormatError

DEFAULT_MAX_BYTES = 200 * 1024 * 1024


def read_ecg(
    path: str | Path,
    *,
    fs_hz: float | None = None,
    lead_names: Sequence[str] | None = None,
    record_id: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ECG:
    """Read one ECG file of any supported format.

    Args:
        path: the file (for WFDB, the ``.hea``, the ``.dat``/``.mat``, or the record path without extension).
        fs_hz: sampling rate, required for NPY/NPZ and for CSV files without a time column.
        lead_names: lead labels for formats that do not store them (NPY/NPZ, SPH); defaults to the 12-lead order.
        record_id: identifier to store in the ECG; defaults to the file stem.
        max_bytes: refuse files larger than this (an upload limit).

    Raises:
        ECGReadError: a subclass saying what is wrong with which file.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in ("", ".dat", ".mat", ".hea") and path.with_suffix(".hea").exists():
        from core.data.formats.wfdb_format import read_wfdb

        return read_wfdb(path.with_suffix(""), record_id=record_id, max_bytes=max_bytes)
    if not path.exists():
        raise ECGFileMissingError(path, "file does not exist")
    raise ECGFormatError(path, f"unsupported file type {suffix or '(none)'!r}")
