"""CSV exports: one column per lead, a header row naming the leads, optionally a time column.

Accepted header cells: lead names in any common spelling (``II``, ``Lead V1``, ``avr``), optionally with a unit
(``II (mV)``, ``V1 [uV]``); a time column (``time``/``t``/``time_s``/``seconds`` in seconds, ``time_ms``/``ms`` in
milliseconds) from which the sampling rate is derived; an index column (``sample``, ``index``) that is ignored.
Delimiter: comma, semicolon or tab. Empty cells become NaN (interpolated by preprocessing).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.formats.common import check_given_fs, check_given_leads, check_size, read_head
from core.ecg import ECG
from core.errors import ECGCorruptError, ECGFormatError, ECGLeadError, ECGSignalError

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
        ECGFormatError: binary or non-UTF-8 content, or no data rows.
        ECGLeadError: no header row naming the leads (and no ``lead_names``), unknown or duplicate names.
        ECGCorruptError: a cell that is not a number, or ragged rows.
        ECGSignalError: no way to know the sampling rate, an irregular time column, zero-length or unusable signal.
    """
    check_size([path], max_bytes, path)
    first_line = _first_line(path)
    delimiter = max((",", ";", "\t"), key=first_line.count)
    cells = [c.strip().strip('"').strip("'").strip() for c in first_line.split(delimiter)]
    has_header = not all(_is_number(c) for c in cells if c)
    if not has_header and lead_names is None:
        raise ECGLeadError(
            path,
            f"no header row naming the leads (first row is numbers: {first_line[:60]!r}); add one or pass lead_names",
        )

    try:
        frame = pd.read_csv(
            path,
            sep=delimiter,
            header=0 if has_header else None,
            dtype=str,
            skip_blank_lines=True,
            keep_default_na=False,
            encoding="utf-8-sig",
            skipinitialspace=True,
        )
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ECGCorruptError(path, f"cannot parse CSV ({type(exc).__name__}: {exc})") from exc
    if frame.shape[0] == 0:
        raise ECGSignalError(path, "the CSV has a header but zero data rows")
    columns = [str(c) for c in frame.columns] if has_header else [str(n) for n in lead_names]  # type: ignore[union-attr]
    if not has_header and len(columns) != frame.shape[1]:
        raise ECGLeadError(path, f"{len(columns)} lead names given for {frame.shape[1]} columns")
    values = _numeric(frame, columns, path)

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


def _first_line(path: Path) -> str:
    """The first non-blank line, after refusing binary or non-UTF-8 content."""
    head = read_head(path, 64 * 1024)
    if not head.strip():
        raise ECGSignalError(path, "the CSV file is empty")
    if b"\x00" in head:
        raise ECGFormatError(path, "binary content (NUL bytes) in a file named .csv; not a text CSV")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # A multi-byte character may be cut at the end of the sniffed block; only fail if it is not there.
        if exc.start < len(head) - 4:
            raise ECGFormatError(path, f"not UTF-8 text at byte {exc.start}; not a text CSV") from exc
        text = head[: exc.start].decode("utf-8-sig")
    return next(line for line in text.splitlines() if line.strip())


def _numeric(frame: pd.DataFrame, columns: list[str], path: Path) -> np.ndarray:
    """Convert every cell to float; empty cells become NaN, anything else non-numeric is an error naming its cell."""
    short = frame.isna().any(axis=1).to_numpy()  # with keep_default_na=False only missing fields are NaN
    if short.any():
        row = int(np.flatnonzero(short)[0])
        raise ECGCorruptError(path, f"data row {row + 1} has fewer fields than the {len(columns)} columns")
    out = np.empty(frame.shape, dtype=np.float64)
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j].str.strip()
        parsed = pd.to_numeric(col.replace("", np.nan), errors="coerce").to_numpy(dtype=np.float64)
        bad = np.isnan(parsed) & (col.to_numpy() != "") & ~col.str.lower().isin(["nan", "na"]).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ECGCorruptError(
                path, f"data row {row + 1}, column {columns[j]!r}: {col.iloc[row]!r} is not a number"
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
