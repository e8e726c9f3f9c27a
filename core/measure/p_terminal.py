"""P-wave terminal force in V1: the negative end of V1's P wave, the ECG sign of left atrial abnormality.

In V1 the P wave is often biphasic: the right atrium's activation comes first (upward), the left atrium's last
(downward, as the left atrium lies behind V1). An enlarged or slowly conducting left atrium deepens and lengthens that
negative end; Morris' criterion (1964) calls it abnormal when it is at least 0.1 mV (1 mm) deep and 40 ms (1 mm)
long (:data:`MORRIS_DEPTH_MV`, :data:`MORRIS_MS`).

Read on V1's median P wave, as a 12-lead machine reads its median complex: each used beat with a P wave (not a
premature beat: its P wave is ectopic or hidden) is cut from before its P onset to its QRS onset, aligned on the QRS
onset, its level just before the P onset (:data:`BASELINE_MS`) taken out, and the median taken sample by sample. The
negative end is the last run of the median P wave under that baseline between the P onset and the delineated P
offset; its depth is the run's lowest point, its length the time between its baseline crossings (linearly
interpolated between samples, so a 100 Hz record is not read in 10 ms steps; a run still under the baseline at the P
offset ends there).

Read on training records only (``python -m core.measure.p_terminal_dev --data-root ../shared/data``, 2026-12-05, 3
min): on the training folds of ``ptbxl_more`` Morris' criterion is met on 19 of the 40 ECGs coded ``LAO/LAE`` and on
24 of the 902 normal ECGs (2.7 %); on the 500-record folder's training part on 6 of 225 normal ECGs and on none of its
one ``LAO/LAE``. The depth decides: V1's P wave is negative for 40 ms or more on 834 of the 902 normal ECGs (in V1 a
normal P wave is often wholly negative, and shallow), so Morris' product (depth x length, 4 mV·ms, his 0.04 mm·s) is
met on 292 of them. Letting the run go on past the delineated P offset (into the PR segment, up to the QRS) met the
same records with longer durations; the P wave's own end was kept. The thresholds are Morris' and were not tuned.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.ecg import ECG
from core.leads import LEAD_INDEX
from core.measure.waves import runs

MORRIS_DEPTH_MV = 0.1
MORRIS_MS = 40.0
BASELINE_MS = 20.0  # the level over this long before the P onset is the baseline
_LEAD = "V1"


@dataclass(frozen=True)
class PTerminal:
    """V1's negative P-wave end: ``depth_mv`` (positive: how far below the baseline) and ``duration_ms`` (0 and 0
    when the P wave has no negative end)."""

    depth_mv: float
    duration_ms: float

    @property
    def force(self) -> float:
        """Depth x duration in mV·ms (Morris' product; 4 mV·ms is his 0.04 mm·s)."""
        return self.depth_mv * self.duration_ms

    @property
    def abnormal(self) -> bool:
        """Morris' criterion: at least :data:`MORRIS_DEPTH_MV` deep and :data:`MORRIS_MS` long."""
        return self.depth_mv >= MORRIS_DEPTH_MV and self.duration_ms >= MORRIS_MS


def p_wave_windows(beats: Iterable) -> list[tuple[float, float, float]]:
    """(P onset, P offset, QRS onset) in seconds of each used, non-premature beat (objects with ``p_on_s``,
    ``p_off_s``, ``qrs_on_s``, ``used``, ``premature``: :class:`core.measure.measurements.BeatFiducials`) that has
    all three, in that order."""
    return [
        (b.p_on_s, b.p_off_s, b.qrs_on_s)
        for b in beats
        if b.used and not b.premature and None not in (b.p_on_s, b.p_off_s, b.qrs_on_s)
        if b.p_on_s < b.p_off_s <= b.qrs_on_s
    ]


def v1_p_terminal(ecg: ECG, windows: Sequence[tuple[float, float, float]]) -> PTerminal | None:
    """V1's negative P-wave end on the median P wave of the beats given as (P onset, P offset, QRS onset) in seconds
    (:func:`p_wave_windows`); None when V1 was not recorded or fewer than two beats fit the record."""
    if _LEAD not in ecg.present_leads:
        return None
    x = np.nan_to_num(np.asarray(ecg.signal_mv[LEAD_INDEX[_LEAD]], dtype=np.float64))
    fs = ecg.fs_hz
    pre = max(1, int(round(BASELINE_MS * fs / 1000.0)))
    beats = [tuple(int(round(s * fs)) for s in w) for w in windows]
    beats = [b for b in beats if b[2] < x.size]
    if len(beats) < 2:
        return None
    # Aligned on the QRS onset: the median P onset and offset before it, and the baseline window before the onset.
    before = int(np.median([q - on for on, _, q in beats]))
    p_off = int(np.median([q - off for _, off, q in beats]))
    beats = [b for b in beats if b[2] - before - pre >= 0]
    if len(beats) < 2:
        return None
    cuts = [x[q - before - pre : q + 1] - np.median(x[q - before - pre : q - before + 1]) for _, _, q in beats]
    median = np.median(np.stack(cuts), axis=0)
    return negative_end(median[pre : pre + before - p_off + 1], 1000.0 / fs)


def negative_end(wave: np.ndarray, ms: float) -> PTerminal:
    """The last run of ``wave`` (a P wave from its onset to its offset, baseline 0) under 0, ``ms`` apart samples."""
    found = runs(wave < 0.0)
    if not found:
        return PTerminal(0.0, 0.0)
    first, last = found[-1]
    # Crossing times, interpolated between the sample above the baseline and the one below it.
    begin = float(first) if first == 0 else first - 1 + wave[first - 1] / (wave[first - 1] - wave[first])
    end = float(last) if last == wave.size - 1 else last + wave[last] / (wave[last] - wave[last + 1])
    return PTerminal(round(float(-wave[first : last + 1].min()), 3), round(float(end - begin) * ms, 1))
