"""Uploaded files -> one ECG: copy side by side (a WFDB header must sit next to its signal), then read."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from core.data.readers import read_ecg
from core.ecg import ECG
from core.explorer.errors import InvalidRequestError


def read_upload(paths: Sequence[str | Path], fs_hz: float | None = None, lead_names: Sequence[str] = ()) -> ECG:
    """Read uploaded file(s) as one ECG.

    Web frameworks store each uploaded file in its own folder, so the files are first copied side by side. With a
    ``.hea`` among them, the record it describes is read; otherwise exactly one file is expected.

    Raises:
        ECGReadError: the data layer's message naming the file and the problem.
        InvalidRequestError: no file, or several files that are not one WFDB record.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InvalidRequestError("no file uploaded: choose a .hea + .dat/.mat pair, a .csv, .npy or .npz file")
    with tempfile.TemporaryDirectory(prefix="ecg-upload-") as tmp:
        local = []
        for p in paths:
            dest = Path(tmp) / p.name
            shutil.copyfile(p, dest)
            local.append(dest)
        headers = [p for p in local if p.suffix.lower() == ".hea"]
        if len(headers) > 1:
            raise InvalidRequestError(f"upload one record at a time (got {len(headers)} .hea headers)")
        if headers:
            target = headers[0]
        elif len(local) == 1:
            target = local[0]
        else:
            raise InvalidRequestError(
                f"{len(local)} files without a .hea header: upload one CSV/NPY/NPZ file, or a WFDB .hea with its "
                f".dat/.mat"
            )
        ecg = read_ecg(
            target, fs_hz=float(fs_hz) if fs_hz else None, lead_names=list(lead_names) or None, record_id=target.stem
        )
    # The temporary files are gone; keep only where the data came from.
    return ecg.replace(source=target.name)
