"""WFDB records (``.hea`` + ``.dat``, or ``.hea`` + MATLAB v4 ``.mat`` as in the PhysioNet/CinC Challenge)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb

from core.ecg import ECG


def read_wfdb(record_path: Path, *, record_id: str | None = None, max_bytes: int) -> ECG:
    """Read a WFDB record given its path without extension; signals come back in mV."""
    record = wfdb.rdrecord(str(record_path), physical=True)
    meta = {"comments": list(record.comments or []), "units": list(record.units or [])}
    return ECG.from_leads(
        record.p_signal,
        record.fs,
        record.sig_name,
        record_id=record_id or record_path.name,
        source=record_path.with_suffix(".hea"),
        meta=meta,
        channel_axis=1,
    )
