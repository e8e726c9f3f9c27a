"""QRS amplitudes per lead, voltage criteria and the frontal QRS axis, measured inside the global QRS windows.

Per lead and beat the level just before the QRS onset (the PR segment, 20 ms) is the baseline; R is the highest
point above it, S the deepest below it, and the peak-to-peak amplitude their sum. Per lead, the median over beats.

* Low QRS voltage: peak-to-peak < 0.5 mV in every limb lead, or < 1.0 mV in every precordial lead.
* Sokolow-Lyon index: S in V1 + the larger R of V5 and V6 (>= 3.5 mV is the classic LVH voltage criterion;
  Sokolow & Lyon, Am Heart J 1949).
* Cornell voltage: R in aVL + S in V3 (LVH over 2.8 mV in men, 2.0 mV in women; Casale et al., Circulation 1987).
  The measurement keeps no sex; the plausibility benchmark applies the sex's limit.
* Frontal axis (v2.10): the hexaxial angle of lead I and aVF, atan2(2 aVF / sqrt(3), I) (aVF sees the frontal vector
  at sqrt(3)/2 of lead I's scale: aVF = (II + III) / 2; v2.9 and before used atan2(aVF, I), which pulls every angle
  towards 0° or ±90°, e.g. -30° read as -27°). Of each lead it takes the net QRS area, or, when the QRS is wide
  (>= 120 ms), the dominant deflection R - |S|: the slow terminal forces of a bundle branch block fill the area (the
  broad S waves of a right bundle branch block with left anterior fascicular block, training record ``ptbxl/00424``,
  put its area axis at -132°, "extreme", where the deflections say -70°, the left axis deviation its report
  states). I and aVF are derived from II and III when missing (Einthoven/Goldberger:
  I = II - III, aVF = (II + III) / 2).

  Chosen on training records (PTB-XL folds 1-6, confirmed on folds 7-8; a one-off script over the plausibility
  runner): `ptbxl_more` folds 1-6, LAFB read left of -30° 79 % -> 89 %, LAD 76 % -> 89 %, complete RBBB without a
  fascicular block or axis label read normal 29 % -> 64 %, NORM outside -30°..+90° 3.7 % -> 4.7 %; folds 7-8 LAFB
  81 % -> 92 %, LAD 83 % -> 90 %, NORM 2.2 % -> 2.2 %; CinC training complete RBBB normal 2 -> 10 of 10; LUDB training
  LAFB 3 -> 5 of 7. The area alone with the scale fixed gave LAFB 88 %, CRBBB normal 29 %; the deflections alone
  LAFB 78 %, NORM 1.9 %.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps

from core.data.filters import butter_sos
from core.ecg import ECG
from core.leads import CANONICAL_LEADS, LEAD_INDEX

LIMB_LEADS = CANONICAL_LEADS[:6]
PRECORDIAL_LEADS = CANONICAL_LEADS[6:]
LOW_VOLTAGE_LIMB_MV = 0.5
LOW_VOLTAGE_PRECORDIAL_MV = 1.0
WIDE_QRS_MS = 120.0  # bundle-branch-block threshold: the axis is then read from deflections, QT with the width in mind
_BASELINE_S = 0.02
_AVF_SCALE = 2.0 / math.sqrt(3.0)  # aVF = (sqrt(3)/2) |frontal vector| sin(angle), lead I = |vector| cos(angle)


def highpassed(ecg: ECG) -> np.ndarray:
    """Signal (12, samples) with baseline wander removed (0.5 Hz zero-phase high-pass); NaN -> 0."""
    x = np.nan_to_num(np.asarray(ecg.signal_mv, dtype=np.float64))
    return sps.sosfiltfilt(butter_sos(2, 0.5, ecg.fs_hz, "high"), x, axis=-1) if x.shape[-1] > 15 else x


def qrs_amplitudes(ecg: ECG, windows_s: list[tuple[float, float]]) -> dict[str, dict[str, float]]:
    """Per present lead: median ``r_mv``, ``s_mv`` and ``p2p_mv`` over the QRS windows (seconds)."""
    present = [LEAD_INDEX[name] for name in ecg.present_leads]
    x = highpassed(ecg)[present]
    fs = ecg.fs_hz
    pre = max(1, int(round(_BASELINE_S * fs)))
    r, s = [], []
    for on_s, off_s in windows_s:
        a, b = int(round(on_s * fs)), int(round(off_s * fs)) + 1
        if a - pre < 0 or b > x.shape[1] or b <= a:
            continue
        seg = x[:, a:b] - np.median(x[:, a - pre : a], axis=1, keepdims=True)
        r.append(np.maximum(seg.max(axis=1), 0.0))
        s.append(np.maximum(-seg.min(axis=1), 0.0))
    if not r:
        return {}
    r_med, s_med = np.median(np.stack(r), axis=0), np.median(np.stack(s), axis=0)
    return {
        name: {"r_mv": round(float(rm), 3), "s_mv": round(float(sm), 3), "p2p_mv": round(float(rm + sm), 3)}
        for name, rm, sm in zip(ecg.present_leads, r_med, s_med, strict=True)
    }


def voltage_summary(per_lead: dict[str, dict[str, float]]) -> dict[str, float | bool | None]:
    """Largest limb and precordial peak-to-peak amplitude, Sokolow-Lyon index, Cornell voltage and low voltage (None:
    not enough leads to tell)."""
    limb = [per_lead[n]["p2p_mv"] for n in LIMB_LEADS if n in per_lead]
    prec = [per_lead[n]["p2p_mv"] for n in PRECORDIAL_LEADS if n in per_lead]
    limb_max = max(limb) if limb else None
    prec_max = max(prec) if prec else None
    sokolow = None
    if "V1" in per_lead and ("V5" in per_lead or "V6" in per_lead):
        r_lateral = max(per_lead[n]["r_mv"] for n in ("V5", "V6") if n in per_lead)
        sokolow = round(per_lead["V1"]["s_mv"] + r_lateral, 3)
    cornell = None
    if "aVL" in per_lead and "V3" in per_lead:
        cornell = round(per_lead["aVL"]["r_mv"] + per_lead["V3"]["s_mv"], 3)
    low = None
    if len(limb) == len(LIMB_LEADS) or len(prec) == len(PRECORDIAL_LEADS):
        low_limb = len(limb) == len(LIMB_LEADS) and limb_max < LOW_VOLTAGE_LIMB_MV
        low_prec = len(prec) == len(PRECORDIAL_LEADS) and prec_max < LOW_VOLTAGE_PRECORDIAL_MV
        low = bool(low_limb or low_prec)
    return {
        "limb_qrs_amplitude_mv": limb_max,
        "precordial_qrs_amplitude_mv": prec_max,
        "sokolow_lyon_mv": sokolow,
        "cornell_mv": cornell,
        "low_voltage": low,
    }


# Below this, V1's QRS is too small for its R/S ratio to mean anything; S is floored so a pure R gives a number.
V1_MIN_QRS_MV = 0.05
V1_S_FLOOR_MV = 0.02


def v1_r_to_s(per_lead: dict[str, dict[str, float]]) -> tuple[float | None, str | None]:
    """V1's R/S amplitude ratio (largest upward over largest downward QRS deflection), with the reason when there is
    none. A ratio of two deflections of one lead, so it holds where the file's millivolts do not (LUDB)."""
    v1 = per_lead.get("V1")
    if not v1 or v1.get("r_mv") is None or v1.get("s_mv") is None:
        return None, "needs lead V1 and a delineated QRS"
    r, s = v1["r_mv"], v1["s_mv"]
    if max(r, s) < V1_MIN_QRS_MV:
        return None, f"V1's QRS is under {V1_MIN_QRS_MV} mV either way"
    return round(r / max(s, V1_S_FLOOR_MV), 2), None


def _frontal_leads(ecg: ECG) -> tuple[np.ndarray, np.ndarray] | None:
    """Leads I and aVF (mV), derived from II and III when missing; None when neither way works."""
    has = {name: bool(ecg.lead_mask[LEAD_INDEX[name]]) for name in ("I", "II", "III", "aVF")}
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
    """Frontal QRS axis (degrees) over the given QRS windows (seconds): net areas of I and aVF, or their dominant
    deflections when the QRS is wide (module docstring); None if undefined."""
    leads = _frontal_leads(ecg)
    if leads is None or not qrs_windows_s:
        return None
    fs = ecg.fs_hz
    pre = max(1, int(round(_BASELINE_S * fs)))
    areas, deflections, widths_s = np.zeros(2), np.zeros(2), []
    for on_s, off_s in qrs_windows_s:
        a, b = int(round(on_s * fs)), int(round(off_s * fs)) + 1
        if a - pre < 0 or b > ecg.n_samples or b <= a:
            continue
        widths_s.append(off_s - on_s)
        for i, lead in enumerate(leads):
            seg = lead[a:b] - float(np.nanmedian(lead[a - pre : a]))
            areas[i] += float(np.nansum(seg))
            deflections[i] += float(np.nanmax(seg)) + float(np.nanmin(seg))  # R - |S|
    if not widths_s:
        return None
    wide = 1000.0 * float(np.median(widths_s)) >= WIDE_QRS_MS
    lead_i, avf = deflections if wide else areas
    if lead_i == 0.0 and avf == 0.0:
        return None
    return float(math.degrees(math.atan2(avf * _AVF_SCALE, lead_i)))
