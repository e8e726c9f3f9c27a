"""WFDB records (``.hea`` + ``.dat``, or ``.hea`` + MATLAB v4 ``.mat`` as in the PhysioNet/CinC Challenge).

The header is parsed first and checked against the data files on disk (existence, total size, and the exact byte
count its sample count implies) before wfdb reads any samples, because wfdb otherwise fails with assorted
``ValueError``/``IndexError`` messages or, when the header undercounts, silently returns a truncated signal.

Challenge 2020 headers (e.g. the Georgia records, ``E00015.mat 12 500 5000 ...``) name the record with its ``.mat``
suffix on the record line, which ``wfdb.rdheader`` rejects (``HeaderSyntaxError``). Those are parsed by wfdb's own
header parser after dropping the suffix in memory, and their samples are read with ``scipy.io.loadmat`` and turned
into physical units by ``wfdb.Record.dac`` (the header's gain, baseline and units, exactly as for 2021 headers).
"""

from __future__ import annotations

import logging
import math
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io
import wfdb
from wfdb.io import _header
from wfdb.io.header import HeaderSyntaxError, parse_header_content

from core.data.formats.common import (
    MAX_DECODED_VALUES,
    check_decoded_size,
    check_fs_value,
    check_given_fs,
    check_given_leads,
    check_size,
    require_file,
)
from core.data.lead_scaling import undo_range_gains
from core.ecg import ECG
from core.errors import ECGCorruptError, ECGFileMissingError, ECGFormatError, ECGSignalError

logger = logging.getLogger(__name__)

# A real header is a few kB; anything far larger is not a header and should not be parsed line by line.
MAX_HEADER_BYTES = 1024 * 1024

# Bits per sample of each WFDB storage format (https://physionet.org/physiotools/wag/signal-5.htm).
_BITS_PER_SAMPLE: dict[str, float] = {
    "8": 8, "16": 16, "61": 16, "80": 8, "160": 16, "212": 12, "310": 32 / 3, "311": 32 / 3, "24": 24, "32": 32,
}  # fmt: skip

# Factor from a header's physical unit to millivolts; unknown units are kept as they are (and logged).
_TO_MV: dict[str, float] = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}

# What wfdb raises on malformed headers and data (seen: ValueError, IndexError, KeyError, struct.error, EOFError).
_PARSE_ERRORS = (HeaderSyntaxError, ValueError, IndexError, KeyError, TypeError, UnicodeDecodeError)
_DATA_ERRORS = (ValueError, IndexError, KeyError, TypeError, struct.error, EOFError, OSError)


def read_wfdb(
    record_path: Path,
    *,
    fs_hz: float | None = None,
    lead_names: Sequence[str] | None = None,
    record_id: str | None = None,
    max_bytes: int,
    max_values: int = MAX_DECODED_VALUES,
) -> ECG:
    """Read a WFDB record given its path without extension; signals come back in mV.

    Args:
        record_path: the record path without extension (``.../00001_hr``).
        fs_hz: if given, must agree with the header's rate.
        lead_names: if given, must name the same channels as the header.
        record_id: identifier to store; defaults to the record name.
        max_bytes: limit on the header plus data files together.
        max_values: limit on samples x leads (leads counted as at least 12), checked from the header's sample count
            before any sample is decoded.

    Raises:
        ECGFileMissingError: the header or a data file does not exist.
        ECGFormatError: the header is not a WFDB header, or uses an unsupported storage format.
        ECGCorruptError: a data file is shorter or longer than the header's sample count implies, or unreadable.
        ECGTooLargeError: the files exceed ``max_bytes``, or the header's samples x leads exceed ``max_values``.
        ECGSamplingRateError: the header's sampling rate is not a positive finite number (wfdb itself would read
            ``-1``, ``nan`` or ``inf`` as its 250 Hz default).
        ECGLeadError, ECGSignalError: from :meth:`ECG.from_leads` (bad lead names, no usable lead, absurd rate).
    """
    header_path = Path(f"{record_path}.hea")
    require_file(header_path, "WFDB header (.hea)")
    # Before parsing anything: the header plus the data files a record usually has (the full list comes next).
    usual = [Path(f"{record_path}{ext}") for ext in (".dat", ".mat")]
    check_size([header_path, *(p for p in usual if p.is_file())], max_bytes, header_path)
    if header_path.stat().st_size > MAX_HEADER_BYTES:
        raise ECGFormatError(header_path, f"{header_path.stat().st_size:,} bytes is far too large for a WFDB header")
    header, challenge_2020 = _read_header(record_path, header_path)
    data_files = _data_files(header, header_path)
    check_size([header_path, *data_files], max_bytes, header_path)
    _check_data_sizes(header, data_files, header_path)
    spf = max((int(n or 1) for n in header.samps_per_frame or [1]), default=1)
    check_decoded_size(header.sig_len * spf if header.sig_len else None, header.n_sig, max_values, header_path)

    try:
        if challenge_2020:
            record = _read_mat_samples(header, data_files[0])
        else:
            record = wfdb.rdrecord(str(record_path), physical=True)
    except FileNotFoundError as exc:
        raise ECGFileMissingError(header_path, f"a data file of this record is missing: {exc.filename}") from exc
    except _DATA_ERRORS as exc:
        raise ECGCorruptError(header_path, f"wfdb could not read the samples ({type(exc).__name__}: {exc})") from exc

    stored_fs = float(record.fs) if record.fs is not None else float("nan")
    check_given_fs(stored_fs, fs_hz, header_path)
    check_given_leads(record.sig_name, lead_names, header_path)
    # LUDB's gains make every lead span exactly 1 mV: read its counts with one shared gain instead
    physical, scaling = undo_range_gains(record.p_signal, np.asarray(record.adc_gain or [], dtype=np.float64))
    signal_mv = _to_millivolts(physical, record.units, header_path)
    return ECG.from_leads(
        signal_mv,
        stored_fs,
        record.sig_name,
        record_id=record_id or record_path.name,
        source=header_path,
        meta=_meta(record, header_style="challenge-2020" if challenge_2020 else "wfdb") | scaling,
        channel_axis=1,
    )


def _check_header_fs(header_path: Path) -> None:
    """Refuse a record line whose sampling-rate field is not a positive finite number.

    wfdb's record-line pattern accepts only digits there, so ``-1``, ``nan`` or ``inf`` fail to match and wfdb falls
    back to its 250 Hz default without a word (and ``0`` is kept as 0 Hz). The field is read here from the raw text:
    the third token of the first non-comment line, ``fs[/counter_freq[(base_counter)]]``. A record line without it
    keeps the WFDB default, as the specification says.
    """
    try:
        with header_path.open("rb") as fh:
            text = fh.read(MAX_HEADER_BYTES).decode("ascii", errors="replace")
    except OSError:
        return  # wfdb reports the unreadable header next
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) >= 3 and fields[1].isdigit():
            token = fields[2].split("/", 1)[0].split("(", 1)[0]
            try:
                float(token)
            except ValueError:
                return  # not a rate at all: wfdb's parser reports the malformed line
            check_fs_value(token, header_path, "the header's sampling rate")
        return


def _read_header(record_path: Path, header_path: Path) -> tuple[wfdb.Record, bool]:
    """The checked header, and whether it is a Challenge 2020 header (whose samples wfdb cannot read itself)."""
    _check_header_fs(header_path)
    challenge_2020 = False
    try:
        header = wfdb.rdheader(str(record_path))
    except _PARSE_ERRORS as exc:
        header = _read_challenge_2020_header(header_path)
        if header is None:
            raise ECGFormatError(header_path, f"not a valid WFDB header ({type(exc).__name__}: {exc})") from exc
        challenge_2020 = True
    if isinstance(header, wfdb.MultiRecord):
        raise ECGFormatError(header_path, "multi-segment WFDB records are not supported; read a segment's header")
    if not header.n_sig or not header.file_name:
        raise ECGFormatError(header_path, "the header declares no signals")
    for name in header.file_name:
        # An uploaded header must not make us read arbitrary files ("/etc/...", "../secret").
        if not name or Path(name).name != name or name in (".", "..") or "\\" in name:
            raise ECGFormatError(header_path, f"data file {name!r} must be a plain file name next to the header")
    if len(header.file_name) != header.n_sig:
        raise ECGFormatError(
            header_path, f"the header declares {header.n_sig} signals but describes {len(header.file_name)}"
        )
    for fmt in header.fmt or []:
        if str(fmt) not in _BITS_PER_SAMPLE:
            raise ECGFormatError(header_path, f"unsupported WFDB storage format {fmt!r}")
    if header.sig_len == 0:
        raise ECGSignalError(header_path, "the header declares zero samples")
    if challenge_2020 and set(header.file_name) != {f"{record_path.name}.mat"}:
        raise ECGFormatError(header_path, "a Challenge 2020 header must store every signal in its own .mat file")
    return header, challenge_2020


def _read_challenge_2020_header(header_path: Path) -> wfdb.Record | None:
    """Parse a Challenge 2020 header (``E00015.mat 12 500 5000 ...``) with wfdb's parser; None if it is not one.

    Only the record name on the record line changes (``E00015.mat`` -> ``E00015``), and only when it names the
    record's own ``.mat`` file; everything else goes through wfdb's parser, which also validates it.
    """
    text = header_path.read_text(encoding="ascii", errors="ignore")
    try:
        header_lines, comment_lines = parse_header_content(text)
    except _PARSE_ERRORS:
        return None
    first = header_lines[0].split() if header_lines else []
    if not first or first[0] != f"{header_path.stem}.mat":
        return None
    header_lines[0] = " ".join([header_path.stem, *first[1:]])
    try:
        record_fields = _header._parse_record_line(header_lines[0])
        signal_fields = _header._parse_signal_lines(header_lines[1:]) if len(header_lines) > 1 else {}
    except _PARSE_ERRORS:
        return None
    if record_fields.get("n_seg") is not None:
        return None
    record = wfdb.Record()
    for key, value in {**signal_fields, **record_fields}.items():
        if key != "n_seg":
            setattr(record, key, value)
    record.comments = [line.strip(" \t#") for line in comment_lines]
    return record


def _read_mat_samples(header: wfdb.Record, mat_path: Path) -> wfdb.Record:
    """Fill ``header`` with the samples of a Challenge ``.mat`` file (variable ``val``, signals x samples).

    ``wfdb.Record.dac`` applies the header's gain and baseline (and marks format-16 ``-32768`` samples as NaN),
    the same conversion ``wfdb.rdrecord`` does for 2021 headers.
    """
    try:
        digital = scipy.io.loadmat(str(mat_path))["val"]
    except (KeyError, NotImplementedError, scipy.io.matlab.MatReadError) as exc:
        raise ValueError(f"no MATLAB variable 'val' readable in {mat_path.name}: {exc}") from exc
    expected = (header.n_sig, header.sig_len)
    if digital.shape != expected:
        raise ValueError(f"{mat_path.name} holds an array of shape {digital.shape}, the header says {expected}")
    header.d_signal = np.asarray(digital, dtype=np.int64).T
    header.p_signal = header.dac()
    return header


def _data_files(header: wfdb.Record, header_path: Path) -> list[Path]:
    """The distinct data files the header points to, each checked to exist."""
    paths = [header_path.parent / name for name in dict.fromkeys(header.file_name)]
    for path in paths:
        if not path.is_file():
            raise ECGFileMissingError(path, f"data file named in {header_path.name} does not exist")
    return paths


def _check_data_sizes(header: wfdb.Record, data_files: list[Path], header_path: Path) -> None:
    """Compare each data file's size with the bytes the header's sample count implies.

    Raises:
        ECGSignalError: the data files hold no samples.
        ECGCorruptError: a file is shorter (truncated) or longer (header undercounts samples) than expected.
    """
    bits_per_frame: dict[str, float] = {}
    offsets: dict[str, int] = {}
    for i, name in enumerate(header.file_name):
        spf = (header.samps_per_frame[i] if header.samps_per_frame else 1) or 1
        bits_per_frame[name] = bits_per_frame.get(name, 0) + _BITS_PER_SAMPLE[str(header.fmt[i])] * spf
        offsets[name] = int((header.byte_offset[i] if header.byte_offset else 0) or 0)
    for path in data_files:
        actual = path.stat().st_size
        offset = offsets[path.name]
        if actual <= offset:
            raise ECGSignalError(path, "the data file holds zero samples")
        if header.sig_len is None:
            continue  # wfdb infers the length from the file size
        expected = offset + math.ceil(header.sig_len * bits_per_frame[path.name] / 8)
        if actual < expected:
            frames = int((actual - offset) * 8 // bits_per_frame[path.name])
            raise ECGCorruptError(
                path,
                f"truncated: the header declares {header.sig_len} samples per signal ({expected:,} bytes) "
                f"but the file has {actual:,} bytes (about {frames} samples)",
            )
        if actual > expected:
            raise ECGCorruptError(
                path,
                f"header/sample-count mismatch: the header declares {header.sig_len} samples per signal "
                f"({expected:,} bytes) but the file has {actual:,} bytes",
            )


def _to_millivolts(p_signal: np.ndarray | None, units: list[str] | None, header_path: Path) -> np.ndarray:
    if p_signal is None:
        raise ECGCorruptError(header_path, "wfdb returned no physical signal")
    signal = np.asarray(p_signal, dtype=np.float64)
    for col, unit in enumerate(units or []):
        key = str(unit or "").strip().lower()
        if key in _TO_MV:
            if _TO_MV[key] != 1.0:
                signal[:, col] *= _TO_MV[key]
        else:
            logger.warning("%s: channel %d has unit %r; assuming millivolts", header_path, col, unit)
    return signal


def _meta(record: wfdb.Record, header_style: str = "wfdb") -> dict[str, Any]:
    is_mat = any(str(name).lower().endswith(".mat") for name in record.file_name or [])
    meta: dict[str, Any] = {
        "format": "wfdb-mat" if is_mat else "wfdb",
        "header_style": header_style,
        "comments": list(record.comments or []),
        "units": list(record.units or []),
        "stored_lead_names": list(record.sig_name or []),
    }
    if record.base_date is not None:
        meta["base_date"] = record.base_date.isoformat()
    if record.base_time is not None:
        meta["base_time"] = record.base_time.isoformat()
    return meta
