"""HDF5 ECGs in the layout of the Shandong Provincial Hospital (SPH) database.

Each file holds one dataset ``ecg`` of shape (12, N), float16, in millivolts at 500 Hz, rows in the standard order
I, II, III, aVR, aVL, aVF, V1-V6 (Liu et al. 2022, https://doi.org/10.1038/s41597-022-01403-5). The file stores
neither the rate nor the lead names, so both default to the release's values and may be passed for other sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from core.data.formats.common import (
    MAX_DECODED_VALUES,
    channel_axis_for,
    check_decoded_size,
    check_numeric,
    check_size,
    default_lead_names,
    read_head,
)
from core.ecg import ECG
from core.errors import ECGCorruptError, ECGFormatError, ECGReadError, ECGTooLargeError

SPH_FS_HZ = 500.0
DATASET = "ecg"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def read_hdf5(
    path: Path,
    *,
    fs_hz: float | None = None,
    lead_names: Sequence[str] | None = None,
    record_id: str | None = None,
    max_bytes: int,
    max_values: int = MAX_DECODED_VALUES,
) -> ECG:
    """Read the ``ecg`` dataset of an SPH-style HDF5 file.

    Args:
        path: the ``.h5`` file.
        fs_hz: sampling rate; defaults to the SPH release's 500 Hz.
        lead_names: channel names in row order; defaults to the standard 12-lead order.
        record_id: identifier to store; defaults to the file stem.
        max_bytes: limit on the file size and on the dataset's decompressed size.
        max_values: limit on samples x leads (leads counted as at least 12), checked from the dataset's shape.

    Raises:
        ECGFormatError: not an HDF5 file, or no ``ecg`` dataset / not a 1-D or 2-D numeric one.
        ECGCorruptError: HDF5 signature present but the file cannot be read.
        ECGTooLargeError: the file or the decompressed dataset exceeds ``max_bytes``.
        ECGLeadError, ECGSignalError: orientation/lead-name problems, no usable lead, absurd rate.
    """
    check_size([path], max_bytes, path)
    # The signature may sit at 0, 512, 1024, ...; SPH files (and h5py's defaults) put it at 0.
    if not read_head(path, len(_HDF5_MAGIC)).startswith(_HDF5_MAGIC):
        raise ECGFormatError(path, "not an HDF5 file (no HDF5 signature)")
    names = default_lead_names(lead_names)
    try:
        with h5py.File(path, "r") as h5:
            if DATASET not in h5 or not isinstance(h5[DATASET], h5py.Dataset):
                raise ECGFormatError(path, f"no {DATASET!r} dataset in the HDF5 file (found: {sorted(h5.keys())})")
            dataset = h5[DATASET]
            if dataset.ndim not in (1, 2):
                raise ECGFormatError(path, f"dataset {DATASET!r} has shape {dataset.shape}; expected (leads, samples)")
            if dataset.size * 8 > max_bytes:
                raise ECGTooLargeError(path, f"dataset {DATASET!r} of shape {dataset.shape} is too large to load")
            shape = dataset.shape if dataset.ndim == 2 else (1, *dataset.shape)
            check_decoded_size(max(shape), min(shape), max_values, path)
            raw = dataset[()]
    except ECGReadError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise ECGCorruptError(path, f"cannot read HDF5 file ({type(exc).__name__}: {exc})") from exc
    signal = check_numeric(np.asarray(raw), path)
    return ECG.from_leads(
        signal,
        fs_hz if fs_hz is not None else SPH_FS_HZ,
        names,
        record_id=record_id or path.stem,
        source=path,
        meta={"format": "hdf5", "dataset": DATASET, "stored_dtype": str(raw.dtype)},
        channel_axis=channel_axis_for(signal.shape, len(names), path),
    )
