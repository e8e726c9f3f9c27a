"""ST-segment level per lead: the ST depression two contiguous leads share, and ST elevation at the J point.

Per lead and beat the ST level is the signal a set time after the global QRS offset (the J point), against the PR
segment (the 20 ms before the QRS onset, the baseline :mod:`core.measure.amplitude` takes as well); per lead, the
median over the used beats. The raw signal is read, not a high-passed one: a 0.5 Hz filter bends the ST segment, and
the PR reference beside each beat already takes out the baseline's wander.

Both findings are stated, as a reader states them, where two contiguous leads show them: the leads are grouped as the
heart's walls (inferior II, III, aVF; lateral I, aVL, V5, V6; anterior V1-V4).

* **ST depression** is read 60 ms after J. :func:`st_depression_mv` is, over the walls, the deepest level the second
  deepest lead of a wall reaches, as a positive depth (0 where no two contiguous leads go below the baseline).
* **ST elevation** is read at J, against the voltage limits of the universal definition of myocardial infarction
  (0.1 mV; 0.2 mV in V2 and V3, where healthy men show up to that): :func:`st_elevation_leads` names the leads over
  the limit in each wall where two are. Voltage alone, as a machine measures it: whether the elevation is new,
  ischaemic, a bundle branch block's secondary change or a normal early repolarisation is the reader's call.

Chosen on the training folds of ``ptbxl_more`` against what the cardiologists' reports state, lead by lead
(``python -m core.measure.st_dev --data-root ../shared/data``, 2026-12-04; the report's leads are read by
:func:`core.measure.reference_labels.st_shift_leads`). ST depression of 0.05 mV or more: on 76 of the 103 records
whose report names only ST depression, 12 of the 33 that name ST elevation (most also name a reciprocal depression)
and 6 of the 761 normal ECGs. ST elevation by the rule above: on 11 of the 33, 2 of the 103 and 5 of the 761 (reports
also name elevations under these limits, mostly in V1-V3; read at J + 60 ms the rule would take in 94 normal ECGs).
Lead by lead, the measured level is on the report's side of the baseline in 98 of the 102 leads named elevated (at J)
and 458 of the 468 named depressed (at J + 60 ms).

Where it is read: ``/measurements`` (each lead's ``st_j_mv`` and ``st_mv``, ``st_depression_mv``,
``st_elevation_leads``), the details panel and the plausibility benchmark's ST rows. As a Retrieve criterion ST
depression was tried and dropped (:mod:`core.search.criteria`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.ecg import ECG
from core.leads import LEAD_INDEX

ST_AFTER_J_S = 0.06
ELEVATION_MV = 0.1
ELEVATION_MV_V2_V3 = 0.2  # the universal definition's limit for men of 40 and over; healthy men reach 0.2 mV there
_BASELINE_S = 0.02
ST_GROUPS: dict[str, tuple[str, ...]] = {
    "inferior": ("II", "III", "aVF"),
    "lateral": ("I", "aVL", "V5", "V6"),
    "anterior": ("V1", "V2", "V3", "V4"),
}


def st_levels(ecg: ECG, windows_s: Sequence[tuple[float, float]], after_s: float = ST_AFTER_J_S) -> dict[str, float]:
    """Per present lead, the median ST level (mV) ``after_s`` past the J point (60 ms) against the PR segment over the
    QRS windows (onset, offset in seconds); empty under two whole beats."""
    present = list(ecg.present_leads)
    x = np.nan_to_num(np.asarray(ecg.signal_mv, dtype=np.float64))[[LEAD_INDEX[n] for n in present]]
    fs = ecg.fs_hz
    pre, after = max(1, int(round(_BASELINE_S * fs))), int(round(after_s * fs))
    levels = []
    for on_s, off_s in windows_s:
        on, j = int(round(on_s * fs)), int(round(off_s * fs)) + after
        if on - pre < 0 or j >= x.shape[1]:
            continue
        levels.append(x[:, j] - np.median(x[:, on - pre : on + 1], axis=1))
    if len(levels) < 2:
        return {}
    median = np.median(np.stack(levels), axis=0)
    return {name: round(float(v), 3) for name, v in zip(present, median, strict=True)}


def st_depression_mv(levels: Mapping[str, float]) -> float | None:
    """The deepest ST depression two contiguous leads share (mV, positive; 0.0 where none); None when no wall has
    two of its leads."""
    shared = []
    for leads in ST_GROUPS.values():
        values = sorted(levels[n] for n in leads if n in levels)
        if len(values) >= 2:
            shared.append(values[1])  # the less deep of the group's two deepest
    return round(max(0.0, -min(shared)), 3) if shared else None


def elevation_limit_mv(lead: str) -> float:
    """The ST elevation at J that counts in ``lead`` (:data:`ELEVATION_MV_V2_V3` in V2 and V3, else 0.1 mV)."""
    return ELEVATION_MV_V2_V3 if lead in ("V2", "V3") else ELEVATION_MV


def st_elevation_leads(levels_at_j: Mapping[str, float]) -> tuple[str, ...] | None:
    """The leads whose ST level at J is over :func:`elevation_limit_mv`, in walls where two leads are (in the
    standard lead order; empty where none); None when no wall has two of its leads."""
    if not any(sum(n in levels_at_j for n in leads) >= 2 for leads in ST_GROUPS.values()):
        return None
    out: set[str] = set()
    for leads in ST_GROUPS.values():
        over = {n for n in leads if n in levels_at_j and levels_at_j[n] >= elevation_limit_mv(n)}
        out |= over if len(over) >= 2 else set()
    return tuple(sorted(out, key=LEAD_INDEX.__getitem__))
