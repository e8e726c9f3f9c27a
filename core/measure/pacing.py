"""Pacemaker spikes before QRS complexes: ventricular pacing (measure v2.15).

A pacemaker's stimulus is a spike 0.5-2 ms wide. A 12-lead machine looks for it at a high sampling rate and, where
it precedes the QRS complexes, reads the rhythm as paced: the wide QRS is then the pacemaker's, not a bundle branch
block, and a conducted beat among paced ones is not an ectopic one. Without it this project read paced rhythms as
wide-QRS rhythms with premature beats (``ludb/8``: a conducted beat counted as premature ventricular).

How:

1. **Per lead**, openecg's :func:`openecg.pacer.detect_pacings` (a maintained detector that scores the first and
   second derivatives against their surroundings, in physical units so it holds at any rate of 500 Hz or more) finds
   spike candidates in each independent lead (I, II, V1-V6; III, aVR, aVL and aVF are sums of I and II and would
   vote twice).
2. **Across leads**, a spike is a moment where at least :data:`MIN_LEADS` of those leads have one within
   :data:`SPIKE_TOLERANCE_MS`: a unipolar pacemaker's stimulus is seen on nearly every lead, a sharp R wave or a
   muscle twitch on few.
3. **Before a QRS**: a QRS complex is paced when such a spike lies from :data:`BEFORE_QRS_MS` before its global onset
   to :data:`AFTER_QRS_ONSET_MS` after it (the delineated onset may include the spike or not). The rhythm is paced
   from :data:`MIN_PACED_BEATS` paced complexes on; fewer are not stated (an artifact cannot be told from a spike).

Not seen: atrial pacing (the spike precedes the P wave; no training record has it), and bipolar pacing whose spikes
are too small for most leads (``ludb/90``, bipolar, shows them on 3 of its 10 beats). A missing "paced" is therefore
no proof that there is no pacemaker. Under 500 Hz the spike is averaged away (PTB-XL's 100 Hz files), so the value is
missing there, with that reason.

Chosen on training records only (PTB-XL folds 1-8 of the 500-record folder at 500 Hz, the CinC-2021 and LUDB
training parts: 6 paced of 562; ``python -m core.measure.pacing_dev``): openecg's detector alone on lead II put 3 or
more spikes on 9 non-paced records (sharp narrow R waves, ``ptbxl/00029``: 15), with the 8-lead vote on 1 (that one,
its "spikes" 40-44 ms after the QRS onset: the R peaks); with the vote and the QRS timing on none, and 3 or more paced
complexes on all 6 paced ones. A hand-written rule (a second difference over 0.3 of the lead's 1st-99th percentile
range on 4 of 8 leads, at the QRS) found 5 of 6, missing the bipolar one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.ecg import ECG

PACING_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
MIN_LEADS = 5
MIN_RATE_HZ = 500.0
SPIKE_TOLERANCE_MS = 4.0
BEFORE_QRS_MS = 40.0
AFTER_QRS_ONSET_MS = 20.0
MIN_PACED_BEATS = 3


@dataclass(frozen=True)
class Pacing:
    """Pacemaker spikes before QRS complexes.

    Attributes:
        spike_s: per beat (in the order given), the time of the spike before its QRS in seconds, or None.
        paced_beats: QRS complexes preceded by a spike; 0 under :data:`MIN_PACED_BEATS` (not stated).
        missing: measurement name -> why it could not be judged (empty when judged).
    """

    spike_s: tuple[float | None, ...]
    paced_beats: int | None
    missing: dict[str, str]


def not_judged(n_beats: int, why: str) -> Pacing:
    """A :class:`Pacing` that says why no beat was judged."""
    return Pacing((None,) * n_beats, None, {"paced_beats": why})


def spike_times(ecg: ECG) -> np.ndarray | None:
    """Samples (at ``ecg.fs_hz``) where at least :data:`MIN_LEADS` independent leads show a pacemaker spike, one per
    spike; None when fewer than :data:`MIN_LEADS` of those leads were recorded."""
    from openecg.pacer import detect_pacings

    rows = [i for i, name in enumerate(ecg.lead_names) if name in PACING_LEADS and ecg.lead_mask[i]]
    if len(rows) < MIN_LEADS:
        return None
    n = ecg.signal_mv.shape[1]
    reach = max(1, round(SPIKE_TOLERANCE_MS * ecg.fs_hz / 1000.0))
    votes = np.zeros(n, dtype=np.int32)
    for row in rows:
        near = np.zeros(n, dtype=bool)
        for sample in detect_pacings(ecg.signal_mv[row].astype(np.float64), int(round(ecg.fs_hz))):
            near[max(0, sample - reach) : sample + reach + 1] = True
        votes += near
    agreed = np.flatnonzero(votes >= MIN_LEADS)
    if agreed.size == 0:
        return agreed
    # One spike per run of agreeing samples (a run spans the tolerance on both sides): its middle.
    starts = np.r_[0, np.flatnonzero(np.diff(agreed) > 1) + 1]
    ends = np.r_[starts[1:], agreed.size]
    return np.array([(agreed[s] + agreed[e - 1]) // 2 for s, e in zip(starts, ends, strict=True)], dtype=np.int64)


def ventricular_pacing(ecg: ECG, qrs_on_s: Sequence[float | None]) -> Pacing:
    """Which QRS complexes a pacemaker spike precedes (module docstring).

    Args:
        ecg: the ECG as recorded (not filtered: a band-pass to 40 Hz removes the spikes).
        qrs_on_s: each beat's global QRS onset in seconds (None where not found).
    """
    n_beats = len(qrs_on_s)
    if ecg.fs_hz < MIN_RATE_HZ:
        return not_judged(
            n_beats,
            f"pacemaker spikes (under 2 ms wide) are not visible at {ecg.fs_hz:g} Hz; "
            f"at least {MIN_RATE_HZ:g} Hz is needed",
        )
    spikes = spike_times(ecg)
    if spikes is None:
        return not_judged(n_beats, f"needs at least {MIN_LEADS} of the leads {', '.join(PACING_LEADS)}")
    spike_s = spikes / ecg.fs_hz
    per_beat: list[float | None] = []
    for onset in qrs_on_s:
        near = (
            spike_s[(spike_s >= onset - BEFORE_QRS_MS / 1000.0) & (spike_s <= onset + AFTER_QRS_ONSET_MS / 1000.0)]
            if onset is not None
            else spike_s[:0]
        )
        per_beat.append(round(float(near[-1]), 4) if near.size else None)
    paced = sum(s is not None for s in per_beat)
    if paced < MIN_PACED_BEATS:
        return Pacing((None,) * n_beats, 0, {})
    return Pacing(tuple(per_beat), paced, {})
