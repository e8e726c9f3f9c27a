"""Waveform measurements of a 12-lead ECG, measured from the signal, and their English sentence.

:func:`measure_ecg` runs the U-Net delineator (:mod:`core.measure.delineator`) on every recorded lead, combines the
per-lead P/QRS/T labels into global waves (a sample is in a wave when enough leads agree), and measures intervals with
the definitions of :mod:`core.measure.waves` (the same code that turns LUDB's manual annotations into the reference).

Definitions:

* ``hr_bpm``: 60 000 / mean RR (ms) over the strip.
* ``rr_irregularity``: coefficient of variation of RR (std / mean). ``irregular`` is True when it exceeds
  :data:`IRREGULAR_RR_CV` (0.12): sinus arrhythmia in a 10-second strip usually stays below it, atrial fibrillation
  is usually well above it. ``rmssd_ms`` is the root mean square of successive RR differences.
* ``pr_ms``, ``qrs_ms``, ``qt_ms``: medians over beats of P onset -> QRS onset, QRS onset -> QRS offset and
  QRS onset -> T offset, with onsets and offsets taken over all leads (earliest onset, latest offset).
* ``qtc_ms``: Bazett's correction QT / sqrt(RR in s); ``qtc_fridericia_ms``: QT / cbrt(RR in s).
* ``axis_deg``: frontal QRS axis, atan2(net QRS area in aVF, net QRS area in I) in degrees (-180, 180], the areas
  summed over the global QRS windows after subtracting the level just before each QRS. Lead I and aVF are
  derived from II and III (Einthoven/Goldberger: I = II - III, aVF = (II + III) / 2) when missing.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core.ecg import ECG
from core.leads import LEAD_INDEX
from core.measure.waves import QRS_ROW, beats_from_masks, runs, summarize_beats

IRREGULAR_RR_CV = 0.12
# Physiological ranges; a value outside is a measurement failure and is reported as None.
_RANGES = {
    "hr_bpm": (20.0, 300.0),
    "pr_ms": (60.0, 500.0),
    "qrs_ms": (40.0, 250.0),
    "qt_ms": (200.0, 700.0),
}


@dataclass(frozen=True)
class Measurements:
    """Global ECG measurements; any field is ``None`` when it could not be measured.

    Attributes:
        hr_bpm: heart rate (60 000 / mean RR).
        rr_irregularity: coefficient of variation of RR intervals.
        irregular: rr_irregularity above :data:`IRREGULAR_RR_CV`.
        rmssd_ms: root mean square of successive RR differences.
        pr_ms: PR interval (P onset to QRS onset).
        qrs_ms: QRS duration.
        qt_ms: QT interval (QRS onset to T offset).
        qtc_ms: QT corrected with Bazett's formula.
        qtc_fridericia_ms: QT corrected with Fridericia's formula.
        axis_deg: frontal QRS axis in degrees.
        n_beats: QRS complexes found.
        leads_used: leads the measurements were made on.
    """

    hr_bpm: float | None = None
    rr_irregularity: float | None = None
    irregular: bool | None = None
    rmssd_ms: float | None = None
    pr_ms: float | None = None
    qrs_ms: float | None = None
    qt_ms: float | None = None
    qtc_ms: float | None = None
    qtc_fridericia_ms: float | None = None
    axis_deg: float | None = None
    n_beats: int = 0
    leads_used: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (lead names as a list)."""
        out = asdict(self)
        out["leads_used"] = list(self.leads_used)
        return out

    def to_sentence(self) -> str:
        """An English sentence to append to a report, e.g.

        ``"Heart rate 72 bpm, regular rhythm. PR interval 160 ms, QRS duration 92 ms, QT/QTc 380/410 ms (Bazett),
        frontal QRS axis +45° (normal)."``  Parts that could not be measured are left out.
        """
        first = []
        if self.hr_bpm is not None:
            first.append(f"Heart rate {self.hr_bpm:.0f} bpm")
        if self.irregular is not None:
            first.append("irregular rhythm" if self.irregular else "regular rhythm")
        second = []
        if self.pr_ms is not None:
            second.append(f"PR interval {self.pr_ms:.0f} ms")
        if self.qrs_ms is not None:
            second.append(f"QRS duration {self.qrs_ms:.0f} ms")
        if self.qt_ms is not None and self.qtc_ms is not None:
            second.append(f"QT/QTc {self.qt_ms:.0f}/{self.qtc_ms:.0f} ms (Bazett)")
        elif self.qt_ms is not None:
            second.append(f"QT {self.qt_ms:.0f} ms")
        if self.axis_deg is not None:
            second.append(f"frontal QRS axis {self.axis_deg:+.0f}° ({axis_category(self.axis_deg)})")
        parts = [", ".join(first), ", ".join(second)]
        parts = [p[0].upper() + p[1:] + "." for p in parts if p]
        return " ".join(parts) if parts else "No waveform measurements could be made."


def axis_category(axis_deg: float) -> str:
    """Adult frontal-axis category: normal (-30° to +90°), left/right axis deviation, or extreme axis."""
    if -30.0 <= axis_deg <= 90.0:
        return "normal"
    if -90.0 <= axis_deg < -30.0:
        return "left axis deviation"
    if 90.0 < axis_deg <= 180.0:
        return "right axis deviation"
    return "extreme axis deviation"


def _in_range(name: str, value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    lo, hi = _RANGES.get(name, (-math.inf, math.inf))
    return value if lo <= value <= hi else None


def _frontal_leads(ecg: ECG) -> tuple[np.ndarray, np.ndarray] | None:
    """Leads I and aVF (mV), derived from II and III when missing; None when neither way works."""
    has = {name: bool(ecg.lead_mask[LEAD_INDEX[name]]) for name in ("I", "II", "III", "aVF", "aVL")}
    lead_i = ecg.lead("I") if has["I"] else None
    avf = ecg.lead("aVF") if has["aVF"] else None
    if lead_i is None and has["II"] and has["III"]:
        lead_i = ecg.lead("II") - ecg.lead("III")
    if avf is None and has["II"] and has["III"]:
        avf = (ecg.lead("II") + ecg.lead("III")) / 2.0
    if avf is None and lead_i is not None and has["II"]:
        avf = ecg.lead("II") - lead_i / 2.0  # aVF = II - I/2
    if lead_i is None or avf is None:
        return None
    return np.asarray(lead_i, dtype=np.float64), np.asarray(avf, dtype=np.float64)


def frontal_axis_deg(ecg: ECG, qrs_windows_s: list[tuple[float, float]]) -> float | None:
    """Frontal QRS axis from net QRS areas in I and aVF over the given QRS windows (seconds); None if undefined."""
    leads = _frontal_leads(ecg)
    if leads is None or not qrs_windows_s:
        return None
    fs = ecg.fs_hz
    pre = max(1, int(round(0.02 * fs)))
    areas = np.zeros(2)
    for on_s, off_s in qrs_windows_s:
        a, b = int(round(on_s * fs)), int(round(off_s * fs)) + 1
        if a - pre < 0 or b > ecg.n_samples:
            continue
        for i, lead in enumerate(leads):
            base = float(np.nanmedian(lead[a - pre : a]))
            areas[i] += float(np.nansum(lead[a:b] - base))
    if not np.any(areas):
        return None
    return float(math.degrees(math.atan2(areas[1], areas[0])))


def measure_ecg(ecg: ECG, *, weights: str | None = None) -> Measurements:
    """Measure HR, RR irregularity, PR, QRS, QT/QTc and frontal axis of an ECG.

    Works at any sampling rate (inputs are resampled to the delineator's 250 Hz) and with any subset of leads
    (fields that need missing information are ``None``). Takes well under a second on a CPU.

    Args:
        ecg: the ECG; only rows where ``lead_mask`` is True are used.
        weights: delineator weights file in the checkpoint folder (default ``model.safetensors``).

    Raises:
        FileNotFoundError: the delineator checkpoint is missing.
    """
    from core.measure.delineator import FINAL_WEIGHTS, load_delineator

    delineator = load_delineator(None, weights or FINAL_WEIGHTS)
    present = np.flatnonzero(ecg.lead_mask)
    if present.size == 0 or ecg.duration_s < 1.0:
        return Measurements()
    masks = delineator.global_masks(ecg.signal_mv[present], ecg.fs_hz)
    return measurements_from_masks(masks, delineator.cfg.fs_hz, ecg=ecg)


def measurements_from_masks(masks: np.ndarray, fs_hz: float, *, ecg: ECG | None = None) -> Measurements:
    """Measurements from global P/QRS/T masks (3, samples) at ``fs_hz``; ``ecg`` (optional) gives the axis."""
    beats = beats_from_masks(masks)
    stats = summarize_beats(beats, fs_hz)
    hr = _in_range("hr_bpm", stats["hr_bpm"])
    pr = _in_range("pr_ms", stats["pr_ms"])
    qrs = _in_range("qrs_ms", stats["qrs_ms"])
    qt = _in_range("qt_ms", stats["qt_ms"])
    rr_s = stats["rr_ms"] / 1000.0 if (stats["rr_ms"] and hr is not None) else None
    cv = stats["rr_cv"]
    axis = None
    if ecg is not None:
        windows = [(a / fs_hz, b / fs_hz) for a, b in runs(masks[QRS_ROW])]
        axis = frontal_axis_deg(ecg, windows)
    return Measurements(
        hr_bpm=hr,
        rr_irregularity=cv,
        irregular=None if cv is None else bool(cv > IRREGULAR_RR_CV),
        rmssd_ms=stats["rmssd_ms"],
        pr_ms=pr,
        qrs_ms=qrs,
        qt_ms=qt,
        qtc_ms=qt / math.sqrt(rr_s) if (qt is not None and rr_s) else None,
        qtc_fridericia_ms=qt / rr_s ** (1.0 / 3.0) if (qt is not None and rr_s) else None,
        axis_deg=axis,
        n_beats=len(beats),
        leads_used=ecg.present_leads if ecg is not None else (),
    )
