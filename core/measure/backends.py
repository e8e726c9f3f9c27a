"""Measurement backends with one signature, ``measure(ecg) -> Measurements``, so they compare on the same records.

* ``own``: the product, :func:`core.measure.measure_ecg` (12-lead U-Net delineator).
* ``neurokit``: neurokit2's DWT delineation of lead II (``nk.ecg_delineate(method="dwt")``), measured with the
  same interval definitions as ``own`` (global masks -> :func:`core.measure.measurements.measurements_from_masks`).
* ``openecg``: openecg's pretrained P/QRS/T frame segmenter on lead II (``openecg.report``), used as-is: PR, QRS and
  QT from ``report.intervals_ms``, heart rate and RR variation from ``report.heart_rate``. Its codec runs natively at
  500 Hz, so other rates are resampled first.

Single-lead backends give no frontal axis and no amplitude fields (``None``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from core.ecg import ECG
from core.measure.measurements import IRREGULAR_RR_CV, Measurements

BACKENDS: tuple[str, ...] = ("own", "neurokit", "openecg")
OPENECG_FS_HZ = 500
RHYTHM_LEAD = "II"


def backend_version(name: str) -> str:
    """What produced a backend's numbers (library version), for cache keys and reports."""
    if name == "neurokit":
        import neurokit2

        return f"neurokit2-{neurokit2.__version__}"
    if name == "openecg":
        import openecg

        return f"openecg-{openecg.__version__}"
    if name == "own":
        return "own"
    raise ValueError(f"unknown backend {name!r}; use one of {BACKENDS}")


def get_backend(name: str) -> Callable[[ECG], Measurements]:
    """The measuring function of a backend (``own``, ``neurokit`` or ``openecg``)."""
    if name == "own":
        from core.measure import measure_ecg

        return measure_ecg
    if name == "neurokit":
        return measure_neurokit
    if name == "openecg":
        return measure_openecg
    raise ValueError(f"unknown backend {name!r}; use one of {BACKENDS}")


def _rhythm_lead(ecg: ECG) -> np.ndarray | None:
    """Lead II in mV (float64), or None when it was not recorded."""
    from core.leads import LEAD_INDEX

    if not ecg.lead_mask[LEAD_INDEX[RHYTHM_LEAD]]:
        return None
    return np.nan_to_num(np.asarray(ecg.lead(RHYTHM_LEAD), dtype=np.float64))


def neurokit_masks(lead_mv: np.ndarray, fs_hz: float) -> np.ndarray:
    """Global P/QRS/T masks (3, samples) from neurokit2's DWT delineation of one lead."""
    import neurokit2 as nk

    fs = int(round(fs_hz))
    clean = nk.ecg_clean(lead_mv, sampling_rate=fs)
    _, peaks = nk.ecg_peaks(clean, sampling_rate=fs)
    _, waves = nk.ecg_delineate(clean, peaks, sampling_rate=fs, method="dwt")
    masks = np.zeros((3, lead_mv.size), dtype=bool)
    for row, (on_key, off_key) in enumerate(
        (("ECG_P_Onsets", "ECG_P_Offsets"), ("ECG_R_Onsets", "ECG_R_Offsets"), ("ECG_T_Onsets", "ECG_T_Offsets"))
    ):
        for on, off in zip(waves.get(on_key, []), waves.get(off_key, []), strict=False):
            if on is not None and off is not None and not (math.isnan(on) or math.isnan(off)) and off > on:
                masks[row, int(on) : int(off) + 1] = True
    return masks


def measure_neurokit(ecg: ECG) -> Measurements:
    """neurokit2 DWT delineation of lead II, measured like ``own``; empty Measurements when neurokit2 fails."""
    from core.measure.measurements import measurements_from_masks

    lead = _rhythm_lead(ecg)
    if lead is None:
        return Measurements()
    try:
        masks = neurokit_masks(lead, ecg.fs_hz)
    except (ValueError, IndexError, ZeroDivisionError, TypeError, KeyError):
        # neurokit2 raises these on flat or very noisy strips (too few peaks for its DWT); a failed measurement.
        return Measurements()
    return measurements_from_masks(masks, ecg.fs_hz, ecg=ecg)


def resample_to(lead: np.ndarray, fs_hz: float, target_hz: float) -> np.ndarray:
    """Polyphase resampling of one lead (no-op at the target rate)."""
    from scipy.signal import resample_poly

    if abs(fs_hz - target_hz) < 1e-6:
        return lead
    ratio = Fraction(target_hz / fs_hz).limit_denominator(1000)
    return resample_poly(lead, ratio.numerator, ratio.denominator)


def measure_openecg(ecg: ECG) -> Measurements:
    """openecg's report of lead II at 500 Hz, as :class:`Measurements` (QTc by Bazett from its QT and mean RR)."""
    import openecg

    lead = _rhythm_lead(ecg)
    if lead is None:
        return Measurements()
    rep = openecg.report(resample_to(lead, ecg.fs_hz, OPENECG_FS_HZ), fs=OPENECG_FS_HZ)
    hr = rep.heart_rate
    intervals = rep.intervals_ms or {}
    bpm = float(hr.get("bpm") or 0.0) or None
    rr_ms = float(hr.get("rr_mean_ms") or 0.0) or None
    cv = float(hr["rr_cv"]) if bpm is not None and hr.get("rr_cv") is not None else None
    qt = intervals.get("qt")
    rr_s = rr_ms / 1000.0 if rr_ms else None
    return Measurements(
        hr_bpm=bpm,
        rr_irregularity=cv,
        irregular=None if cv is None else bool(cv > IRREGULAR_RR_CV),
        pr_ms=intervals.get("pr"),
        qrs_ms=intervals.get("qrs_duration"),
        qt_ms=qt,
        qtc_ms=qt / math.sqrt(rr_s) if (qt is not None and rr_s) else None,
        qtc_fridericia_ms=qt / rr_s ** (1.0 / 3.0) if (qt is not None and rr_s) else None,
        n_beats=int(rep.beats.get("count", 0)),
        leads_used=(RHYTHM_LEAD,),
    )
