"""Q waves per lead: the QRS complex's initial downward deflection, its width and depth, and QS complexes.

Per lead and beat, against the PR segment (the 20 ms before the global QRS onset) of the baseline-corrected signal:
the lead's own QRS starts where it first leaves the baseline by :data:`WAVE_MV`; a Q wave is there when that first
deflection is downward, lasting until the signal comes back up to the baseline, and a QS complex when it never rises
:data:`WAVE_MV` above it within the QRS. Per lead, the median width and depth over the used beats, and QS where most
beats are QS.

A pathological Q wave (:func:`pathological`) follows the universal definition of myocardial infarction: in V2 and V3
any Q of 20 ms or more, or a QS complex; elsewhere a Q of 30 ms or more and 0.1 mV deep, or a QS complex, in two
contiguous leads. V1 (a QS complex is normal there) and aVR are not read; III is read with II and aVF, as readers
name it (the definition lists it apart). :func:`pathological_q_leads` names the leads meeting it in walls where two
do (the walls of :mod:`core.measure.st_segment`). The depth is in millivolts, so an uncalibrated file (LUDB) gets
none.

Checked on the training folds of ``ptbxl_more`` (``python -m core.measure.q_dev --data-root ../shared/data``, 2026-12-04
late) against the leads each report names Q waves in (:func:`core.measure.reference_labels.stated_q_wave_leads`) and the
records coded inferior or anterior infarction: met by 109 of 156 named leads, in two contiguous leads on 152 of 277
inferior and 108 of 249 anterior infarctions and on 8 of 764 normal ECGs. Not reading III lost 48 inferior infarctions
for 2 normal ECGs; a 40 ms limit, or a Q/R ratio (Minnesota code), did no better. Widths are interpolated between
samples, and a recording over 100 Hz is first low-passed at 40 Hz (the band a 100 Hz one keeps): with whole samples, 100
Hz read about 10 ms wider than 500 Hz, and the universal definition had met 140 of the 764 normal ECGs. On the
500-record folder's training records, read at both rates, widths near 30 ms still differ by 2-3 ms, so a borderline Q
can be pathological at one rate and not at the other (``ptbxl/00139``: aVF 31 and 28 ms).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import scipy.signal as sps

from core.data.filters import butter_sos
from core.ecg import ECG
from core.leads import LEAD_INDEX
from core.measure.amplitude import highpassed
from core.measure.st_segment import ST_GROUPS

LOWPASS_HZ = 40.0
WAVE_MV = 0.05  # a deflection smaller than this is not read as a wave
_BASELINE_S = 0.02
_NEAR_BASELINE_MV = 0.02
SEPTAL_LEADS = ("V2", "V3")
NOT_READ = ("V1", "aVR")


def lead_q_waves(ecg: ECG, windows_s: Sequence[tuple[float, float]]) -> dict[str, dict[str, float | bool]]:
    """Per present lead: median ``q_ms`` and ``q_mv`` (0 where the QRS starts upward) and ``qs`` (most beats all
    downward) over the QRS windows (onset, offset in seconds); empty under two whole beats."""
    present = list(ecg.present_leads)
    x = highpassed(ecg)[[LEAD_INDEX[n] for n in present]]
    fs = ecg.fs_hz
    if fs > 2 * LOWPASS_HZ * 1.25 and x.shape[-1] > 15:
        # The band a 100 Hz recording keeps: without it, noise at 500 Hz crosses the baseline inside a Q wave.
        x = sps.sosfiltfilt(butter_sos(4, LOWPASS_HZ, fs, "low"), x, axis=-1)
    pre = max(1, int(round(_BASELINE_S * fs)))
    per_beat = []
    for on_s, off_s in windows_s:
        a, b = int(round(on_s * fs)), int(round(off_s * fs)) + 1
        if a - pre < 0 or b > x.shape[1] or b - a < 3:
            continue
        seg = x[:, a:b] - np.median(x[:, a - pre : a], axis=1, keepdims=True)
        per_beat.append([_initial_wave(row, fs) for row in seg])
    if len(per_beat) < 2:
        return {}
    out = {}
    for i, name in enumerate(present):
        widths, depths, qs = zip(*(beat[i] for beat in per_beat), strict=True)
        out[name] = {
            "q_ms": round(float(np.median(widths)), 1),
            "q_mv": round(float(np.median(depths)), 3),
            "qs": bool(np.mean(qs) > 0.5),
        }
    return out


def _initial_wave(seg: np.ndarray, fs: float) -> tuple[float, float, bool]:
    """(width in ms, depth in mV, QS) of one lead's QRS (``seg`` against its baseline); (0, 0, False) where the first
    deflection is upward or there is none. The width runs from where the signal goes below -:data:`_NEAR_BASELINE_MV`
    to where it comes back up to the baseline, both crossings interpolated between samples, so that 100 and 500 Hz
    read alike (whole samples made 100 Hz widths about 10 ms longer)."""
    away = np.flatnonzero(np.abs(seg) >= WAVE_MV)
    if away.size == 0 or seg[away[0]] > 0:
        return 0.0, 0.0, False
    first = away[0]
    above = np.flatnonzero(seg[: first + 1] > -_NEAR_BASELINE_MV)
    start = _crossing(seg, above[-1], -_NEAR_BASELINE_MV) if above.size else 0.0
    back = np.flatnonzero(seg[first:] >= 0.0)
    qs = not np.any(seg[first:] >= WAVE_MV)
    end = float(seg.size - 1) if (qs or back.size == 0) else _crossing(seg, first + back[0] - 1, 0.0)
    lo, hi = int(np.floor(start)), int(np.ceil(end))
    return 1000.0 * (end - start) / fs, float(-seg[lo : hi + 1].min()), qs


def _crossing(seg: np.ndarray, i: int, level: float) -> float:
    """Where, between samples ``i`` and ``i + 1``, the signal passes ``level`` (linear; ``i`` at the last sample)."""
    if i + 1 >= seg.size or seg[i + 1] == seg[i]:
        return float(i)
    return i + float(np.clip((level - seg[i]) / (seg[i + 1] - seg[i]), 0.0, 1.0))


def pathological(lead: str, values: Mapping[str, float | bool | None]) -> bool:
    """Whether a lead's Q wave (``q_ms``, ``q_mv``, ``qs``) is pathological (module docstring)."""
    if lead in NOT_READ:
        return False
    if values.get("qs"):
        return True
    if lead in SEPTAL_LEADS:
        return values["q_ms"] >= 20.0
    return values["q_ms"] >= 30.0 and values.get("q_mv") is not None and values["q_mv"] >= 0.1


def pathological_q_leads(per_lead: Mapping[str, Mapping[str, float | bool | None]]) -> tuple[str, ...] | None:
    """The leads with a pathological Q wave (:func:`pathological`) in walls where two leads have one, in standard
    lead order (empty where none); None when no wall has two of its leads measured (``q_ms`` present)."""
    measured = {n: v for n, v in per_lead.items() if v.get("q_ms") is not None}
    if not any(sum(n in measured for n in leads) >= 2 for leads in ST_GROUPS.values()):
        return None
    out: set[str] = set()
    for leads in ST_GROUPS.values():
        found = {n for n in leads if n in measured and pathological(n, measured[n])}
        out |= found if len(found) >= 2 else set()
    return tuple(sorted(out, key=LEAD_INDEX.__getitem__))
