"""The PR interval from the P-wave onset on the multi-lead median beat, where the delineator only locates the P wave.

Why: the U-Net's per-lead P boundaries, combined as the earliest onset in any lead, put 10-12 % of PTB-XL's normal
ECGs over 200 ms while a tenth of 1AVB records measured under 189 ms (folds 1-8): a low, flat P wave has no sharp
onset, and one lead starting early moves the global onset. The P wave's *location* is reliable; its onset is
measured here on the signal instead, the way 12-lead machines measure on a median complex:

The beats read are the used beats that are not premature (:mod:`core.measure.ectopy`; v2.14): a premature beat's
P wave is ectopic or hidden in the T wave, and its PR is not the rhythm's.

1. **Enough leads see the P wave.** Per beat, the leads with a P run between the previous QRS and their own QRS
   onset; the median over the used beats must reach :data:`MIN_P_LEADS` of 12 (scaled to the leads present), else PR
   is missing. A P wave found in a few leads only is usually a bump in the T wave or the PR segment (a P hidden in
   the preceding T wave in first-degree AV block, or f waves in atrial fibrillation); normal ECGs show it in 11-12.
   When the rhythm is irregular, the P wave must also keep its distance to the QRS: a beat-to-beat spread (IQR) of
   the delineated PR over :data:`MAX_IRREGULAR_PR_IQR_MS` means no fixed P-QRS coupling (atrial fibrillation's f
   waves), and PR is missing.
   **Fallback** (v2.3): in first-degree AV block the P wave often rides on the preceding T wave, so the U-Net marks
   it in few leads or few beats and step 1 left PR missing on 20 of 72 1AVB training records of ``ptbxl_more``.
   When the rhythm is regular and a lead of :data:`P_LEADS` (II, V1: where the P wave is largest) shows its own P
   wave in at least :data:`MIN_P_LEAD_BEAT_SHARE` of the used beats (and :data:`MIN_FALLBACK_BEATS`), PR is
   measured on the median beat of the beats with a P wave anyway, with a lower confidence
   (:data:`FALLBACK_CONFIDENCE` x that share). Requiring II or V1 keeps out P waves seen only in V2-V6 (on a
   training 1AVB record, a bump in V2-V6 with no P wave visible in II read 144 ms). Chosen on the same training
   records: 1AVB PR on 57 instead of 52 of 72 (46 over 200 ms instead of 42), NORM over 200 ms unchanged.
   **Delineator** (v2.4): trained with P waves moved onto the preceding T wave
   (:func:`core.measure.train_delineator.move_p_earlier`), the U-Net finds the P wave of 65 of those 72 records
   (59 over 200 ms); on the training folds of ``ptbxl_more`` it also reads 5 more of 884 NORM records over 200 ms
   (27 of 876), some at 270-320 ms where it takes a bump on the T wave for the P wave.
2. **Median beat.** The band-passed leads (0.5-40 Hz, in mV) are cut around each used beat's global QRS onset and
   the median taken sample by sample (noise and the T wave of irregular beats average out).
3. **Onset.** The P wave is looked for from the point where :data:`MIN_WINDOW_LEADS` leads have begun their P wave
   (v2.5; the earliest lead before, which let a T-wave bump marked P in one or two leads of a normal ECG read as a
   270-320 ms PR with v2.4's delineator: on the training folds of ``ptbxl_more`` NORM over 200 ms 27 -> 22 of 876,
   1AVB over 200 ms 59 -> 55 of 65, LUDB training-part PR error unchanged at 18 ms). Each lead's baseline is a line
   from its TP level (just before the delineated P wave) to its PR-segment level; the P wave's spatial magnitude
   (root sum of squares over leads of the signal minus baseline) peaks inside the delineated P wave, and the onset
   is where, going back from that peak, it falls to :data:`P_ONSET_FRACTION` of the peak (linearly interpolated
   between samples). A fraction of the peak is insensitive to the P wave's amplitude and to noise before it; it
   reads later than where an annotator sees the first deflection, which :data:`PR_OFFSET_MS` partly adds back.
4. PR = global QRS onset - that onset + :data:`PR_OFFSET_MS`.
5. **The P wave repeats** (v2.8). A sinus P wave looks the same before every QRS; fibrillation waves, noise and
   wandering P waves do not. The used beats' multi-lead windows from 20 ms before to 100 ms after the onset of
   step 3 (at most up to 10 ms before the QRS) are correlated pairwise, and under :data:`MIN_P_REPEATABILITY`
   (median correlation) PR is missing. Why: atrial fibrillation with a fairly even ventricular rate passes the
   irregular-rhythm gate of step 1, and the median beat averages its f waves into a small "P wave": on the
   training folds 1-6 of ``ptbxl_more``, PR was stated on 9 of its AF records (164-286 ms). Their P windows
   correlate at -0.00-0.08 where they show no P wave; NORM records' 1st percentile is 0.53. At 0.1 the gate
   removes 5 of those 9 (the others' windows repeat, r 0.26-0.75: among them a 2:1 flutter and a doubtful AF
   label), plus a sinus tachycardia with atrial and ventricular premature beats (0.08) and, on CinC, a record of
   premature atrial beats (0.01); nothing on LUDB's training part. Confirmed on folds 7-8: two more AF PRs
   removed, and three records whose strip shows no P wave to time (tremor; P waves marching through the QRS
   complexes of a 1AVB-labelled record; 31 bpm with RBBB and LAFB).

Chosen on training data only (PTB-XL folds 1-8 of ``ptb-xl/1.0.3`` and ``ptbxl_more``, LUDB out-of-fold records of
the training split), over fractions 0.05-0.3 and offsets 0-10 ms. The fraction was picked for separating NORM from
1AVB (share of 1AVB over the NORM 97th percentile: 63 % at 0.05, 77 % at 0.1, 82-83 % at 0.2-0.3; 73 % for the earliest
U-Net onset); the offset puts the NORM 97th percentile near 200 ms, the PTB-XL cardiologists' 1AVB limit. The
result reads about 18 ms shorter than LUDB's reference (the earliest of twelve independently annotated leads, which
scatter early as they do for the QRS), within the 20 ms goal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.measure.beat_consistency import pairwise_correlations
from core.measure.quality import RANGES, Estimate
from core.measure.unet import P_WAVE, QRS
from core.measure.waves import Beat, runs

P_ONSET_FRACTION = 0.3
PR_OFFSET_MS = 8.0
MIN_P_LEADS = 5  # of 12 leads
MAX_IRREGULAR_PR_IQR_MS = 20.0  # 95th percentile among PTB-XL NORM records of folds 1-8
MIN_WINDOW_LEADS = 3  # the P-peak window starts at this many leads' P onsets (step 3)
P_LEADS = ("II", "V1")  # where the P wave is largest: the fallback of step 1 needs it there
MIN_P_LEAD_BEAT_SHARE = 0.5  # ... in at least this share of the used beats
MIN_FALLBACK_BEATS = 3  # ... and in at least this many of them
FALLBACK_CONFIDENCE = 0.5  # a fallback PR's confidence is this times that share
MIN_P_REPEATABILITY = 0.1  # step 5: median pairwise correlation of the beats' P windows
_P_WINDOW_BEFORE_MS = 20.0  # the P window opens this long before the P onset ...
_P_WINDOW_AFTER_MS = 100.0  # ... and closes this long after it,
_P_WINDOW_QRS_GAP_MS = 10.0  # ... or this long before the QRS onset if that comes first
_BEFORE_QRS_MS = 360.0  # median-beat window before the QRS onset (a PR up to about 300 ms fits)
_AFTER_QRS_MS = 32.0
_TP_GAP_MS = 16.0  # the TP level is read this far before the delineated P onset ...
_TP_WINDOW_MS = 20.0  # ... over this long
_SEARCH_BACK_MS = 60.0  # the onset is looked for at most this far before the delineated one
_LEAD_QRS_SLACK_MS = 20.0  # a lead's QRS run belongs to a beat when it lies this close to the global QRS


def lead_p_waves(
    lead_labels: np.ndarray, beats: list[Beat], used: list[bool], fs_hz: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per used beat and lead, the lead's own P wave before its QRS.

    Args:
        lead_labels: class labels (leads, samples) at ``fs_hz`` (:mod:`core.measure.unet` classes).
        beats: global beats (:func:`core.measure.waves.beats_from_masks`).
        used: which beats count (:func:`core.measure.quality.used_beats`).
        fs_hz: sampling rate of the labels.

    Returns:
        ``(p_on, p_off, qrs_on)``: float arrays (used beats, leads) of the lead's last P run after the previous QRS
        and before the lead's QRS onset (NaN where the lead has none), and the global QRS onset per used beat.
    """
    slack = int(round(_LEAD_QRS_SLACK_MS * fs_hz / 1000.0))
    qrs_runs = [runs(row == QRS) for row in lead_labels]
    p_runs = [runs(row == P_WAVE) for row in lead_labels]
    on, off, qrs_on = [], [], []
    for k, (beat, ok) in enumerate(zip(beats, used, strict=True)):
        if not ok:
            continue
        prev = beats[k - 1] if k > 0 else None
        prev_end = -1 if prev is None else (prev.qrs_off if prev.qrs_off >= 0 else int(prev.centre))
        row_on, row_off = np.full(len(lead_labels), np.nan), np.full(len(lead_labels), np.nan)
        for lead, (q_runs, lead_p) in enumerate(zip(qrs_runs, p_runs, strict=True)):
            hits = [a for a, b in q_runs if b >= beat.qrs_on - slack and a <= beat.qrs_off + slack]
            if not hits:
                continue
            lead_qrs_on = min(hits)
            before = [(a, b) for a, b in lead_p if prev_end < a < lead_qrs_on and b <= lead_qrs_on + 2 and a > 0]
            if before:
                row_on[lead], row_off[lead] = before[-1]
        on.append(row_on)
        off.append(row_off)
        qrs_on.append(beat.qrs_on)
    shape = (len(on), len(lead_labels))
    return (
        np.array(on).reshape(shape),
        np.array(off).reshape(shape),
        np.array(qrs_on, dtype=int),
    )


def median_beat_pr_ms(
    signal_mv: np.ndarray, fs_hz: float, p_on: np.ndarray, p_off: np.ndarray, qrs_on: np.ndarray
) -> float | None:
    """PR (ms) on the median beat (module docstring, steps 2-4); None when it cannot be placed.

    Args:
        signal_mv: band-passed leads (leads, samples) at ``fs_hz``, the same leads as the label rows.
        fs_hz: sampling rate.
        p_on, p_off, qrs_on: from :func:`lead_p_waves`.
    """
    ms = 1000.0 / fs_hz
    before, after = int(round(_BEFORE_QRS_MS / ms)), int(round(_AFTER_QRS_MS / ms))
    fits = (qrs_on - before >= 0) & (qrs_on + after <= signal_mv.shape[1])
    with np.errstate(all="ignore"):
        # The window opens at the MIN_WINDOW_LEADS-th earliest lead's P onset: a T-wave bump one or two leads call P
        # must not pull the P peak into the T wave (v2.5).
        # Scaled to the leads present, as MIN_P_LEADS is: a 2-lead recording needs the P wave in one lead, not both.
        nth = max(1, round(MIN_WINDOW_LEADS * p_on.shape[1] / 12)) - 1
        first_on = np.sort(np.where(np.isnan(p_on), np.inf, p_on), axis=1)[:, nth] - qrs_on
        last_off = np.nanmax(np.where(np.isnan(p_off), -np.inf, p_off), axis=1) - qrs_on
    fits &= np.isfinite(first_on)
    if fits.sum() < 2:
        return None
    median = np.median([signal_mv[:, q - before : q + after] for q in qrs_on[fits]], axis=0)
    gap, window = int(round(_TP_GAP_MS / ms)), int(round(_TP_WINDOW_MS / ms))
    start = max(int(round(np.median(first_on[fits]))) + before, gap + window + 3)
    end = min(max(int(round(np.median(last_off[fits]))) + before, start + 3), before - 1)
    if end <= start:
        return None
    tp_from = max(0, start - gap - window)
    tp_to = max(tp_from + 1, start - gap)
    tp_level = median[:, tp_from:tp_to].mean(axis=1)
    pr_level = median[:, end : before - 1].mean(axis=1) if before - 1 > end else median[:, end]
    t = np.arange(median.shape[1])
    left, right = (tp_from + tp_to) / 2.0, (end + before - 1) / 2.0
    weight = np.clip((t - left) / max(right - left, 1.0), 0.0, 1.0)
    baseline = tp_level[:, None] * (1.0 - weight) + pr_level[:, None] * weight
    magnitude = np.sqrt(((median - baseline) ** 2).sum(axis=0))
    peak = start + int(np.argmax(magnitude[start : end + 1]))
    threshold = P_ONSET_FRACTION * magnitude[peak]
    if threshold <= 0.0:
        return None
    i = peak
    lowest = max(tp_to, start - int(round(_SEARCH_BACK_MS / ms)))
    while i > lowest and magnitude[i] > threshold:
        i -= 1
    onset = float(i)
    if magnitude[i + 1] != magnitude[i]:  # interpolate the crossing between samples
        onset += float(np.clip((threshold - magnitude[i]) / (magnitude[i + 1] - magnitude[i]), 0.0, 1.0))
    return (before - onset) * ms + PR_OFFSET_MS


def p_wave_repeatability(signal_mv: np.ndarray, fs_hz: float, qrs_on: np.ndarray, pr_ms: float) -> float | None:
    """Median pairwise correlation of the beats' multi-lead P windows placed by ``pr_ms`` (step 5 of the module
    docstring); None when fewer than three beats have a whole window.

    Args:
        signal_mv: band-passed leads (leads, samples) at ``fs_hz``.
        fs_hz: sampling rate.
        qrs_on: global QRS onset (sample) of each used beat.
        pr_ms: the measured PR.
    """
    ms = 1000.0 / fs_hz
    # in samples before the QRS onset
    start = int(round((pr_ms + _P_WINDOW_BEFORE_MS) / ms))
    end = int(round(max(pr_ms - _P_WINDOW_AFTER_MS, _P_WINDOW_QRS_GAP_MS) / ms))
    if end >= start - 2:
        return None
    windows = [signal_mv[:, q - start : q - end] for q in qrs_on if q - start >= 0 and q - end <= signal_mv.shape[1]]
    if not windows:
        return None
    # each lead's own level removed: baseline wander moves it from beat to beat, and it is not the P wave's shape
    rows = np.array([(w - w.mean(axis=1, keepdims=True)).ravel() for w in windows], dtype=float)
    correlations = pairwise_correlations(rows)
    if correlations is None:
        return None
    return float(np.median(correlations[np.triu_indices(len(correlations), 1)]))


def p_lead_share(p_on: np.ndarray, lead_names: Sequence[str] | None) -> tuple[float, int]:
    """Share and count of used beats where a lead of :data:`P_LEADS` shows its own P wave (0, 0 without names)."""
    rows = [i for i, name in enumerate(lead_names or ()) if name.upper() in P_LEADS]
    if not rows or not len(p_on):
        return 0.0, 0
    beats_with_p = (~np.isnan(p_on[:, rows])).any(axis=1)
    return float(beats_with_p.mean()), int(beats_with_p.sum())


def uncoupled_reason(beat_pr_ms: Sequence[float] | None, irregular: bool | None) -> str | None:
    """Why PR is not measured when P waves are found but move against the QRS in an irregular rhythm (step 1:
    beat-to-beat PR spread over :data:`MAX_IRREGULAR_PR_IQR_MS`); None when that gate passes."""
    if not irregular or not beat_pr_ms:
        return None
    spread = float(np.subtract(*np.percentile(beat_pr_ms, [75, 25])))
    if spread <= MAX_IRREGULAR_PR_IQR_MS:
        return None
    return f"irregular rhythm without a fixed P-QRS coupling (PR IQR {spread:.0f} ms between beats)"


def pr_on_median_beat(
    beat_estimate: Estimate,
    signal_mv: np.ndarray,
    lead_labels: np.ndarray,
    beats: list[Beat],
    used: list[bool],
    fs_hz: float,
    *,
    beat_pr_ms: list[float] | None = None,
    irregular: bool | None = None,
    lead_names: Sequence[str] | None = None,
) -> Estimate:
    """The PR estimate measured on the median beat, keeping the per-beat estimate's confidence.

    Args:
        beat_estimate: PR from the global masks beat by beat (:func:`core.measure.quality.estimate`); when it is
            missing (too few beats with a P wave, beats disagreeing), PR stays missing with its reason unless the
            fallback of the module docstring (step 1) applies.
        beat_pr_ms: those per-beat PR values; with ``irregular`` their spread tells whether P and QRS are coupled.
        irregular: whether the rhythm is irregular (:func:`core.measure.measurements.is_irregular`).
        signal_mv: band-passed leads (leads, samples) at ``fs_hz``, rows matching ``lead_labels``.
        lead_labels: per-lead class labels at ``fs_hz``.
        beats, used: the record's beats and which of them count.
        fs_hz: sampling rate of ``signal_mv`` and ``lead_labels``.
        lead_names: names of the rows (``"II"``, ``"V1"``, ...); without them there is no fallback.
    """
    reason = uncoupled_reason(beat_pr_ms, irregular)
    if reason is not None:
        return Estimate(None, beat_estimate.confidence, reason)
    p_on, p_off, qrs_on = lead_p_waves(lead_labels, beats, used, fs_hz)
    n_leads = lead_labels.shape[0]
    need = max(1, round(MIN_P_LEADS * n_leads / 12))
    seen = float(np.median((~np.isnan(p_on)).sum(axis=1))) if len(p_on) else 0.0
    confidence = beat_estimate.confidence
    reason = beat_estimate.reason if beat_estimate.value is None else None
    if reason is None and seen < need:
        reason = f"P wave found in only {seen:.0f} of {n_leads} leads (at least {need} needed)"
    if reason is not None:
        share, count = p_lead_share(p_on, lead_names)
        if irregular is not False or share < MIN_P_LEAD_BEAT_SHARE or count < MIN_FALLBACK_BEATS:
            return Estimate(None, beat_estimate.confidence, reason)
        confidence = round(FALLBACK_CONFIDENCE * share, 2)
    pr = median_beat_pr_ms(signal_mv, fs_hz, p_on, p_off, qrs_on)
    if pr is None:
        return Estimate(None, confidence, "P-wave onset not found on the median beat")
    lo, hi = RANGES["pr_ms"]
    if not lo <= pr <= hi:
        return Estimate(None, confidence, f"PR {pr:.0f} ms is outside {lo:.0f}-{hi:.0f} ms")
    repeat = p_wave_repeatability(signal_mv, fs_hz, qrs_on, pr)
    if repeat is not None and repeat < MIN_P_REPEATABILITY:
        reason = (
            f"PR not measurable: no P wave repeats before the QRS complexes (beat-to-beat correlation {repeat:.2f}; "
            "fibrillation waves, noise or P waves not coupled to the QRS)"
        )
        return Estimate(None, confidence, reason)
    return Estimate(pr, confidence)
