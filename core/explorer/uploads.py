"""Uploaded files -> one ECG window, with honest warnings about units, leads and length.

An upload is read once (:func:`read_upload`): the files are linked side by side (a WFDB header must sit next to its
signal), read within the readers' byte and sample budgets, and checked for plausible amplitudes. The whole record is
kept in a small byte-bounded cache (:class:`UploadCache`) so that another 10-s window can be chosen without the file,
which the app deletes after reading. Everything downstream (plot, zero-shot, measurements, map placement, saliency)
sees one window: the key ``upload/<digest>@<start_s>`` names the file contents, the reading options and the window.
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.formats.common import MAX_DECODED_VALUES
from core.data.lead_scaling import RESTORED_KEY, UNCALIBRATED_KEY
from core.data.readers import read_ecg
from core.ecg import ECG
from core.errors import ECGSignalError
from core.explorer.errors import InvalidRequestError
from core.leads import CANONICAL_LEADS

# The longest file accepted for upload (the app's Gradio limit uses the same number). A 30-min 12-lead CSV at 500 Hz
# is about 95 MB; the sample budget (core.data.formats.common.MAX_DECODED_VALUES) is the real limit.
UPLOAD_MAX_BYTES = 100 * 1024 * 1024
# The model's input length; long records are shown and scored one window of this length at a time.
WINDOW_S = 10.0
# Whole records kept for choosing another window (float32, 12 rows): at most this many bytes together.
CACHE_MAX_BYTES = 160 * 1024 * 1024

UNITS = ("auto", "mV", "uV", "V")
_TO_MV = {"mV": 1.0, "uV": 1e-3, "V": 1e3}
_UNIT_WORDS = {"mV": "millivolts", "uV": "microvolts (µV)", "V": "volts"}
# The typical peak-to-peak range of an ECG lead is 0.5-5 mV. A median range above 40 "mV" is microvolts (or raw ADC
# counts); below 0.02 "mV" (20 µV, flatter than any recorded lead) it is volts.
_UV_ABOVE = 40.0
_V_BELOW = 0.02
PARTIAL_LEADS_NOTE = (
    "Scores, retrieval and map placement on partial leads are less reliable than on a full 12-lead ECG: the model was "
    "trained mostly on 12-lead records."
)


@dataclass(frozen=True)
class UploadedRecord:
    """A whole uploaded record, read and unit-checked.

    Attributes:
        ecg: the record in mV (after the unit choice), 12 rows.
        name: the file name shown to the user (no server path).
        digest: hex digest of the file contents and the reading options.
        notes: warnings about the whole record (units, leads), in plain words.
        units: the unit the values were read in (``"mV"``, ``"uV"`` or ``"V"``).
    """

    ecg: ECG
    name: str
    digest: str
    notes: tuple[str, ...] = ()
    units: str = "mV"

    @property
    def n_windows(self) -> int:
        """Whole ``WINDOW_S`` windows in the record (1 for a record shorter than one window)."""
        return max(1, int(math.floor(self.ecg.duration_s / WINDOW_S + 1e-9)))


@dataclass(frozen=True)
class UploadWindow:
    """The window of an upload that is shown and scored.

    Attributes:
        id: ``"<digest>@<start_s>"`` (the part of the ECG key after ``upload/``).
        ecg: the window (at most ``WINDOW_S`` seconds), in mV, 12 rows.
        record: the whole record it was cut from.
        start_s: where the window starts in the record.
        warnings: what the user must know: units, missing leads, the window chosen from a longer record.
    """

    id: str
    ecg: ECG
    record: UploadedRecord
    start_s: float
    warnings: tuple[str, ...]

    @property
    def n_windows(self) -> int:
        return self.record.n_windows


def detect_units(ecg: ECG) -> tuple[str, float]:
    """The unit the values look like, judged by amplitude: ``("mV" | "uV" | "V", median peak-to-peak)``.

    The peak-to-peak range of each recorded lead is taken between its 0.5th and 99.5th percentiles (robust to a few
    spikes), and the median over leads is compared with what millivolts give (0.5-5).
    """
    ranges = []
    for row in ecg.signal_mv[np.asarray(ecg.lead_mask, bool)]:
        finite = row[np.isfinite(row)]
        if finite.size:
            lo, hi = np.percentile(finite[:: max(1, finite.size // 200_000)], [0.5, 99.5])
            ranges.append(float(hi - lo))
    p2p = float(np.median(ranges)) if ranges else 0.0
    if p2p > _UV_ABOVE:
        return "uV", p2p
    if 0 < p2p < _V_BELOW:
        return "V", p2p
    return "mV", p2p


def _declares_units(ecg: ECG) -> bool:
    """Whether the file states its unit (a WFDB header, a CSV column named ``II (uV)``)."""
    return str(ecg.meta.get("format", "")).startswith("wfdb") or bool(ecg.meta.get("units_declared"))


def _apply_units(ecg: ECG, units: str) -> tuple[ECG, str, list[str]]:
    """Rescale to mV by the chosen or detected unit; returns the ECG, the unit used and the warnings."""
    if units not in UNITS:
        raise InvalidRequestError(f"units must be one of {', '.join(UNITS)} (got {units!r})")
    likely, p2p = detect_units(ecg)
    if _declares_units(ecg):
        notes = []
        if units not in ("auto", "mV"):
            notes.append(f"The file states its units, so the Units choice ({units}) was not applied.")
        if likely != "mV":
            notes.append(
                f"Amplitudes look like {_UNIT_WORDS[likely]} (typical lead range {p2p:.4g} mV) although the file "
                "states its units; the values were kept as the file states. Check the file."
            )
        return ecg, "mV", notes
    chosen = likely if units == "auto" else units
    notes = []
    if units == "auto" and likely != "mV":
        # Not silent: the user sees what was detected and how to override it.
        notes.append(
            f"Units: the values look like {_UNIT_WORDS[likely]} (typical lead range {p2p:.4g} read as mV), so they "
            f"were read as {likely} and converted to mV. Choose Units = mV if the file really is in millivolts."
        )
    elif units != "auto" and likely != "mV" and units != likely:
        notes.append(
            f"Units: read as {_UNIT_WORDS[units]} as chosen, but the amplitudes look like {_UNIT_WORDS[likely]} "
            f"(typical lead range {p2p:.4g} read as mV)."
        )
    factor = _TO_MV[chosen]
    if factor != 1.0:
        ecg = ecg.replace(signal_mv=ecg.signal_mv * np.float32(factor))
    return ecg, chosen, notes


def lead_notes(ecg: ECG) -> list[str]:
    """A warning naming the leads that are missing or masked, if any."""
    if all(ecg.lead_mask):
        return []
    present = [n for n, ok in zip(CANONICAL_LEADS, ecg.lead_mask, strict=True) if ok]
    missing = [n for n, ok in zip(CANONICAL_LEADS, ecg.lead_mask, strict=True) if not ok]
    unusable = ecg.meta.get("unusable_leads") or {}
    why = f" ({', '.join(f'{k} {v}' for k, v in unusable.items())})" if unusable else ""
    return [
        f"Partial leads: {len(present)} of 12 ({', '.join(present)}). Missing or unusable, masked for the model: "
        f"{', '.join(missing)}{why}. {PARTIAL_LEADS_NOTE}"
    ]


def _digest(paths: Sequence[Path], options: tuple) -> str:
    h = hashlib.sha1(repr(options).encode())
    for p in sorted(paths, key=lambda q: q.name):
        h.update(p.name.encode() + b"\0")
        with p.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _link_or_copy(src: Path, dest: Path) -> None:
    """Put ``src`` at ``dest`` without copying its bytes where the file system allows."""
    try:
        os.symlink(src.resolve(), dest)
    except OSError:
        shutil.copyfile(src, dest)


def read_upload(
    paths: Sequence[str | Path],
    fs_hz: float | None = None,
    lead_names: Sequence[str] = (),
    units: str = "auto",
    *,
    max_bytes: int = UPLOAD_MAX_BYTES,
    max_values: int = MAX_DECODED_VALUES,
) -> UploadedRecord:
    """Read uploaded file(s) as one record.

    Web frameworks store each uploaded file in its own folder, so the files are first linked side by side. With a
    ``.hea`` among them, the record it describes is read; otherwise exactly one file is expected.

    Args:
        paths: the uploaded files.
        fs_hz: sampling rate for formats that store none (must be positive and finite).
        lead_names: lead names for formats that store none.
        units: ``"auto"`` (files that state no unit: detected by amplitude, with a warning when not mV), or the
            unit of the values (``"mV"``, ``"uV"``, ``"V"``).
        max_bytes: the per-file size limit.
        max_values: the decoded-size budget (samples x leads), see :data:`MAX_DECODED_VALUES`.

    Raises:
        ECGReadError: the data layer's message naming the file and the problem.
        InvalidRequestError: no file, several files that are not one WFDB record, or an unknown unit.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InvalidRequestError("no file uploaded: choose a .hea + .dat/.mat pair, a .csv, .npy or .npz file")
    if units not in UNITS:
        raise InvalidRequestError(f"units must be one of {', '.join(UNITS)} (got {units!r})")
    names = list(lead_names)
    with tempfile.TemporaryDirectory(prefix="ecg-upload-") as tmp:
        local = []
        for p in paths:
            if not p.is_file():
                raise InvalidRequestError(f"the uploaded file {p.name} is no longer on the server; upload it again")
            dest = Path(tmp) / p.name
            _link_or_copy(p, dest)
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
            target,
            fs_hz=fs_hz,
            lead_names=names or None,
            record_id=target.stem,
            max_bytes=max_bytes,
            max_values=max_values,
        )
        digest = _digest(local, (fs_hz, tuple(names), units))
    ecg, used, unit_notes = _apply_units(ecg.replace(source=target.name), units)
    if note := ecg.meta.get(UNCALIBRATED_KEY):
        if ecg.meta.get(RESTORED_KEY):
            measured = "No voltage is measured; the intervals, the rate and the frontal axis are."
        else:
            measured = "No voltage is measured, nor the frontal axis; the intervals and the rate are."
        unit_notes.append(f"{note[0].upper()}{note[1:]}. {measured}")
    return UploadedRecord(ecg, target.name, digest, tuple(unit_notes), used)


def upload_window(record: UploadedRecord, start_s: float | None = 0.0, window_s: float = WINDOW_S) -> UploadWindow:
    """The ``window_s`` window of an upload starting at ``start_s`` (clamped to the record).

    Leads that are flat or NaN inside the window are masked there. Records shorter than a window are kept whole.

    Raises:
        InvalidRequestError: ``start_s`` is not a finite number.
        ECGSignalError: no lead is usable inside the window.
    """
    ecg = record.ecg
    start_s = 0.0 if start_s is None else float(start_s)
    if not math.isfinite(start_s):
        raise InvalidRequestError(f"window start {start_s!r} is not a number of seconds")
    warnings = list(record.notes)
    if ecg.duration_s <= window_s + 1e-9:
        window, start_s = ecg, 0.0
    else:
        last_s = ecg.duration_s - window_s
        if start_s < 0 or start_s > last_s:
            warnings.append(f"Window start {start_s:g} s is outside 0-{last_s:.1f} s; showing the nearest window.")
        start_s = round(min(max(start_s, 0.0), last_s), 3)
        a = int(round(start_s * ecg.fs_hz))
        b = a + int(round(window_s * ecg.fs_hz))
        present = [i for i, ok in enumerate(ecg.lead_mask) if ok]
        meta = {k: v for k, v in ecg.meta.items() if k != "unusable_leads"}
        meta.update(window_start_s=start_s, window_duration_s=window_s, record_duration_s=ecg.duration_s)
        try:
            window = ECG.from_leads(
                ecg.signal_mv[present, a:b],
                ecg.fs_hz,
                [CANONICAL_LEADS[i] for i in present],
                record_id=f"{ecg.record_id}@{start_s:g}",
                source=ecg.source,
                meta=meta,
            )
        except ECGSignalError as exc:
            raise ECGSignalError(
                record.name, f"no usable lead in the window at {start_s:g}-{start_s + window_s:g} s; choose another"
            ) from exc
        warnings.append(
            f"Long record: {_clock(ecg.duration_s)} ({record.n_windows} windows of {window_s:g} s). Shown and scored: "
            f"{start_s:g}-{start_s + window_s:g} s; choose another start to see another window."
        )
    warnings.extend(lead_notes(window))
    return UploadWindow(f"{record.digest[:12]}@{start_s:g}", window, record, start_s, tuple(warnings))


def _clock(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m)} min {s:.0f} s" if m else f"{s:.1f} s"


class UploadCache:
    """Whole uploaded records, least recently used first out, bounded by their bytes.

    Records are found by their digest, and by the paths and options they were read from (the app deletes an
    uploaded file after reading it, but its form still holds the path when another window is asked for).
    """

    def __init__(self, max_bytes: int = CACHE_MAX_BYTES):
        self.max_bytes = max_bytes
        self._records: OrderedDict[str, UploadedRecord] = OrderedDict()
        self._by_request: dict[tuple, str] = {}
        self._lock = threading.Lock()

    def _request(self, paths, fs_hz, lead_names, units) -> tuple:
        return (tuple(str(p) for p in paths), fs_hz, tuple(lead_names), units)

    def read(
        self,
        paths: Sequence[str | Path],
        fs_hz: float | None = None,
        lead_names: Sequence[str] = (),
        units: str = "auto",
    ) -> UploadedRecord:
        """The record for these files and options: from the cache when already read, else :func:`read_upload`."""
        request = self._request(paths, fs_hz, lead_names, units)
        with self._lock:
            digest = self._by_request.get(request)
            if digest in self._records:
                self._records.move_to_end(digest)
                return self._records[digest]
        record = read_upload(paths, fs_hz, lead_names, units)
        size = record.ecg.signal_mv.nbytes
        with self._lock:
            self._records[record.digest] = record
            self._by_request[request] = record.digest
            while len(self._records) > 1 and sum(r.ecg.signal_mv.nbytes for r in self._records.values()) > max(
                self.max_bytes, size
            ):
                old, _ = self._records.popitem(last=False)
                self._by_request = {k: v for k, v in self._by_request.items() if v != old}
        return record
