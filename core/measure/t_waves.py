"""T-wave amplitude per lead, and T-wave inversion where two contiguous leads show it.

Per lead and beat, the T wave's amplitude is read inside the delineated (global) T wave (:func:`t_amplitude`): its
trough where the wave is mainly below the baseline, or where it ends in a negative phase of :data:`INVERSION_MV` or
more after its peak (a biphasic +/- T wave, the terminal inversion of ischaemia), else its peak. The baseline is a
line from the PR segment before the beat's QRS (the 20 ms before its onset, as :mod:`core.measure.st_segment` reads
it) to the PR segment of the next beat: a T wave lies 300-500 ms after its own PR segment, and baseline wander over
that time is as large as a T wave (a normal ECG of the 500-record folder, ``ptbxl/00200``, drifts 0.5 mV in V5-V6 in
two seconds, and read against its PR segment alone its T waves were "inverted"). The last beat, with no next PR
segment, is not read. Per lead, the median over the used beats.

**T-wave inversion** (:func:`t_inversion_leads`): a T amplitude of -:data:`INVERSION_MV` (0.1 mV, 1 mm) or
deeper, in two contiguous leads, aVR, III and V1 not read (a negative T wave is
normal there), as the international criteria for athletes' ECGs define abnormal T-wave inversion. The walls are those
of :mod:`core.measure.st_segment`, without the leads not read (inferior II and aVF). A bundle branch block or
ventricular pacing inverts T waves by itself (secondary changes); the value is voltage only, as a machine states it.

Chosen on training records only (``python -m core.measure.t_dev --data-root ../shared/data``, 2026-12-05, 1:40),
against the leads each PTB-XL report names T waves inverted or negative in
(:func:`core.measure.reference_labels.stated_t_inversion_leads`) and PTB-XL's ``INVT`` code. On the training folds of
``ptbxl_more`` the rule meets 187 of the 262 named leads (50 of the other 75 reach 0.05-0.1 mV: "slightly
inverted"), two contiguous leads on 23 of the 29 ``INVT`` records and on none of the 759 normal ECGs; a 0.05 mV
limit met 237 named leads and one normal ECG. Reading the larger deflection alone missed 6 named leads (terminal
inversions after an elevated ST segment, ``ptbxl/00912`` V2); counting any negative phase, an initial one too, met a
normal ECG of the 500-record folder (``ptbxl/00068``: -/+ T waves in I and aVL), and so did the PR segment alone
as the baseline (``ptbxl/00200``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np

from core.ecg import ECG
from core.leads import LEAD_INDEX
from core.measure.st_segment import ST_GROUPS

INVERSION_MV = 0.1
NOT_READ = ("aVR", "III", "V1")  # a negative T wave is normal in these leads
T_GROUPS: dict[str, tuple[str, ...]] = {
    wall: tuple(n for n in leads if n not in NOT_READ) for wall, leads in ST_GROUPS.items()
}
_BASELINE_S = 0.02


def t_wave_windows(beats: Iterable) -> list[tuple[float, float, float, float]]:
    """(QRS onset, T onset, T offset, next QRS onset) in seconds of each used beat (objects with ``qrs_on_s``,
    ``t_on_s``, ``t_off_s``, ``used``: :class:`core.measure.measurements.BeatFiducials`) that has a delineated T wave
    and a next beat to draw the baseline to."""
    beats = list(beats)
    return [
        (beat.qrs_on_s, beat.t_on_s, beat.t_off_s, after.qrs_on_s)
        for beat, after in zip(beats, beats[1:], strict=False)
        if beat.used and None not in (beat.qrs_on_s, beat.t_on_s, beat.t_off_s, after.qrs_on_s)
    ]


def lead_t_amplitudes(
    ecg: ECG,
    beats_s: Sequence[tuple[float, float, float, float]],
    *,
    reading: Callable[[np.ndarray], float] | None = None,
    sloped_baseline: bool = True,
) -> dict[str, float]:
    """Per present lead, the median T-wave amplitude (mV, signed: :func:`t_amplitude`) over the beats given as
    (QRS onset, T onset, T offset, next beat's QRS onset) in seconds (:func:`t_wave_windows`); empty under two beats
    that fit the record. ``reading`` and ``sloped_baseline=False`` (the PR segment alone) are the alternatives
    :mod:`core.measure.t_dev` compares."""
    reading = reading or t_amplitude
    present = list(ecg.present_leads)
    x = np.nan_to_num(np.asarray(ecg.signal_mv, dtype=np.float64))[[LEAD_INDEX[n] for n in present]]
    fs = ecg.fs_hz
    pre = max(1, int(round(_BASELINE_S * fs)))
    per_beat = []
    for qrs_on_s, t_on_s, t_off_s, next_on_s in beats_s:
        on, t_on, t_off, next_on = (int(round(s * fs)) for s in (qrs_on_s, t_on_s, t_off_s, next_on_s))
        if on - pre < 0 or not on < t_on < t_off < next_on or next_on >= x.shape[1]:
            continue
        level = np.median(x[:, on - pre : on + 1], axis=1, keepdims=True)
        next_level = np.median(x[:, next_on - pre : next_on + 1], axis=1, keepdims=True)
        k = np.arange(t_on, t_off + 1)
        baseline = level + (next_level - level) * (k - on) / (next_on - on) if sloped_baseline else level
        per_beat.append([reading(row) for row in x[:, t_on : t_off + 1] - baseline])
    if len(per_beat) < 2:
        return {}
    median = np.median(np.array(per_beat), axis=0)
    return {name: round(float(v), 3) for name, v in zip(present, median, strict=True)}


def t_amplitude(wave: np.ndarray) -> float:
    """One beat's T wave against the baseline (0): its trough where that is the larger deflection, or where it
    follows the peak and reaches -:data:`INVERSION_MV` (terminal inversion); else its peak."""
    peak, trough = int(np.argmax(wave)), int(np.argmin(wave))
    high, low = float(wave[peak]), float(wave[trough])
    return low if (-low > high or (trough > peak and low <= -INVERSION_MV)) else high


def inverted(lead: str, t_mv: float | None) -> bool:
    """Whether a lead's T wave counts as inverted (module docstring); never in the leads not read."""
    return lead not in NOT_READ and t_mv is not None and t_mv <= -INVERSION_MV


def t_inversion_leads(amplitudes: Mapping[str, float]) -> tuple[str, ...] | None:
    """The leads with an inverted T wave (:func:`inverted`) in walls where two have one, in standard lead order
    (empty where none); None when no wall has two of its leads measured."""
    if not any(sum(n in amplitudes for n in leads) >= 2 for leads in T_GROUPS.values()):
        return None
    out: set[str] = set()
    for leads in T_GROUPS.values():
        found = {n for n in leads if inverted(n, amplitudes.get(n))}
        out |= found if len(found) >= 2 else set()
    return tuple(sorted(out, key=LEAD_INDEX.__getitem__))
