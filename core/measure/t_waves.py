"""T-wave amplitude per lead, and T-wave inversion or low, flat T waves where two contiguous leads show them.

Per lead, the T wave is read on the median beat: each used beat is cut from its QRS onset plus the beats' median
T onset to plus their median T offset (the delineated global T wave), its baseline taken out, and the median taken
sample by sample, as a 12-lead machine reads its median complex (read beat by beat, a flat T wave under muscle tremor
read the noise's largest spike). The baseline is a line from the beat's PR segment (the 20 ms before its QRS onset,
as :mod:`core.measure.st_segment` reads it) to the next beat's: a T wave lies 300-500 ms after its own PR segment,
and baseline wander over that time is as large as a T wave (a normal ECG of the 500-record folder, ``ptbxl/00200``,
drifts 0.5 mV in V5-V6 in two seconds, and read against its PR segment alone its T waves were "inverted"). The last
beat, with no next PR segment, is not read. The amplitude (:func:`t_amplitude`) is the median T wave's trough where
the wave is mainly below the baseline, or where it ends in a negative phase of :data:`INVERSION_MV` or more after its
peak (a biphasic +/- T wave, the terminal inversion of ischaemia), else its peak.

**T-wave inversion** (:func:`t_inversion_leads`): a T amplitude of -:data:`INVERSION_MV` (0.1 mV, 1 mm) or
deeper, in two contiguous leads, aVR, III and V1 not read (a negative T wave is
normal there), as the international criteria for athletes' ECGs define abnormal T-wave inversion. The walls are those
of :mod:`core.measure.st_segment`, without the leads not read (inferior II and aVF). A bundle branch block or
ventricular pacing inverts T waves by itself (secondary changes); the value is voltage only, as a machine states it.

Chosen on training records only (``python -m core.measure.t_dev --data-root ../shared/data``, 2026-12-05, 48 s),
against the leads each PTB-XL report names T waves inverted or negative in
(:func:`core.measure.reference_labels.stated_t_inversion_leads`) and PTB-XL's ``INVT`` code. On the training folds of
``ptbxl_more`` the rule meets 179 of the 262 named leads (55 of the other 83 reach 0.05-0.1 mV), two
contiguous leads on 22 of the 29 ``INVT`` records and on none of the 759 normal ECGs (10 of their 6,831 leads); a 0.05
mV limit met 234 named leads, 41 normal leads and one normal ECG. Each beat read apart, then the median of the
readings, met 187 named and 11 normal leads (3 against 1 on the 500-record folder), partly the noise's doing
(``ptbxl/00423``, training fold 8, tremor in the limb leads: II read -0.14 mV beat by beat, -0.07 on the median
beat). Reading the larger deflection alone
met 5 fewer named leads (terminal inversions after an elevated ST segment); the PR segment alone as the baseline met a
normal ECG of the 500-record folder (``ptbxl/00200``).

**Low or flat T waves** (:func:`low_t_leads`): a T amplitude under :data:`INVERSION_MV` either way (neither upright
by 1 mm nor inverted by it), in two contiguous leads of I, II, aVF and V3-V6 (:data:`LOW_T_GROUPS`: the leads where a
normal adult T wave is upright; in aVL and V2, as in aVR, III and V1, a low T wave is common on normal ECGs). Chosen
on the same training records (``t_dev``'s second table, 2026-12-05), against the leads each report names T waves low
or flat in (:func:`core.measure.reference_labels.stated_low_t_leads`) and PTB-XL's ``LOWT``: on the training folds of
``ptbxl_more`` the rule finds 75 of the 98 records naming low T waves, 38 of the 47 coded ``LOWT`` and 16 of the 755
normal ECGs (2 %); reading aVL and V2 too found 86, 41 and 46 (aVL's and V2's T waves are low on many normal ECGs);
leaving aVF out as well, 66, 34 and 11, with no inferior wall left to name; a limit of 0.08 mV 59, 30 and 4; an R wave
of 0.5 mV or more in the lead (Minnesota's 5 mm) 63, 33 and 10. The limit stays the 1 mm that divides upright,
low and inverted; the inferior wall stays readable. On the 500-record folder's training part: 13 of 20, 7 of 9, 1 of
205. Like the inversion, a voltage reading: with a wide QRS the T wave changes with the QRS.
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
# Low or flat T waves are read only where a normal adult T wave is upright (I, II, aVF, V3-V6): in aVL and V2, as in
# the leads not read for inversion, a low T wave is common on normal ECGs (module docstring).
LOW_T_GROUPS: dict[str, tuple[str, ...]] = {
    wall: tuple(n for n in leads if n not in ("aVL", "V2")) for wall, leads in T_GROUPS.items()
}
_LOW_T_READ = frozenset(n for leads in LOW_T_GROUPS.values() for n in leads)
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
    median_beat: bool = True,
) -> dict[str, float]:
    """Per present lead, the T-wave amplitude (mV, signed: :func:`t_amplitude`) of the median beat of the beats given
    as (QRS onset, T onset, T offset, next beat's QRS onset) in seconds (:func:`t_wave_windows`); empty under two
    beats that fit the record. ``reading``, ``sloped_baseline=False`` (the PR segment alone) and ``median_beat=False``
    (each beat read, then the median of the readings) are the alternatives :mod:`core.measure.t_dev` compares."""
    reading = reading or t_amplitude
    present = list(ecg.present_leads)
    x = np.nan_to_num(np.asarray(ecg.signal_mv, dtype=np.float64))[[LEAD_INDEX[n] for n in present]]
    fs = ecg.fs_hz
    pre = max(1, int(round(_BASELINE_S * fs)))
    beats = [tuple(int(round(s * fs)) for s in beat) for beat in beats_s]
    beats = [b for b in beats if b[0] - pre >= 0 and b[0] < b[1] < b[2] < b[3] < x.shape[1]]
    if len(beats) < 2:
        return {}
    # The median beat's T wave: each beat cut at the median T onset and offset after its QRS onset, as a machine
    # aligns its median complex; muscle tremor averages out (read beat by beat, a flat T wave read the noise's peaks).
    start = int(np.median([b[1] - b[0] for b in beats]))
    stop = int(np.median([b[2] - b[0] for b in beats]))
    segments = []
    for on, t_on, t_off, next_on in beats:
        a, b = (on + start, on + stop) if median_beat else (t_on, t_off)
        if b >= next_on:
            continue
        level = np.median(x[:, on - pre : on + 1], axis=1, keepdims=True)
        next_level = np.median(x[:, next_on - pre : next_on + 1], axis=1, keepdims=True)
        k = np.arange(a, b + 1)
        baseline = level + (next_level - level) * (k - on) / (next_on - on) if sloped_baseline else level
        segments.append(x[:, a : b + 1] - baseline)
    if len(segments) < 2:
        return {}
    if median_beat:
        values = [reading(row) for row in np.median(np.stack(segments), axis=0)]
    else:
        values = np.median([[reading(row) for row in seg] for seg in segments], axis=0)
    return {name: round(float(v), 3) for name, v in zip(present, values, strict=True)}


def t_amplitude(wave: np.ndarray) -> float:
    """One beat's T wave against the baseline (0): its trough where that is the larger deflection, or where it
    follows the peak and reaches -:data:`INVERSION_MV` (terminal inversion); else its peak."""
    peak, trough = int(np.argmax(wave)), int(np.argmin(wave))
    high, low = float(wave[peak]), float(wave[trough])
    return low if (-low > high or (trough > peak and low <= -INVERSION_MV)) else high


def inverted(lead: str, t_mv: float | None) -> bool:
    """Whether a lead's T wave counts as inverted (module docstring); never in the leads not read."""
    return lead not in NOT_READ and t_mv is not None and t_mv <= -INVERSION_MV


def low(lead: str, t_mv: float | None) -> bool:
    """Whether a lead's T wave counts as low or flat: under :data:`INVERSION_MV` either way, in the leads where a
    normal T wave is upright (:data:`LOW_T_GROUPS`)."""
    return lead in _LOW_T_READ and t_mv is not None and -INVERSION_MV < t_mv < INVERSION_MV


def t_inversion_leads(amplitudes: Mapping[str, float]) -> tuple[str, ...] | None:
    """The leads with an inverted T wave (:func:`inverted`) in walls where two have one, in standard lead order
    (empty where none); None when no wall has two of its leads measured."""
    return _in_two_contiguous(amplitudes, T_GROUPS, inverted)


def low_t_leads(amplitudes: Mapping[str, float]) -> tuple[str, ...] | None:
    """The leads with a low or flat T wave (:func:`low`) in walls (:data:`LOW_T_GROUPS`) where two have one, in
    standard lead order (empty where none); None when no wall has two of its leads measured."""
    return _in_two_contiguous(amplitudes, LOW_T_GROUPS, low)


def _in_two_contiguous(
    amplitudes: Mapping[str, float],
    groups: Mapping[str, tuple[str, ...]],
    found_in: Callable[[str, float | None], bool],
) -> tuple[str, ...] | None:
    if not any(sum(n in amplitudes for n in leads) >= 2 for leads in groups.values()):
        return None
    out: set[str] = set()
    for leads in groups.values():
        found = {n for n in leads if found_in(n, amplitudes.get(n))}
        out |= found if len(found) >= 2 else set()
    return tuple(sorted(out, key=LEAD_INDEX.__getitem__))
