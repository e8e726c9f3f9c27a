"""Checks shared by the format readers: file presence, size limits, array orientation, given-vs-stored values.

Each check raises one :class:`~core.errors.ECGReadError` subclass naming the file, so a reader never leaks a bare
traceback from ``os``, NumPy or a format library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from core.errors import (
    ECGFileMissingError,
    ECGFormatError,
    ECGLeadError,
    ECGReadError,
    ECGSamplingRateError,
    ECGSignalError,
    ECGTooLargeError,
)
from core.leads import CANONICAL_LEADS, canonical_lead_name

# The decoded-size budget: samples x leads, with leads counted as at least 12 because every ECG is held as 12 rows
# (:class:`~core.ecg.ECG`). 10.8 M values = 30 min at 500 Hz x 12 leads (or 15 min at 1 kHz, or 2 leads x 30 min at
# 360 Hz with room to spare). Decoding that many values peaks below 300 MB of extra memory (bench/bench_upload.py);
# a file's size says little, since a 1.3 MB .npz of zeros can unpack to 26 M samples.
MAX_DECODED_VALUES = 12 * 30 * 60 * 500
# Relative disagreement tolerated between a sampling rate passed by the caller and the one stored in the file.
FS_TOLERANCE = 0.01


def require_file(path: Path, what: str = "file") -> None:
    """Raise unless ``path`` is an existing regular file.

    Raises:
        ECGFileMissingError: the path does not exist.
        ECGFormatError: the path is a directory or another non-file.
    """
    if not path.exists():
        raise ECGFileMissingError(path, f"{what} does not exist")
    if not path.is_file():
        raise ECGFormatError(path, f"{what} is not a regular file")


def check_size(paths: Iterable[Path], max_bytes: int, source: Path) -> int:
    """Sum the on-disk sizes of ``paths`` (without opening them) and refuse more than ``max_bytes``.

    This runs before any file is read, so an oversized upload costs one ``stat`` per file.

    Returns:
        The total size in bytes.

    Raises:
        ECGTooLargeError: the files together exceed ``max_bytes``.
        ECGReadError: a file cannot be inspected (e.g. permission denied).
    """
    total = 0
    for path in paths:
        try:
            total += path.stat().st_size
        except FileNotFoundError as exc:
            raise ECGFileMissingError(path, "file does not exist") from exc
        except OSError as exc:
            raise ECGReadError(path, f"cannot inspect file: {exc.strerror or exc}") from exc
    if total > max_bytes:
        raise ECGTooLargeError(source, f"{total:,} bytes exceeds the limit of {max_bytes:,} bytes")
    return total


def check_decoded_size(n_samples: int | None, n_leads: int, max_values: int, source: Path) -> None:
    """Refuse a signal of ``n_samples`` x ``n_leads`` before it is decoded, if it exceeds the sample budget.

    Args:
        n_samples: samples per lead (None when the header does not say: nothing to check).
        n_leads: channels in the file; counted as at least 12, the rows every ECG is held in.
        max_values: the budget (:data:`MAX_DECODED_VALUES` by default in the readers).
        source: the file, for the message.

    Raises:
        ECGTooLargeError: more values than the budget.
    """
    if n_samples is None:
        return
    values = int(n_samples) * max(int(n_leads), 12)
    if values > max_values:
        raise ECGTooLargeError(
            source,
            f"{n_samples:,} samples x {n_leads} lead(s) is more than this server decodes (at most {max_values // 12:,} "
            f"samples x 12 leads, e.g. {max_values / 12 / 500 / 60:.3g} min at 500 Hz); upload a shorter excerpt",
        )


def check_fs_value(fs_hz: object, source: Path | str, where: str = "sampling rate") -> float:
    """The sampling rate as a float, refusing values that are not a positive finite number.

    Raises:
        ECGSamplingRateError: ``-1``, ``0``, ``nan``, ``inf``, or not a number at all.
    """
    try:
        value = float(fs_hz)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ECGSamplingRateError(source, f"{where} {fs_hz!r} is not a number") from None
    if not np.isfinite(value) or value <= 0:
        raise ECGSamplingRateError(source, f"{where} {fs_hz!r} is not a positive finite number of Hz")
    return value


def read_head(path: Path, n_bytes: int = 8192) -> bytes:
    """The first ``n_bytes`` of a file, for sniffing its real type.

    Raises:
        ECGReadError: the file cannot be opened.
    """
    try:
        with path.open("rb") as fh:
            return fh.read(n_bytes)
    except OSError as exc:
        raise ECGReadError(path, f"cannot open file: {exc.strerror or exc}") from exc


def channel_axis_for(shape: tuple[int, ...], n_names: int, source: Path) -> int:
    """Which axis of an array holds the leads: 0 for a 1-D array (one lead); for a 2-D one, found by matching the
    number of lead names.

    Args:
        shape: the array shape, ``(samples,)``, ``(leads, samples)`` or ``(samples, leads)``.
        n_names: how many lead names describe the array.
        source: the file, for error messages.

    Returns:
        0 if the leads are rows (or the array is 1-D), 1 if they are columns.

    Raises:
        ECGLeadError: neither axis, or both axes, of a 2-D array match ``n_names``.
    """
    if len(shape) == 1:
        return 0
    rows, cols = shape
    if rows == n_names and cols == n_names:
        raise ECGLeadError(
            source,
            f"array shape {shape} is ambiguous: both axes have {n_names} entries, so the lead axis cannot be told "
            "from the time axis",
        )
    if rows == n_names:
        return 0
    if cols == n_names:
        return 1
    raise ECGLeadError(
        source,
        f"array shape {shape} has no axis of length {n_names} matching the {n_names} lead names; "
        "pass lead_names naming each channel",
    )


def default_lead_names(lead_names: Sequence[str] | None) -> list[str]:
    """The given lead names, or the canonical 12-lead order when none are given."""
    return list(lead_names) if lead_names is not None else list(CANONICAL_LEADS)


def check_given_fs(stored_hz: float, given_hz: float | None, source: Path) -> float:
    """Accept a caller's sampling rate only if it agrees with the one the file stores.

    Returns:
        The stored rate.

    Raises:
        ECGSignalError: the two rates disagree by more than 1 %.
    """
    if given_hz is not None and abs(float(given_hz) - stored_hz) > FS_TOLERANCE * max(abs(stored_hz), 1e-9):
        raise ECGSignalError(source, f"sampling rate given as {given_hz:g} Hz but the file says {stored_hz:g} Hz")
    return stored_hz


def check_given_leads(stored: Sequence[str], given: Sequence[str] | None, source: Path) -> None:
    """Accept caller lead names only if they name the same channels as the file (in any spelling).

    Raises:
        ECGLeadError: the names differ.
    """
    if given is None:
        return
    canon_stored = [canonical_lead_name(str(n)) or str(n).strip().lower() for n in stored]
    canon_given = [canonical_lead_name(str(n)) or str(n).strip().lower() for n in given]
    if canon_stored != canon_given:
        raise ECGLeadError(source, f"lead names given as {list(given)} but the file stores {list(stored)}")


def check_numeric(array: np.ndarray, source: Path) -> np.ndarray:
    """Raise unless ``array`` holds real numbers; return it as float64.

    Raises:
        ECGFormatError: the dtype is not a real numeric type (strings, objects, complex, booleans).
    """
    if array.dtype == np.bool_ or not (
        np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
    ):
        raise ECGFormatError(source, f"array dtype {array.dtype} is not a real numeric type")
    return np.asarray(array, dtype=np.float64)
