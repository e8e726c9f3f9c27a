"""CSV exports: one column per lead, a header row naming the leads, optionally a time column.

Accepted header cells: lead names in any common spelling (``II``, ``Lead V1``, ``avr``), optionally with a unit
(``II (mV)``, ``V1 [uV]``); a time column (``time``/``t``/``time_s``/``seconds`` in seconds, ``time_ms``/``ms`` in
milliseconds) from which the sampling rate is derived; an index column (``sample``, ``index``) that is ignored.
Delimiter: comma, semicolon or tab. Empty cells become NaN (interpolated by preprocessing).
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from core.data.formats.common import (
    MAX_DECODED_VALUES,
    check_given_fs,
    check_given_leads,
    check_size,
    read_head,
)
from core.ecg import ECG
from core.errors import (
    ECGCorruptError,
    ECGFormatError,
    ECGLeadError,
    ECGReadError,
    ECGSignalError,
    ECGTooLargeError,
)

# Time-column names (normalised: lower case, units folded in with "_") -> factor to seconds.
TIME_COLUMNS: dict[str, float] = {
    "time": 1.0, "t": 1.0, "time_s": 1.0, "t_s": 1.0, "seconds": 1.0, "sec": 1.0, "s": 1.0,
    "time_ms": 1e-3, "t_ms": 1e-3, "ms": 1e-3,
}  # fmt: skip
INDEX_COLUMNS = frozenset({"sample", "samples", "index", "idx", "n", "sample_index"})
_UNIT_TO_MV: dict[str, float] = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "v": 1e3}
_UNIT_SUFFIX = re.compile(r"^(?P<name>.*?)[\s_]*[\(\[]\s*(?P<unit>[^\)\]]*)\s*[\)\]]\s*$")
# Rows of a time column may jitter (rounded timestamps) by this fraction of the median step before we refuse it.
_TIME_JITTER = 0.05
# Rows converted at a time: bounds the Python strings alive at once (about 1 MB for 13 columns).
_CHUNK_ROWS = 8192


def read_csv(
    path: Path,
    *,
    fs_hz: float | None = None,
    lead_names: Sequence[str] | None = None,
    record_id: str | None = None,
    max_bytes: int,
    max_values: int = MAX_DECODED_VALUES,
) -> ECG:
    """Read a CSV ECG (values in mV unless the header gives another unit).

    The file is read as a stream, a chunk of rows at a time, so memory grows with the rows kept (as float32), not
    with Python strings for the whole file; reading stops as soon as the rows exceed the sample budget.

    Args:
        path: the ``.csv`` file.
        fs_hz: sampling rate; required without a time column, must agree with it otherwise.
        lead_names: names for a header-less file; if the file has a header they must agree with it.
        record_id: identifier to store; defaults to the file stem.
        max_bytes: limit on the file size, checked before reading.
        max_values: limit on rows x lead columns (leads counted as at least 12), checked while rows are read.

    Raises:
        ECGFormatError: binary or non-UTF-8 content.
        ECGLeadError: no header row naming the leads (and no ``lead_names``), unknown or duplicate names.
        ECGCorruptError: a cell that is not a number, or ragged rows.
        ECGSignalError: empty file or no data rows, no way to know the sampling rate, an irregular time column,
            an absurd rate, or no usable lead.
        ECGTooLargeError: over ``max_bytes``, or more rows than ``max_values`` allows.
    """
    check_size([path], max_bytes, path)
    if b"\x00" in read_head(path, 64 * 1024):
        raise ECGFormatError(path, "binary content (NUL bytes) in a file named .csv; not a text CSV")
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            return _parse(fh, path, fs_hz, lead_names, record_id, max_values)
    except UnicodeDecodeError as exc:
        raise ECGFormatError(path, f"not UTF-8 text (byte {exc.start} of a block); not a text CSV") from exc
    except OSError as exc:
        raise ECGReadError(path, f"cannot open file: {exc.strerror or exc}") from exc


def _parse(
    fh: TextIO,
    path: Path,
    fs_hz: float | None,
    lead_names: Sequence[str] | None,
    record_id: str | None,
    max_values: int,
) -> ECG:
    lines = (line for line in fh if line.strip())
    first_line = next(lines, None)
    if first_line is None:
        raise ECGSignalError(path, "the CSV file is empty")
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(itertools.chain([first_line], lines), delimiter=delimiter, skipinitialspace=True)
    times: list[np.ndarray] = []
    chunks: list[np.ndarray] = []
    try:
        first = [c.strip() for c in next(reader)]
        has_header = not all(_is_number(c) for c in first if c.strip())
        if not has_header and lead_names is None:
            raise ECGLeadError(
                path,
                f"no header row naming the leads (first row is numbers: {first[:4]}...); add one or pass lead_names",
            )
        columns = first if has_header else [str(n) for n in lead_names]  # type: ignore[union-attr]
        if not has_header and len(columns) != len(first):
            raise ECGLeadError(path, f"{len(columns)} lead names given for {len(first)} columns")
        time_col, lead_cols = _split_columns(columns)
        if not lead_cols:
            raise ECGLeadError(path, f"no lead columns in header {columns}")
        max_rows = max_values // max(len(lead_cols), 12)
        rows = ([c.strip() for c in r] for r in reader)
        n_rows = 0
        pending: list[list[str]] = [] if has_header else [first]
        for row in rows:
            pending.append(row)
            if len(pending) >= _CHUNK_ROWS:
                n_rows = _convert(pending, columns, time_col, lead_cols, n_rows, times, chunks, path)
                pending = []
                _check_rows(n_rows, max_rows, len(lead_cols), max_values, path)
        n_rows = _convert(pending, columns, time_col, lead_cols, n_rows, times, chunks, path)
        _check_rows(n_rows, max_rows, len(lead_cols), max_values, path)
    except csv.Error as exc:
        raise ECGCorruptError(path, f"cannot parse CSV ({exc})") from exc
    if n_rows == 0:
        raise ECGSignalError(path, "the CSV has a header but zero data rows")

    named = [_strip_unit(columns[i], path) for i in lead_cols]
    names, scales = [n for n, _ in named], [f for _, f in named]
    if has_header:
        check_given_leads(names, lead_names, path)
    if time_col is not None:
        t_s = np.concatenate(times) * TIME_COLUMNS[_normalise(columns[time_col])]
        fs_hz = check_given_fs(_fs_from_time(t_s, path), fs_hz, path)
        del t_s
    elif fs_hz is None:
        raise ECGSignalError(path, f"no time column (one of {sorted(TIME_COLUMNS)}) and no fs_hz given")

    signal = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    del chunks
    if any(f != 1.0 for f in scales):
        signal *= np.asarray(scales, dtype=np.float32)
    return ECG.from_leads(
        signal,
        fs_hz,
        names,
        record_id=record_id or path.stem,
        source=path,
        meta={
            "format": "csv",
            "stored_lead_names": [columns[i] for i in lead_cols],
            "units_declared": any(bool(_UNIT_SUFFIX.match(columns[i])) for i in lead_cols),
        },
        channel_axis=1,
    )


def _convert(
    rows: list[list[str]],
    columns: list[str],
    time_col: int | None,
    lead_cols: list[int],
    offset: int,
    times: list[np.ndarray],
    chunks: list[np.ndarray],
    path: Path,
) -> int:
    """Check and convert a chunk of rows (time column float64, leads float32); returns the rows read so far."""
    if not rows:
        return offset
    for k, row in enumerate(rows):
        if len(row) != len(columns):
            raise ECGCorruptError(
                path, f"data row {offset + k + 1} has {len(row)} fields but there are {len(columns)} columns"
            )
    values = _numeric(np.array(rows, dtype=str), columns, path, offset)
    if time_col is not None:
        times.append(values[:, time_col].copy())
    chunks.append(values[:, lead_cols].astype(np.float32))
    return offset + len(rows)


def _check_rows(n_rows: int, max_rows: int, n_leads: int, max_values: int, path: Path) -> None:
    """Stop reading once the rows exceed the sample budget."""
    if n_rows > max_rows:
        raise ECGTooLargeError(
            path,
            f"more than {max_rows:,} rows of {n_leads} lead(s) is more than this server decodes (at most "
            f"{max_values // 12:,} samples x 12 leads, e.g. {max_values / 12 / 500 / 60:.3g} min at 500 Hz); upload a "
            "shorter excerpt",
        )


def _numeric(cells: np.ndarray, columns: list[str], path: Path, offset: int = 0) -> np.ndarray:
    """Convert every cell to float; empty cells become NaN, anything else non-numeric is an error naming its cell."""
    out = np.empty(cells.shape, dtype=np.float64)
    for j in range(cells.shape[1]):
        col = pd.Series(cells[:, j])
        parsed = pd.to_numeric(col.replace("", np.nan), errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(parsed) & (cells[:, j] != "") & ~col.str.lower().isin(["nan", "na"]).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ECGCorruptError(
                path,
                f"data row {offset + row + 1}, column {columns[j]!r}: {str(cells[row, j])!r} is not a number",
            )
        out[:, j] = parsed
    return out


def _normalise(name: str) -> str:
    """``"Time (ms)"`` -> ``"time_ms"``: lower case, brackets and spaces folded into single underscores."""
    return re.sub(r"[\s\(\)\[\]_]+", "_", name.strip().lower()).strip("_")


def _split_columns(columns: list[str]) -> tuple[int | None, list[int]]:
    time_col = None
    leads = []
    for i, name in enumerate(columns):
        key = _normalise(name)
        if key in TIME_COLUMNS and time_col is None:
            time_col = i
        elif key in INDEX_COLUMNS or key.startswith("unnamed"):
            continue
        else:
            leads.append(i)
    return time_col, leads


def _strip_unit(name: str, path: Path) -> tuple[str, float]:
    """Split ``"II (uV)"`` into ``("II", 1e-3)``; names without a unit are taken as millivolts."""
    match = _UNIT_SUFFIX.match(name)
    if not match:
        return name, 1.0
    unit = match["unit"].strip().lower()
    if unit not in _UNIT_TO_MV:
        raise ECGLeadError(path, f"column {name!r}: unknown unit {match['unit']!r} (use mV, uV or V)")
    return match["name"], _UNIT_TO_MV[unit]


def _fs_from_time(t_s: np.ndarray, path: Path) -> float:
    """Sampling rate from a time column that must increase at a (nearly) constant step."""
    if t_s.size < 2:
        raise ECGSignalError(path, "a time column needs at least two rows to give a sampling rate")
    if not np.isfinite(t_s).all():
        raise ECGCorruptError(path, "the time column has empty or non-numeric cells")
    steps = np.diff(t_s)
    median = float(np.median(steps))
    if median <= 0 or np.abs(steps - median).max() > _TIME_JITTER * median:
        raise ECGSignalError(path, "the time column is not uniformly increasing; cannot derive a sampling rate")
    # The mean step over the whole record is more precise than any single (rounded) step.
    return round((t_s.size - 1) / float(t_s[-1] - t_s[0]), 6)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
