"""Premature beats: which QRS complexes come early, and whether their QRS is the dominant one (measure v2.11;
v2.12 leaves the last beat unjudged).

A 12-lead machine reads a premature beat as *ventricular* when its QRS differs from the dominant beat's and as
*supraventricular* (atrial or junctional) when it arrives early with the dominant QRS. Here, per beat:

1. **Morphology.** Each beat's multi-lead QRS window (:func:`core.measure.beat_consistency.beat_windows`) is
   correlated with every other's; the beat resembling most others stands for a morphology, and its beats are those
   correlating at :data:`~core.measure.beat_consistency.SIMILAR` or more. When the beats outside it form a second
   morphology of at least two beats that arrive later (longer median preceding RR), that one is the dominant
   (in ventricular bigeminy half the beats are ectopic and the early ones may be the commonest). A beat is *unlike
   the dominant* when it is outside the dominant morphology or its QRS duration differs from the dominant median by
   more than :data:`~core.measure.quality.EXCLUDE_QRS_DEVIATION_MS`.
2. **Prematurity.** A beat is premature when its RR interval is under :data:`PREMATURE_FRACTION` (a beat unlike the
   dominant: :data:`PREMATURE_FRACTION_UNLIKE`) of the longer of the preceding RR (when that lies between two
   dominant beats, neither early: not a pause) and the reference RR, and the next RR is longer (a pause follows;
   the last beat, with no RR after it, is not judged). The reference is the median RR between two consecutive
   dominant beats; in bigeminy, where none are consecutive, the span between successive dominant beats per interval
   it holds. RR under 200 ms is a double detection, not a beat.
3. **Kinds.** Premature and unlike the dominant: ``ventricular`` (or aberrantly conducted: the ECG alone cannot
   always tell). Premature with the dominant QRS: ``supraventricular``, stated only when the rhythm between the
   premature beats is regular: in atrial fibrillation every beat comes at a random time, so "early" says nothing
   (intervals between dominant beats, leaving out the premature beats and their pauses, must not vary both overall
   and from beat to beat: coefficient of variation over :data:`UNDERLYING_CV` and median successive difference over
   :data:`UNDERLYING_STEP` of the median). :func:`core.measure.measurements.measurements_from_masks` withdraws the
   count too where PR finds no P-wave rhythm before the dominant beats (v2.14, :func:`without_supraventricular`).

4. **Groups** (2026-12-05): ventricular bigeminy is a premature ventricular beat after every dominant beat, trigeminy
   one after every two (:func:`grouped_run`); :data:`GROUPED_MIN_RUN` premature beats in that order name the
   pattern, the usual "three in a row" (fixed from the definition, not tuned). Plausibility rows on ``ptbxl_more``'s
   training folds: bigeminy on 5 of the 10 records coded or reported bigeminy (a 10-second strip catches part of an
   intermittent one: ``ptbxl/18907`` has two in that order), 3 % of 113 other PVC records, none of 844 normal ECGs;
   trigeminy on 3 of 8, 1 % and none.

Why not a library: neurokit2's ``signal_fixpeaks(method="Kubios")`` (Lipponen & Tarvainen 2019) finds ectopic
intervals from RR alone, with thresholds set over a 91-beat window of long recordings; a 10-second ECG has 8-15
beats, and it has no morphology, which is what tells a ventricular beat from an atrial one.

Chosen on training records only (PTB-XL folds 1-8 of both folders, the CinC-2021 and LUDB training parts; labels
from codes and reports, :mod:`core.measure.reference_labels`), over fractions 0.8-0.9 and gates 0.05-0.1 in a
one-off script, then with ``validate-measurements --plausibility --split train --ptbxl-folds 1-8``. On ``ptbxl_more``
(v2.12): PVC-labelled 103 of 120 with a ventricular beat (0.8 for every beat found 97: late-coupled PVCs in trigeminy
and at 126 bpm came at 88-90 % of the cycle), NORM without premature beats stated 1 of 844 (v2.11, which judged the
last beat without a pause after it, 9: a last QRS distorted by the filter's edge read ectopic); PAC-labelled 61 of 90
with a supraventricular beat, NORM 10; AFIB with a supraventricular count stated 11 of 152. A fraction of 0.85 for
every beat found 4 more PVCs but about twice the NORM records with a supraventricular beat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from core.measure.beat_consistency import SIMILAR, beat_windows, pairwise_correlations
from core.measure.quality import EXCLUDE_QRS_DEVIATION_MS
from core.measure.waves import Beat

PREMATURE_FRACTION = 0.8
PREMATURE_FRACTION_UNLIKE = 0.9  # a QRS unlike the dominant one needs less to count as early: its shape says ectopic
UNDERLYING_CV = 0.08
UNDERLYING_STEP = 0.04
MIN_UNDERLYING = 3  # regular intervals needed to call anything early
MIN_BEATS = 3
MIN_RR_MS = 200.0

VENTRICULAR = "ventricular"
SUPRAVENTRICULAR = "supraventricular"
GROUPED_MIN_RUN = 3  # premature ventricular beats in a bigeminal or trigeminal order that name the pattern


@dataclass(frozen=True)
class Ectopy:
    """Premature beats of one ECG.

    Attributes:
        kinds: per beat, :data:`VENTRICULAR`, :data:`SUPRAVENTRICULAR` or None (not premature, or not judged).
        ventricular: premature beats unlike the dominant beat (None: not judged, see ``missing``).
        supraventricular: premature beats with the dominant QRS (None: not judged, see ``missing``).
        missing: field name -> why it is None.
    """

    kinds: tuple[str | None, ...]
    ventricular: int | None
    supraventricular: int | None
    missing: dict[str, str] = field(default_factory=dict)


def _not_judged(n_beats: int, why: str) -> Ectopy:
    return Ectopy((None,) * n_beats, None, None, {"premature_ventricular": why, "premature_supraventricular": why})


def irregular_underlying_reason(with_p_waves: bool) -> str:
    """Why no supraventricular count is given when the rhythm between the premature beats is itself irregular: with P
    waves before the QRS (a PR measured) that is a sinus arrhythmia, without them possibly atrial fibrillation."""
    what = "a sinus arrhythmia, P waves before the QRS" if with_p_waves else "atrial fibrillation?"
    return (
        f"the rhythm between the premature beats is itself irregular ({what}): an early beat with the dominant QRS "
        "cannot be told from it"
    )


def without_supraventricular(ectopy: Ectopy, why: str) -> Ectopy:
    """The same judgement with the supraventricular count withdrawn (missing, with ``why``)."""
    kinds = tuple(None if kind == SUPRAVENTRICULAR else kind for kind in ectopy.kinds)
    return Ectopy(kinds, ectopy.ventricular, None, {**ectopy.missing, "premature_supraventricular": why})


def dominant_beats(correlations: np.ndarray, preceding_rr: np.ndarray) -> np.ndarray:
    """Which of the compared beats belong to the dominant morphology (step 1 of the module docstring).

    Args:
        correlations: (n, n) QRS-window correlations of the compared beats.
        preceding_rr: (n,) RR interval before each compared beat in ms (NaN for the first beat).
    """
    similar = correlations >= SIMILAR
    first = similar[int(np.argmax(similar.sum(axis=1)))]
    rest = np.flatnonzero(~first)
    if rest.size < 2:
        return first
    counts = similar[np.ix_(rest, rest)].sum(axis=1)
    second = np.zeros_like(first)
    second[rest] = similar[rest[int(np.argmax(counts))], rest]
    if second.sum() < 2:
        return first
    first_rr, second_rr = np.nanmedian(preceding_rr[first]), np.nanmedian(preceding_rr[second])
    return second if second_rr > first_rr else first


def premature_beats(filtered_mv: np.ndarray, beats: list[Beat], fs_hz: float) -> Ectopy:
    """Premature ventricular and supraventricular beats (module docstring).

    Args:
        filtered_mv: the present leads band-passed 0.5-40 Hz at ``fs_hz`` (leads, samples).
        beats: all beats found, in time order.
        fs_hz: sampling rate of ``filtered_mv`` and of the beats' sample indices.
    """
    n = len(beats)
    index, rows = beat_windows(filtered_mv, beats, fs_hz)
    correlations = pairwise_correlations(rows) if len(index) >= MIN_BEATS else None
    if correlations is None or correlations.shape[0] != len(index):
        return _not_judged(n, f"fewer than {MIN_BEATS} whole QRS complexes to compare")
    ms = 1000.0 / fs_hz
    centres = np.array([b.centre for b in beats], dtype=float)
    rr = np.full(n, np.nan)
    rr[1:] = np.diff(centres) * ms  # rr[i]: the interval ending at beat i
    dominant_of_compared = dominant_beats(correlations, rr[index])

    judged = np.zeros(n, dtype=bool)
    judged[index] = True
    dominant = np.zeros(n, dtype=bool)
    dominant[index] = dominant_of_compared
    durations = np.array([(b.qrs_off - b.qrs_on + 1) * ms for b in beats])
    typical = float(np.median(durations[dominant]))
    normal = judged & dominant & (np.abs(durations - typical) <= EXCLUDE_QRS_DEVIATION_MS)
    unlike = judged & ~normal

    between_normal = [i for i in range(1, n) if normal[i] and normal[i - 1] and rr[i] >= MIN_RR_MS]
    reference = _reference_rr(centres, normal, rr, between_normal, ms)
    premature = np.zeros(n, dtype=bool)
    for i in range(1, n):
        if not judged[i] or rr[i] < MIN_RR_MS:
            continue
        # The preceding RR counts only between two dominant beats that are not early: after an early beat it is
        # the pause, and the next normal beat would read as early against it.
        steady = i >= 2 and normal[i - 1] and normal[i - 2] and not premature[i - 2] and rr[i - 1] >= MIN_RR_MS
        base = max(reference, rr[i - 1]) if steady else reference
        # The last beat has no next RR to show the pause, and its window ends where the band-pass filter rings.
        followed_by_pause = i < n - 1 and rr[i + 1] > rr[i]
        fraction = PREMATURE_FRACTION_UNLIKE if unlike[i] else PREMATURE_FRACTION
        premature[i] = rr[i] < fraction * base and followed_by_pause

    kinds: list[str | None] = [None] * n
    for i in np.flatnonzero(premature & unlike):
        kinds[i] = VENTRICULAR
    missing: dict[str, str] = {}
    underlying = np.array(
        [rr[i] for i in between_normal if not premature[i] and not premature[i - 1]],
        dtype=float,
    )
    supraventricular: int | None = None
    if underlying.size < MIN_UNDERLYING:
        missing["premature_supraventricular"] = (
            f"fewer than {MIN_UNDERLYING} regular RR intervals between dominant beats to tell an early beat"
        )
    elif _irregular(underlying):
        missing["premature_supraventricular"] = irregular_underlying_reason(with_p_waves=False)
    else:
        for i in np.flatnonzero(premature & normal):
            kinds[i] = SUPRAVENTRICULAR
        supraventricular = int(sum(k == SUPRAVENTRICULAR for k in kinds))
    return Ectopy(tuple(kinds), int(sum(k == VENTRICULAR for k in kinds)), supraventricular, missing)


def _reference_rr(
    centres: np.ndarray, normal: np.ndarray, rr: np.ndarray, between_normal: list[int], ms: float
) -> float:
    """The RR a dominant beat is expected at: the median between two consecutive dominant beats; in bigeminy, where
    no two are consecutive, the span between successive dominant beats over the intervals it holds (a premature
    beat and its pause average to about one cycle), else the median RR."""
    if len(between_normal) >= 2:
        return float(np.median(rr[between_normal]))
    kept = np.flatnonzero(normal)
    if kept.size >= 3:
        return float(np.median(np.diff(centres[kept]) / np.diff(kept)) * ms)
    return float(np.nanmedian(rr))


def _irregular(rr_ms: np.ndarray) -> bool:
    """Irregular both overall and from beat to beat (the gate of step 3)."""
    cv = float(rr_ms.std() / rr_ms.mean())
    step = float(np.median(np.abs(np.diff(rr_ms))) / np.median(rr_ms))
    return cv > UNDERLYING_CV and step > UNDERLYING_STEP


def grouped_run(kinds: Sequence[str | None], every: int) -> int:
    """The most premature ventricular beats in one stretch where every ``every``-th beat is one and the beats between
    are not premature: ``every`` 2 reads bigeminy (N V N V N V: 3), 3 trigeminy (N N V N N V: 2).

    Args:
        kinds: per beat, :data:`VENTRICULAR`, :data:`SUPRAVENTRICULAR` or None (:attr:`Ectopy.kinds`).
        every: the group's length in beats.
    """
    best = 0
    for start in range(every - 1, len(kinds)):
        run, i = 0, start
        while i < len(kinds) and kinds[i] == VENTRICULAR and all(k is None for k in kinds[i - every + 1 : i]):
            run, i = run + 1, i + every
        best = max(best, run)
    return best
