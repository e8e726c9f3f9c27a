"""NumPy arrays (``.npy``, ``.npz``) in millivolts, shaped (leads, samples) or (samples, leads).

A bare array stores no sampling rate and no lead names: the rate must be passed, the names default to the standard
12-lead order. An ``.npz`` may carry them as extra arrays (``fs_hz``/``fs`` and ``lead_names``/``leads``).
Files are always loaded with ``allow_pickle=False``: an uploaded ``.npy`` must never execute code.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.data.formats.common import (
    MAX_DECODED_VALUES,
    channel_axis_for,
    check_decoded_size,
    check_given_fs,
    check_given_leads,
    check_numeric,
    check_size,
    default_lead_names,
    read_head,
)
from core.ecg import ECG
from core.errors import ECGCorruptError, ECGFormatError, ECGReadError, ECGSignalError, ECGTooLargeError

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
# Array names tried, in order, when an .npz holds more than one array.
SIGNAL_KEYS = ("signal_mv", "signal", "ecg", "data", "x")
FS_KEYS = ("fs_hz", "fs")
LEAD_KEYS = ("lead_names", "leads")


def read_numpy(
    path: Path,
    *,
    fs_hz: float | None = None,
    lead_names: Sequence[str] | None = None,
    record_id: str | None = None,
    max_bytes: int,
    max_values: int = MAX_DECODED_VALUES,
) -> ECG:
    """Read an ``.npy`` or ``.npz`` ECG.

    Args:
        path: the file.
        fs_hz: sampling rate (required unless an ``.npz`` stores one).
        lead_names: channel names in array order; defaults to the ``.npz``'s names or the standard 12-lead order.
        record_id: identifier to store; defaults to the file stem.
        max_bytes: limit on the file size (and, for ``.npz``, on the decompressed arrays).
        max_values: limit on samples x leads (leads counted as at least 12), checked from the array header before
            the data is loaded or decompressed.

    Raises:
        ECGFormatError: not a NumPy file, pickled/non-numeric data, or no recognisable signal array.
        ECGCorruptError: a NumPy header but unreadable or truncated data.
        ECGTooLargeError: over ``max_bytes`` or ``max_values``.
        ECGSignalError: no sampling rate, or one the file contradicts.
        ECGLeadError: orientation cannot be matched to the lead names (or is ambiguous).
    """
    check_size([path], max_bytes, path)
    if path.suffix.lower() == ".npz":
        signal, stored_fs, stored_names = _load_npz(path, max_bytes, max_values)
    else:
        signal, stored_fs, stored_names = _load_npy(path, max_values), None, None

    if stored_names is not None:
        check_given_leads(stored_names, lead_names, path)
        names = list(stored_names)
    else:
        names = default_lead_names(lead_names)
    if stored_fs is not None:
        fs_hz = check_given_fs(stored_fs, fs_hz, path)
    if fs_hz is None:
        raise ECGSignalError(path, "a NumPy array stores no sampling rate; pass fs_hz")

    signal = check_numeric(signal, path)
    if signal.ndim not in (1, 2):
        raise ECGFormatError(path, f"array of shape {signal.shape}; expected (leads, samples) or (samples, leads)")
    return ECG.from_leads(
        signal,
        fs_hz,
        names,
        record_id=record_id or path.stem,
        source=path,
        meta={"format": path.suffix.lower().lstrip(".")},
        channel_axis=channel_axis_for(signal.shape, len(names), path),
    )


def _check_shape(shape: tuple[int, ...], max_values: int, path: Path) -> None:
    """Refuse an array whose shape (read from its header) holds more than the sample budget."""
    if len(shape) == 2:
        # The shorter axis is taken as the leads: an ECG has far more samples than leads.
        check_decoded_size(max(shape), min(shape), max_values, path)
    elif len(shape) == 1:
        check_decoded_size(shape[0], 1, max_values, path)
    else:  # refused later for its shape, but not decoded first if it is huge
        check_decoded_size(int(np.prod(shape, dtype=np.float64)), 1, max_values, path)


def _load_npy(path: Path, max_values: int) -> np.ndarray:
    if not read_head(path, len(_NPY_MAGIC)).startswith(_NPY_MAGIC):
        raise ECGFormatError(path, "not a NumPy .npy file (missing the \\x93NUMPY signature)")
    try:
        with path.open("rb") as fh:  # the header only: shape and dtype, before any data is read
            version = np.lib.format.read_magic(fh)
            shape, _, _ = _read_array_header(fh, version)
        _check_shape(shape, max_values, path)
        return np.load(path, allow_pickle=False)
    except ECGReadError:
        raise
    except ValueError as exc:
        raise _value_error(exc, path, "the array", ".npy") from exc
    except (EOFError, OSError) as exc:
        raise ECGCorruptError(path, f"damaged .npy file ({type(exc).__name__}: {exc})") from exc


def _value_error(exc: ValueError, path: Path, holder: str, kind: str) -> ECGReadError:
    """What a ``ValueError`` from loading ``path`` means: pickled Python objects in ``holder`` (refused) or a damaged
    ``kind`` file."""
    if "pickle" in str(exc).lower():
        return ECGFormatError(path, f"{holder} holds Python objects (pickled data), which are refused")
    return ECGCorruptError(path, f"damaged {kind} file ({exc})")


def _read_array_header(fh, version: tuple[int, int]) -> tuple[tuple[int, ...], bool, np.dtype]:
    """``(shape, fortran_order, dtype)`` from an open ``.npy`` stream positioned after its magic string."""
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    if version == (2, 0):
        return np.lib.format.read_array_header_2_0(fh)
    raise ValueError(f"unsupported .npy format version {version}")


def _member_shape(archive: zipfile.ZipFile, key: str) -> tuple[int, ...]:
    """Shape of an ``.npz`` member from its ``.npy`` header: only the first bytes of the member are inflated."""
    name = f"{key}.npy" if f"{key}.npy" in archive.namelist() else key
    with archive.open(name) as fh:
        version = np.lib.format.read_magic(fh)
        shape, _, _ = _read_array_header(fh, version)
    return shape


def _load_npz(path: Path, max_bytes: int, max_values: int) -> tuple[np.ndarray, float | None, list[str] | None]:
    if not read_head(path, len(_ZIP_MAGIC)).startswith(_ZIP_MAGIC):
        raise ECGFormatError(path, "not a NumPy .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as npz:
            # Compressed members can expand far beyond the file size; check before decompressing.
            unpacked = sum(info.file_size for info in npz.zip.infolist())
            if unpacked > max_bytes:
                raise ECGTooLargeError(path, f"{unpacked:,} bytes once decompressed exceeds {max_bytes:,} bytes")
            keys = list(npz.files)
            signal_key = _signal_key(keys, path)
            _check_shape(_member_shape(npz.zip, signal_key), max_values, path)
            signal = npz[signal_key]
            fs = _scalar(npz, FS_KEYS, path)
            names = _names(npz, LEAD_KEYS, path)
    except ECGReadError:
        raise
    except ValueError as exc:
        raise _value_error(exc, path, "the archive", ".npz") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
        raise ECGCorruptError(path, f"damaged .npz file ({type(exc).__name__}: {exc})") from exc
    return signal, fs, names


def _signal_key(keys: list[str], path: Path) -> str:
    candidates = [k for k in keys if k not in FS_KEYS + LEAD_KEYS]
    if len(candidates) == 1:
        return candidates[0]
    for key in SIGNAL_KEYS:
        if key in candidates:
            return key
    raise ECGFormatError(path, f"cannot tell which array is the signal among {keys}; name it one of {SIGNAL_KEYS}")


def _scalar(npz: np.lib.npyio.NpzFile, keys: tuple[str, ...], path: Path) -> float | None:
    for key in keys:
        if key in npz.files:
            value = npz[key]
            if value.size != 1 or not np.issubdtype(value.dtype, np.number):
                raise ECGFormatError(path, f"{key!r} must be a single number, got shape {value.shape} {value.dtype}")
            return float(value.reshape(()))
    return None


def _names(npz: np.lib.npyio.NpzFile, keys: tuple[str, ...], path: Path) -> list[str] | None:
    for key in keys:
        if key in npz.files:
            value = npz[key]
            if value.ndim != 1 or value.dtype.kind not in "US":
                raise ECGFormatError(path, f"{key!r} must be a 1-D array of strings, got {value.shape} {value.dtype}")
            return [v.decode() if isinstance(v, bytes) else str(v) for v in value.tolist()]
    return None
