"""Which beats count, how far each interval can be trusted, and which values cannot be real.

A 12-lead machine measures the dominant beat: ectopic beats and beats the delineator could not follow are left out.
Here a beat is *used* when its QRS is whole (not cut by the record's edge) and its duration is within
:data:`EXCLUDE_QRS_DEVIATION_MS` of the median beat (a premature ventricular beat or a merged/split complex is
not); with the signal, beats :mod:`core.measure.ectopy` calls premature ventricular are left out too (v2.13). Each
interval is the median over the used beats where it could be delineated, with a confidence in [0, 1]:

    confidence = coverage x consistency
    coverage    = beats with the interval / used beats
    consistency = 1 - IQR over beats / (2 x tolerance), clipped to [0, 1]

A value below :data:`MIN_CONFIDENCE`, measured on fewer than :data:`MIN_BEATS` beats, outside the physiological
range, or contradicted by another value (a QTc over 620 ms or a QT longer than the RR interval: a missed T-wave
offset) is reported as missing, with the reason, never as a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.measure.waves import Beat

EXCLUDE_QRS_DEVIATION_MS = 40.0
MIN_BEATS = 2
MIN_CONFIDENCE = 0.3
# Beat-to-beat spread (ms) at which consistency halves; about twice the delineator's own boundary error.
TOLERANCE_MS = {"pr_ms": 40.0, "qrs_ms": 30.0, "qt_ms": 60.0}
# Physiological ranges; a value outside is a delineation failure.
RANGES = {
    "hr_bpm": (20.0, 300.0),
    "pr_ms": (60.0, 500.0),
    "qrs_ms": (40.0, 250.0),
    "qt_ms": (200.0, 700.0),
}
QTC_PLAUSIBLE_MS = (300.0, 620.0)


@dataclass(frozen=True)
class Estimate:
    """One measured value: ``value`` is None when it is not reliable, and ``reason`` says why."""

    value: float | None
    confidence: float
    reason: str | None = None


def used_beats(beats: list[Beat], fs_hz: float) -> list[bool]:
    """Per beat, whether it counts for the intervals (whole QRS, duration near the median beat's)."""
    whole = [b.qrs_on >= 0 for b in beats]
    durations = np.array(
        [(b.qrs_off - b.qrs_on + 1) * 1000.0 / fs_hz for b, ok in zip(beats, whole, strict=True) if ok]
    )
    if durations.size < 3:
        return whole
    median = float(np.median(durations))
    return [
        ok and abs((b.qrs_off - b.qrs_on + 1) * 1000.0 / fs_hz - median) <= EXCLUDE_QRS_DEVIATION_MS
        for b, ok in zip(beats, whole, strict=True)
    ]


def interval_values(beats: list[Beat], used: list[bool], fs_hz: float) -> dict[str, list[float]]:
    """Per-beat PR, QRS and QT (ms) of the used beats (a beat without a P or T wave adds no PR or QT)."""
    ms = 1000.0 / fs_hz
    chosen = [b for b, ok in zip(beats, used, strict=True) if ok]
    return {
        "qrs_ms": [(b.qrs_off - b.qrs_on + 1) * ms for b in chosen],
        "pr_ms": [(b.qrs_on - b.p_on) * ms for b in chosen if b.p_on is not None],
        "qt_ms": [(b.t_off - b.qrs_on + 1) * ms for b in chosen if b.t_off is not None],
    }


# What a beat needs for each interval, named in the reason when too few beats have it.
_DELINEATED = {"pr_ms": "P wave", "qrs_ms": "QRS with both boundaries", "qt_ms": "T-wave end"}


def too_few_beats(name: str, counted: int, n_used: int) -> str:
    """Why an interval is missing when too few beats have what it needs, naming the wave (not "too few beats",
    which reads as if the recording were short; "PR delineated in 0 of 27 beats" read as a failure of the tool
    on atrial fibrillation, where there is no P wave to find)."""
    wave = _DELINEATED[name]
    if counted == 0:
        return f"no {wave} found in any of the {n_used} beats"
    return f"a {wave} found in only {counted} of {n_used} beats"


def estimate(name: str, values: list[float], n_used: int) -> Estimate:
    """Median, confidence and (when unreliable) the reason, for one interval over beats."""
    label = name.removesuffix("_ms").upper()
    if len(values) < MIN_BEATS:
        return Estimate(None, 0.0, f"{label} not measurable: {too_few_beats(name, len(values), n_used)}")
    arr = np.asarray(values, dtype=float)
    median = float(np.median(arr))
    iqr = float(np.subtract(*np.percentile(arr, [75, 25])))
    coverage = len(values) / max(n_used, 1)
    consistency = float(np.clip(1.0 - iqr / (2.0 * TOLERANCE_MS[name]), 0.0, 1.0))
    confidence = round(coverage * consistency, 2)
    lo, hi = RANGES[name]
    if not lo <= median <= hi:
        return Estimate(None, confidence, f"{label} {median:.0f} ms is outside {lo:.0f}-{hi:.0f} ms")
    if confidence < MIN_CONFIDENCE:
        if consistency < 0.6:
            why = f"boundaries disagree between beats (IQR {iqr:.0f} ms, {len(values)} of {n_used} beats)"
        else:
            why = too_few_beats(name, len(values), n_used)
        return Estimate(None, confidence, f"{label} unreliable: {why}")
    return Estimate(median, confidence)


def heart_rate(rr_ms: np.ndarray) -> Estimate:
    """Heart rate from RR intervals (60 000 / mean RR); confidence grows with the number of intervals."""
    if rr_ms.size == 0:
        return Estimate(None, 0.0, "fewer than two QRS complexes found")
    hr = 60_000.0 / float(rr_ms.mean())
    lo, hi = RANGES["hr_bpm"]
    if not lo <= hr <= hi:
        return Estimate(None, 0.0, f"heart rate {hr:.0f} bpm is outside {lo:.0f}-{hi:.0f} bpm")
    return Estimate(hr, round(min(1.0, rr_ms.size / 4.0), 2))


def check_qt(qt: Estimate, rr_ms: float | None) -> Estimate:
    """Reject a QT that contradicts the rhythm: longer than the RR interval, or a Bazett QTc outside 300-620 ms."""
    if qt.value is None or not rr_ms:
        return qt
    if qt.value >= rr_ms:
        return Estimate(None, qt.confidence, f"QT {qt.value:.0f} ms is not shorter than RR {rr_ms:.0f} ms")
    qtc = qt.value / math.sqrt(rr_ms / 1000.0)
    lo, hi = QTC_PLAUSIBLE_MS
    if not lo <= qtc <= hi:
        return Estimate(None, qt.confidence, f"implausible QTc {qtc:.0f} ms (T-wave offset probably missed)")
    return qt
