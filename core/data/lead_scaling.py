"""Leads stored with scales of their own: found, and undone as far as the file allows.

Why: the LUDB 1.0.1 files (as published: they pass the database's ``SHA256SUMS.txt``) give every lead of every
record the gain that maps its samples to exactly 1 mV peak to peak (each lead's gain equals its range of digital
counts, in all 200 records). Read as millivolts, every lead looks equally tall, lead III is no longer II - I
(record 1: III = 0.98 II - 1.40 I), the frontal axis computed from I and aVF is wrong, and every voltage
(Sokolow-Lyon, low voltage, per-lead R and S) is a number about nothing.

Two ways back:

* **WFDB, gains equal to the digital ranges** (:func:`undo_range_gains`): the digital counts themselves were
  recorded with one gain; reading every lead with one shared gain (the geometric mean of the stored ones, to stay
  near the stored size) restores all twelve leads' relative sizes. Checked on LUDB: III = II - I again on all 200
  records (worst residual 1.2e-7 of lead III; as stored: median 56 %, 0.9-270 %).
* **Any format** (:func:`undo_independent_scaling`): the six limb leads obey exact linear laws (Einthoven's and
  Goldberger's) whatever the patient::

      III = II - I        aVR = -(I + II) / 2        aVL = I - II / 2        aVF = II - I / 2

  Limb leads that break them, but obey them once each is multiplied by a factor, had scales of their own; the
  factors are found by least squares (lead I's fixed to 1; then scaled to a geometric mean of 1). On LUDB these
  factors are proportional to the header gains within 0.7 %, which is how the first way was found. The chest leads'
  sizes stay unknown this way.

Either way the absolute size is lost: the ECG's ``meta`` says so (:data:`UNCALIBRATED_KEY`) and no voltage is
measured; the frontal axis, a ratio of limb-lead areas, is measured when the limb leads' relative sizes were restored
(:data:`RESTORED_KEY`). A recording whose limb leads obey the laws as stored (every other dataset here: PTB-XL,
CinC-2021, SPH; residual 0.2-0.8 % of the signal, from quantisation) is returned unchanged.
"""

from __future__ import annotations

import numpy as np

from core.ecg import ECG
from core.leads import LEAD_INDEX

UNCALIBRATED_KEY = "amplitudes_uncalibrated"  # meta: why the millivolt values are not the recorded ones
RESTORED_KEY = "relative_sizes_restored"  # meta: which leads' relative sizes were restored ("all" or "limb")

# Each law as coefficients that sum the leads to zero: III - II + I = 0, and so on.
LIMB_LAWS: tuple[dict[str, float], ...] = (
    {"III": 1.0, "II": -1.0, "I": 1.0},
    {"aVR": 1.0, "I": 0.5, "II": 0.5},
    {"aVL": 1.0, "I": -1.0, "II": 0.5},
    {"aVF": 1.0, "II": -1.0, "I": 0.5},
)
# Share of the limb signal the laws may leave unexplained as stored (quantisation and filtering: 0.2-0.8 % measured
# on PTB-XL, CinC-2021 and SPH) ...
LAWS_HOLD = 0.05
# ... and after rescaling, for the rescaling to be believed (LUDB: under 1e-6).
LAWS_RESTORED = 0.01
# Peak-to-peak ranges of all leads within this ratio of each other: stored scaled to one range (LUDB: exactly 1 mV).
EQUAL_RANGE_RATIO = 1.005


def _law_residual(x: dict[str, np.ndarray], gains: dict[str, float], laws: list[dict[str, float]]) -> float:
    """RMS of the laws' sums relative to the RMS of the leads in them, with the leads multiplied by ``gains``."""
    sums = [sum(c * gains[k] * x[k] for k, c in law.items()) for law in laws]
    scale = np.sqrt(np.mean([np.mean((gains[k] * x[k]) ** 2) for k in x]))
    return float(np.sqrt(np.mean(np.square(sums))) / scale) if scale > 0 else 0.0


def limb_lead_gains(signal_mv: np.ndarray, lead_mask: np.ndarray) -> dict[str, float] | None:
    """Factors that make the stored limb leads obey the limb-lead laws, or None when there is nothing to undo.

    Args:
        signal_mv: (12, samples) in canonical lead order.
        lead_mask: which rows were recorded.

    Returns:
        Lead name -> factor (geometric mean 1) for the limb leads in the laws used; None when the leads obey the
        laws as stored, when I, II and one more limb lead are not all present, or when no positive factors make
        the laws hold (limb leads recorded independently, not derived: then nothing is known to be wrong).
    """
    present = {name for name, i in LEAD_INDEX.items() if lead_mask[i]}
    laws = [law for law in LIMB_LAWS if set(law) <= present]
    if not laws:
        return None
    names = sorted({k for law in laws for k in law}, key=LEAD_INDEX.get)
    rows = signal_mv[[LEAD_INDEX[k] for k in names]].astype(np.float64)
    rows = rows[:, np.isfinite(rows).all(axis=0)]  # a gap (NaN) in one lead leaves that instant out
    if rows.shape[1] < 3 * len(names):
        return None
    rows -= rows.mean(axis=1, keepdims=True)  # the laws hold for the signals, not for any offset stored
    x = dict(zip(names, rows, strict=True))
    if _law_residual(x, dict.fromkeys(names, 1.0), laws) <= LAWS_HOLD:
        return None
    unknown = [k for k in names if k != "I"]
    # One block of rows per law: sum_k c_k g_k x_k = 0, with g_I = 1 moved to the right-hand side.
    a = np.zeros((len(laws) * len(x["I"]), len(unknown)))
    b = np.zeros(len(laws) * len(x["I"]))
    for row, law in enumerate(laws):
        block = slice(row * len(x["I"]), (row + 1) * len(x["I"]))
        for k, c in law.items():
            if k == "I":
                b[block] = -c * x["I"]
            else:
                a[block, unknown.index(k)] = c * x[k]
    solved, *_ = np.linalg.lstsq(a, b, rcond=None)
    gains = {"I": 1.0, **{k: float(g) for k, g in zip(unknown, solved, strict=True)}}
    if min(gains.values()) <= 0 or _law_residual(x, gains, laws) > LAWS_RESTORED:
        return None
    centre = float(np.exp(np.mean(np.log(list(gains.values())))))
    return {k: g / centre for k, g in gains.items()}


def equal_ranges(signal_mv: np.ndarray, lead_mask: np.ndarray) -> bool:
    """Whether every recorded lead spans the same peak-to-peak range (two or more leads): a stored normalisation,
    never a recording."""
    rows = signal_mv[lead_mask]
    if len(rows) < 2:
        return False
    with np.errstate(invalid="ignore"):
        ranges = np.nanmax(rows, axis=1) - np.nanmin(rows, axis=1)
    if not np.all(np.isfinite(ranges)) or ranges.min() <= 0:
        return False
    return bool(ranges.max() / ranges.min() < EQUAL_RANGE_RATIO)


def undo_independent_scaling(ecg: ECG) -> ECG:
    """The ECG with its limb leads' relative sizes restored and its amplitudes marked uncalibrated, when its file
    stored the leads with scales of their own (module docstring); otherwise the ECG itself."""
    gains = limb_lead_gains(ecg.signal_mv, ecg.lead_mask)
    same_range = equal_ranges(ecg.signal_mv, ecg.lead_mask)
    if gains is None and not same_range:
        return ecg
    signal = ecg.signal_mv.copy()
    meta = dict(ecg.meta)
    why = "the file stores every lead scaled to the same range" if same_range else "the file scales each lead"
    if gains is not None:
        for name, g in gains.items():
            signal[LEAD_INDEX[name]] *= g
        meta[RESTORED_KEY] = "limb"
        why += " (limb leads rescaled to obey III = II - I and Goldberger's laws; their absolute size is unknown)"
    meta[UNCALIBRATED_KEY] = f"amplitudes not calibrated: {why}"
    return ecg.replace(signal_mv=signal, meta=meta)


def undo_range_gains(signal: np.ndarray, adc_gain: np.ndarray) -> tuple[np.ndarray, dict[str, str]]:
    """WFDB samples re-read with one shared gain when the stored gains equal the leads' digital ranges.

    Args:
        signal: physical values (samples, channels) as read with the stored gains.
        adc_gain: the stored gain of each channel (counts per physical unit).

    Returns:
        ``(signal, meta)``: unchanged and ``{}`` unless every channel (two or more) spans exactly one physical unit,
        i.e. its gain is its range of counts; then each channel multiplied by its gain over the geometric mean of
        the gains, and the meta entries of :data:`UNCALIBRATED_KEY` and :data:`RESTORED_KEY`.
    """
    gains = np.asarray(adc_gain, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[1] < 2 or signal.shape[1] != gains.size or np.any(gains <= 0):
        return signal, {}
    with np.errstate(invalid="ignore"):
        ranges = np.nanmax(signal, axis=0) - np.nanmin(signal, axis=0)
    # one count of slack: the range is a whole number of counts, the gain may not be
    if not np.all(np.abs(ranges * gains - gains) <= 1.0):
        return signal, {}
    shared = float(np.exp(np.mean(np.log(gains))))
    meta = {
        UNCALIBRATED_KEY: (
            "amplitudes not calibrated: each lead's stored gain makes it span exactly one unit (LUDB: 1 mV); read "
            "with one gain shared by all leads, their relative sizes are right (III = II - I), their millivolts are not"
        ),
        RESTORED_KEY: "all",
    }
    return signal * (gains / shared)[None, :], meta
