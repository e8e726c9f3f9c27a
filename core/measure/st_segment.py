"""ST-segment level per lead, and the ST depression two contiguous leads share.

Per lead and beat the ST level is the signal 60 ms after the global QRS offset (the J point), against the PR segment
(the 20 ms before the QRS onset, the baseline :mod:`core.measure.amplitude` takes as well); per lead, the median over
the used beats. The raw signal is read, not a high-passed one: a 0.5 Hz filter bends the ST segment, and the PR
reference beside each beat already takes out the baseline's wander.

ST depression is stated, as a reader states it, where two contiguous leads show it: the leads are grouped as the
heart's walls (inferior II, III, aVF; lateral I, aVL, V5, V6; anterior V1-V4), and in each group the second-deepest
level counts. :func:`st_depression_mv` is the deepest of those, as a positive depth (0 where no two contiguous leads
go below the baseline). Chosen on the training folds of ``ptbxl_more`` (``python -m core.measure.st_dev --data-root
../shared/data``, 2026-12-04 night): a depth of at least 0.05 mV at J+60 on 64 of the 85 records coded ST depression
(``STD_``) and on 6 of 765 normal ECGs. ST *elevation* is not stated: in two contiguous leads at 0.1 mV (0.2 mV in
V2-V3) it was met by 0, 0 and 2 of the 21 records coded ST elevation or injury at J, J+40 and J+60 ms, and by 7, 34
and 98 of the normal ECGs, so no rule was found that tells them apart.

Where it is read: ``/measurements`` (the value and each lead's ``st_mv``) and the plausibility benchmark's rows
against the ``STD`` label. As a Retrieve criterion it was tried and dropped (:mod:`core.search.criteria`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from core.ecg import ECG
from core.leads import LEAD_INDEX

ST_AFTER_J_S = 0.06
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
