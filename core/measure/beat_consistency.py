"""Whether the beats found look like heartbeats at all: QRS complexes of one rhythm resemble each other.

Why: the delineator marks QRS complexes in anything. On Gaussian noise it found 20-26 "beats" in 2 leads and stated
"heart rate 119 bpm, irregular rhythm, QRS 72 ms" with full confidence; on 12 leads of noise, "41 bpm, right axis
deviation". neurokit2's signal-quality indices, the maintained option, do not tell noise from ECG here: on lead II,
``ecg_quality(method="zhao2018")`` rated noise "Excellent" or "Barely acceptable" and 7-14 % of real PTB-XL, CinC
and LUDB records "Unacceptable", and ``method="averageQRS"`` gave noise 0.29-0.68 against real records' 5th
percentile of 0.43-0.47.

The check used instead: the used beats' multi-lead QRS windows (band-passed leads around each beat's centre) are
correlated pairwise, and the share of beats that resemble the most common one is the consistency. Any real rhythm
has a dominant morphology (ventricular bigeminy: half the beats); noise's "beats" share nothing. A first version
correlated each beat with the median window: ventricular bigeminy (``ptbxl/17466``) scored 0.38 there, within
noise's range. Regular spikes (a pacemaker's, or artefact) resemble each other and pass: this catches noise, not
every artefact.
"""

from __future__ import annotations

import numpy as np

from core.measure.waves import Beat

WINDOW_MS = 80.0  # each side of the QRS centre: the QRS itself, not the ST segment or the T wave
MIN_BEATS = 3  # fewer beats are not judged here (the intervals say so themselves)
SIMILAR = 0.8  # correlation at which two QRS windows count as the same morphology
# Under this share, no heartbeats are recognised (measure v2.7). Chosen on the training parts of every benchmark
# source (2,893 records; lowest 0.50: ventricular bigeminy, whose dominant morphology is half the beats) and on
# generated noise (white, 50 Hz hum, Brownian drift: at most 0.43, white noise and hum at most 0.33).
MIN_CONSISTENCY = 0.4


def beat_windows(filtered_mv: np.ndarray, beats: list[Beat], fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Every beat's multi-lead QRS window, one flattened and mean-removed row per beat, and the beats' indices
    (beats whose window an edge cuts are left out)."""
    half = int(round(WINDOW_MS * fs_hz / 1000.0))
    n = filtered_mv.shape[1]
    centres = [int(round(b.centre)) for b in beats]
    index = [i for i, c in enumerate(centres) if c - half >= 0 and c + half < n]
    if not index:
        return np.zeros(0, dtype=int), np.zeros((0, filtered_mv.shape[0] * (2 * half + 1)))
    stack = np.array([filtered_mv[:, centres[i] - half : centres[i] + half + 1].ravel() for i in index], dtype=float)
    return np.array(index), stack - stack.mean(axis=1, keepdims=True)


def qrs_windows(filtered_mv: np.ndarray, beats: list[Beat], used: list[bool], fs_hz: float) -> np.ndarray:
    """The used beats' multi-lead QRS windows (:func:`beat_windows` of the used beats)."""
    return beat_windows(filtered_mv, [b for b, ok in zip(beats, used, strict=True) if ok], fs_hz)[1]


def pairwise_correlations(rows: np.ndarray) -> np.ndarray | None:
    """Pearson correlation of every row with every other (rows: one beat's window each); rows without any shape (a
    flat stretch) are left out, and under MIN_BEATS rows left there is no verdict (None). Also used for the P wave
    (:func:`core.measure.p_onset.p_wave_repeatability`)."""
    centred = rows - rows.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(centred, axis=1)
    shaped = norms > 0
    if shaped.sum() < MIN_BEATS:
        return None
    unit = centred[shaped] / norms[shaped, None]
    return unit @ unit.T


def qrs_consistency(filtered_mv: np.ndarray, beats: list[Beat], used: list[bool], fs_hz: float) -> float | None:
    """Share of the used beats that resemble the most common beat (None under MIN_BEATS beats).

    Each beat's window is correlated with every other; the beat resembling most others (correlation at least
    SIMILAR) stands for the dominant morphology, and the share is that beat and those like it. A real rhythm gives
    most beats (ventricular bigeminy half of them); noise a few at most.
    """
    correlations = pairwise_correlations(qrs_windows(filtered_mv, beats, used, fs_hz))
    if correlations is None:
        return None
    similar = correlations >= SIMILAR
    return float(similar.sum(axis=1).max() / len(similar))
