"""Readers: one entry point, :func:`read_ecg`, that turns a file into an :class:`~core.ecg.ECG`.

Formats: WFDB (``.hea`` + ``.dat``), CinC/Challenge (``.hea`` + ``.mat``), SPH (HDF5), CSV, NPY/NPZ; each lives in
its own module under :mod:`core.data.formats`. Long records are cut into fixed windows by :func:`read_windows`.
Every failure is an :class:`~core.errors.ECGReadError` subclass naming the file and the problem.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from core.data.formats.common import MAX_DECODED_VALUES, check_fs_value, require_file
from core.data.formats.hdf5_format import read_hdf5
from core.data.formats.numpy_format import read_numpy
from core.data.lead_scaling import undo_independent_scaling
from core.ecg import ECG
from core.errors import ECGFileMissingError, ECGFormatError, ECGSignalError

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
WFDB_SUFFIXES = (".hea", ".dat", ".mat")
_KNOWN_SUFFIXES = (".csv", ".npy", ".npz", ".h5", ".hdf5")
SUPPORTED = ".hea/.dat (WFDB), .hea/.mat (CinC), .h5/.hdf5 (SPH), .csv, .npy, .npz"


def _reader_for(suffix: str) -> Callable[..., ECG] | None:
    """The reader function for a file suffix."""
    if suffix == ".csv":
        from core.data.formats.csv_format import read_csv  # local: pandas, 0.44 s to import (measured)

        return read_csv
    if suffix in (".npy", ".npz"):
        return read_numpy
    if suffix in (".h5", ".hdf5"):
        return read_hdf5
    return None


def read_ecg(
    path: str | Path,
    *,
    fs_hz: float | None = None,
    lead_names: Sequence[str] | None = None,
    record_id: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_values: int = MAX_DECODED_VALUES,
) -> ECG:
    """Read one ECG file of any supported format.

    Args:
        path: the file (for WFDB, the ``.hea``, the ``.dat``/``.mat``, or the record path without extension).
        fs_hz: sampling rate, required for NPY and for CSV files without a time column; SPH defaults to 500 Hz.
            Formats that store a rate (WFDB, CSV time column, NPZ ``fs_hz``) check that a given one agrees.
        lead_names: lead labels for formats that do not store them (NPY/NPZ, SPH, header-less CSV); defaults to the
            standard 12-lead order. Formats that store names check that given ones agree.
        record_id: identifier to store in the ECG; defaults to the file stem.
        max_bytes: refuse files larger than this (an upload limit), checked before anything is read.
        max_values: refuse signals of more samples x leads (leads counted as at least 12) than this, checked from
            the header before decoding where the format has one (WFDB, NPY/NPZ, HDF5), and by rows read for CSV.

    Returns:
        The ECG in canonical lead order; leads that are absent, all-NaN or flat are zero rows with ``lead_mask`` False.
        Leads the file stored with scales of their own (LUDB) have their limb leads' sizes restored and
        ``meta["amplitudes_uncalibrated"]`` set (:mod:`core.data.lead_scaling`).

    Raises:
        ECGReadError: a subclass saying what is wrong with which file (missing, format, corrupt, leads, signal,
            too large); :class:`~core.errors.ECGSamplingRateError` for a given or stored rate that is not a
            positive finite number.
    """
    path = Path(path)
    if fs_hz is not None:
        fs_hz = check_fs_value(fs_hz, path, "sampling rate given as")
    limits = {"max_bytes": max_bytes, "max_values": max_values}
    suffix = path.suffix.lower()
    if suffix in WFDB_SUFFIXES or (suffix not in _KNOWN_SUFFIXES and Path(f"{path}.hea").is_file()):
        record = path.with_suffix("") if suffix in WFDB_SUFFIXES else path
        if suffix in (".dat", ".mat"):
            require_file(path, f"{suffix} data file")
            if not Path(f"{record}.hea").is_file():
                raise ECGFileMissingError(
                    Path(f"{record}.hea"), f"header missing: a {suffix} file needs its .hea header to be read"
                )
        from core.data.formats.wfdb_format import read_wfdb  # local: wfdb + scipy.io, 0.8 s to import (measured)

        return undo_independent_scaling(
            read_wfdb(record, fs_hz=fs_hz, lead_names=lead_names, record_id=record_id, **limits)
        )

    require_file(path, "file" if suffix else "file (nor a WFDB header next to it)")
    reader = _reader_for(suffix)
    if reader is None:
        raise ECGFormatError(path, f"unsupported file type {suffix or '(no extension)'!r}; supported: {SUPPORTED}")
    return undo_independent_scaling(reader(path, fs_hz=fs_hz, lead_names=lead_names, record_id=record_id, **limits))


def iter_windows(
    ecg: ECG, window_s: float = 10.0, *, hop_s: float | None = None, keep_partial: bool = False
) -> Iterator[ECG]:
    """Cut an ECG into fixed-length windows.

    Each window is re-checked for unusable leads (a lead that goes flat or NaN inside one window is masked there);
    windows where no lead is usable are skipped with a warning.

    Args:
        ecg: the (long) record.
        window_s: window length in seconds.
        hop_s: step between window starts; defaults to ``window_s`` (no overlap).
        keep_partial: also yield the shorter last window.

    Yields:
        ECGs with ``record_id`` ``"<id>_w<index:04d>"`` and ``meta`` keys ``window_index``, ``window_start_s``,
        ``window_duration_s`` and ``parent_record_id``.

    Raises:
        ValueError: non-positive ``window_s`` or ``hop_s``.
    """
    hop_s = window_s if hop_s is None else hop_s
    if not window_s > 0 or not hop_s > 0:
        raise ValueError(f"window_s and hop_s must be positive, got {window_s!r} and {hop_s!r}")
    size = max(1, int(round(window_s * ecg.fs_hz)))
    hop = max(1, int(round(hop_s * ecg.fs_hz)))
    present = [i for i, ok in enumerate(ecg.lead_mask) if ok]
    names = [ecg.lead_names[i] for i in present]
    parent_meta = {k: v for k, v in ecg.meta.items() if k != "unusable_leads"}
    for index, start in enumerate(range(0, ecg.n_samples, hop)):
        stop = start + size
        if stop > ecg.n_samples and not keep_partial:
            break
        chunk = ecg.signal_mv[present, start:stop]
        meta = dict(
            parent_meta,
            window_index=index,
            window_start_s=start / ecg.fs_hz,
            window_duration_s=chunk.shape[1] / ecg.fs_hz,
            parent_record_id=ecg.record_id,
        )
        try:
            yield ECG.from_leads(
                chunk, ecg.fs_hz, names, record_id=f"{ecg.record_id}_w{index:04d}", source=ecg.source, meta=meta
            )
        except ECGSignalError as exc:
            logger.warning("skipping window %d of %s: %s", index, ecg.record_id, exc.detail)
        if stop >= ecg.n_samples:
            break


def read_windows(
    path: str | Path,
    window_s: float = 10.0,
    *,
    hop_s: float | None = None,
    keep_partial: bool = False,
    **read_kwargs,
) -> list[ECG]:
    """Read a long record and cut it into windows (e.g. MIT-BIH 100: 30 min at 360 Hz -> 180 windows of 10 s).

    Args:
        path: any file :func:`read_ecg` accepts.
        window_s: window length in seconds.
        hop_s: step between window starts; defaults to ``window_s``.
        keep_partial: keep the shorter last window.
        **read_kwargs: passed to :func:`read_ecg` (``fs_hz``, ``lead_names``, ``record_id``, ``max_bytes``,
            ``max_values``).

    Returns:
        The windows in time order (see :func:`iter_windows` for their ids and metadata).

    Raises:
        ECGReadError: from :func:`read_ecg`; :class:`ECGSignalError` if the record is shorter than one window
            (and ``keep_partial`` is False) or no window has a usable lead.
    """
    ecg = read_ecg(path, **read_kwargs)
    windows = list(iter_windows(ecg, window_s, hop_s=hop_s, keep_partial=keep_partial))
    if not windows:
        raise ECGSignalError(
            ecg.source,
            f"no usable {window_s:g} s window in a {ecg.duration_s:.2f} s record"
            + ("" if keep_partial else " (pass keep_partial=True to keep a shorter one)"),
        )
    return windows
