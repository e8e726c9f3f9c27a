"""CSV exports: one column per lead, a header row naming the leads, optionally a time column.

Accepted header cells: lead names in any common spelling (``II``, ``Lead V1``, ``avr``), optionally with a unit
(``II (mV)``, ``V1 [uV]``); a time column (``time``/``t``/``time_s``/``seconds`` in seconds, ``time_ms``/``ms`` in
milliseconds) from which the sampling rate is derived; an index column (``sample``, ``index``) that is ignored.
Delimiter: comma, semicolon or tab. Empty cells become NaN (interpolated by preprocessing).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.formats.common import check_given_fs, check_given_leads, check_size, read_head
from core.ecg import ECG
from core.errors import ECGCorruptError, ECGFormatError, ECGLeadError, ECGReadError, ECGSignalError

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


def read_csv(
    path: Path,
    *,
    fs_hz: float | None = None,
    lead_names: Sequence[str] | None = None,
    record_id: str | None = None,
    max_bytes: int,
) -> ECG:
    """Read a CSV ECG (values in mV unless the header gives another unit).

    Args:
        path: the ``.csv`` file.
        fs_hz: sampling rate; required without a time column, must agree with it otherwise.
        lead_names: names for a header-less file; if the file has a header they must agree with it.
        record_id: identifier to store; defaults to the file stem.
        max_bytes: limit on the file size, checked before reading.

    Raises:
        ECGFormatError: binary or non-UTF-8 content.
        ECGLeadError: no header row naming the leads (and no ``lead_names``), unknown or duplicate names.
        ECGCorruptError: a cell that is not a number, or ragged rows.
        ECGSignalError: empty file or no data rows, no way to know the sampling rate, an irregular time column,
            an absurd rate, or no usable lead.
    """
    check_size([path], max_bytes, path)
    rows = _rows(_read_text(path), path)
    has_header = not all(_is_number(c) for c in rows[0] if c.strip())
    if not has_header and lead_names is None:
        raise ECGLeadError(
            path,
            f"no header row naming the leads (first row is numbers: {rows[0][:4]}...); add one or pass lead_names",
        )
    columns = [c.strip() for c in rows[0]] if has_header else [str(n) for n in lead_names]  # type: ignore[union-attr]
    data = rows[1:] if has_header else rows
    if not has_header and len(columns) != len(rows[0]):
        raise ECGLeadError(path, f"{len(columns)} lead names given for {len(rows[0])} columns")
    if not data:
        raise ECGSignalError(path, "the CSV has a header but zero data rows")
    for k, row in enumerate(data):
        if len(row) != len(columns):
            raise ECGCorruptError(path, f"data row {k + 1} has {len(row)} fields but there are {len(columns)} columns")
    values = _numeric(np.array(data, dtype=str), columns, path)

    time_col, lead_cols = _split_columns(columns)
    if not lead_cols:
        raise ECGLeadError(path, f"no lead columns in header {columns}")
    named = [_strip_unit(columns[i], path) for i in lead_cols]
    names, scales = [n for n, _ in named], [f for _, f in named]
    if has_header:
        check_given_leads(names, lead_names, path)
    if time_col is not None:
        stored_fs = _fs_from_time(values[:, time_col] * TIME_COLUMNS[_normalise(columns[time_col])], path)
        fs_hz = check_given_fs(stored_fs, fs_hz, path)
    elif fs_hz is None:
        raise ECGSignalError(path, f"no time column (one of {sorted(TIME_COLUMNS)}) and no fs_hz given")

    signal = values[:, lead_cols] * np.asarray(scales)
    return ECG.from_leads(
        signal,
        fs_hz,
        names,
        record_id=record_id or path.stem,
        source=path,
        meta={"format": "csv", "stored_lead_names": [columns[i] for i in lead_cols]},
        channel_axis=1,
    )


def _read_text(path: Path) -> str:
    """The whole file as text, after refusing binary or non-UTF-8 content."""
    if b"\x00" in read_head(path, 64 * 1024):
        raise ECGFormatError(path, "binary content (NUL bytes) in a file named .csv; not a text CSV")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ECGReadError(path, f"cannot open file: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ECGFormatError(path, f"not UTF-8 text (byte {exc.start}); not a text CSV") from exc


def _rows(text: str, path: Path) -> list[list[str]]:
    """Split into rows of cells (blank lines dropped), with the delimiter guessed from the first line."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ECGSignalError(path, "the CSV file is empty")
    delimiter = max((",", ";", "\t"), key=lines[0].count)
    try:
        return [[c.strip() for c in row] for row in csv.reader(lines, delimiter=delimiter, skipinitialspace=True)]
    except csv.Error as exc:
        raise ECGCorruptError(path, f"cannot parse CSV ({exc})") from exc


def _numeric(cells: np.ndarray, columns: list[str], path: Path) -> np.ndarray:
    """Convert every cell to float; empty cells become NaN, anything else non-numeric is an error naming its cell."""
    out = np.empty(cells.shape, dtype=np.float64)
    for j in range(cells.shape[1]):
        col = pd.Series(cells[:, j])
        parsed = pd.to_numeric(col.replace("", np.nan), errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(parsed) & (cells[:, j] != "") & ~col.str.lower().isin(["nan", "na"]).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ECGCorruptError(
                path, f"data row {row + 1}, column {columns[j]!r}: {str(cells[row, j])!r} is not a number"
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
