"""Waveform measurements of a 12-lead ECG, measured from the signal, and their English sentence.

:func:`measure_ecg` runs the U-Net delineator (:mod:`core.measure.delineator`) on every recorded lead, combines the
per-lead P/QRS/T labels into global waves (:mod:`core.measure.waves`: a sample is in the global QRS when 4 of 12
leads agree), keeps the dominant beats and rates each interval's reliability (:mod:`core.measure.quality`), and
measures amplitudes and the axis inside the global QRS windows (:mod:`core.measure.amplitude`).

Definitions:

* ``hr_bpm``: 60 000 / mean RR (ms) over the strip.
* ``rr_irregularity``: coefficient of variation of RR (std / mean); ``rr_step_irregularity``: median absolute
  difference of successive RR intervals / median RR. ``irregular`` needs both above their thresholds
  (:data:`IRREGULAR_RR_CV`, :data:`IRREGULAR_RR_STEP`): atrial fibrillation varies overall *and* from beat to beat,
  whereas gradual sinus arrhythmia raises only the first and one ectopic beat barely moves the median of the second.
  (Thresholds chosen on PTB-XL folds 1-8 only: AFIB flagged 92 %, sinus rhythm 4 %; the coefficient of variation
  alone at 0.12 gave 86 % and 6 %.) ``rmssd_ms`` is the root mean square of successive RR differences.
* ``pr_ms``, ``qrs_ms``, ``qt_ms``: medians over the used beats of P onset -> QRS onset, QRS onset -> QRS offset and
  QRS onset -> T offset, with global onsets and offsets across leads. With the per-lead labels and the signal
  (:func:`measure_ecg`), PR is instead measured on the multi-lead median beat from the P wave's onset on the signal,
  and is missing when too few leads show a P wave unless lead II or V1 shows it in most beats
  (:mod:`core.measure.p_onset`); each used beat's P onset is then
  the one PR is measured from. PR is the dominant rhythm's: premature beats, whose P wave is ectopic or hidden, are
  left out of it and keep their own P points (v2.14).
* ``qtc_ms``: Bazett's correction QT / sqrt(RR in s); ``qtc_fridericia_ms``: QT / cbrt(RR in s).
* ``axis_deg``, ``sokolow_lyon_mv``, ``limb_qrs_amplitude_mv``, ``precordial_qrs_amplitude_mv``, ``low_voltage``:
  see :mod:`core.measure.amplitude`. Missing, with the reason, when the file's amplitudes are not calibrated
  (:mod:`core.data.lead_scaling`: LUDB stores every lead scaled to 1 mV); the axis then stays only when the limb
  leads' relative sizes were restored (v2.9).
* ``premature_ventricular``, ``premature_supraventricular``: premature beats with a QRS unlike, or like, the
  dominant beat's (:mod:`core.measure.ectopy`, v2.11); the supraventricular count is missing in an irregular rhythm
  (an early beat means nothing in atrial fibrillation) and, since v2.14, where the dominant beats show no P wave or
  none that repeats (no P-wave rhythm for an atrial beat to be early against). Each beat's ``premature`` says which
  kind it is, and premature ventricular beats are left out of the medians (v2.13), as a machine's median beat is the
  dominant one.
* ``paced_beats``: QRS complexes preceded by a pacemaker spike seen on most leads (:mod:`core.measure.pacing`,
  v2.15); stated from three on, missing under 500 Hz. Each beat's ``pace_s`` is its spike's time.
* ``st_depression_mv``: the deepest ST depression (J + 60 ms against the PR segment) that two contiguous leads share
  (:mod:`core.measure.st_segment`; each lead's level is ``per_lead[lead]["st_mv"]``). Added 2026-12-04 without a
  version change, as ``v1_r_to_s`` below; missing where the millivolts are not calibrated.
* ``st_elevation_leads``: the leads with ST elevation at J over the universal definition's voltage limits, in walls
  where two contiguous leads show it (:func:`core.measure.st_segment.st_elevation_leads`; each lead's level at J is
  ``per_lead[lead]["st_j_mv"]``); empty where none, missing where the millivolts are not calibrated. Added
  2026-12-04 without a version change (not in the sentence).
* ``q_wave_leads``: the leads with a pathological Q wave (the universal definition: 30 ms and 0.1 mV, or QS; V2-V3
  20 ms) in walls where two contiguous leads have one (:mod:`core.measure.q_waves`; each lead's ``q_ms``, ``q_mv``,
  ``qs`` in ``per_lead``); empty where none, missing where the millivolts are not calibrated. Added 2026-12-04 without
  a version change (not in the sentence).
* ``t_inversion_leads``: the leads whose T wave is inverted by 0.1 mV or more in walls where two contiguous leads show
  it, aVR, III and V1 not read (:mod:`core.measure.t_waves`; each lead's signed T amplitude is
  ``per_lead[lead]["t_mv"]``); empty where none, missing where the millivolts are not calibrated or no T wave was
  delineated. Added 2026-12-05 without a version change (not in the sentence).
* ``low_t_leads``: the leads whose T wave is low or flat (under 0.1 mV either way) in walls where two contiguous leads
  of I, II, aVF, V3-V6 show it (:func:`core.measure.t_waves.low_t_leads`, the same ``t_mv``); empty where none,
  missing as ``t_inversion_leads`` is. Added 2026-12-05 without a version change (not in the sentence).
* ``v1_r_to_s``: V1's R/S amplitude ratio (:func:`core.measure.amplitude.v1_r_to_s`): under 0.5 in every complete left
  and from 0.79 in every complete right bundle branch block of the calibrated training records (49 and 52, SPH
  counted). A ratio within one lead, so kept where the millivolts are not (LUDB). Added 2026-12-04 without a version
  change: the sentence does not use it, so FG-CLEP's sentences are the same.
* ``v1_p_terminal_mv``, ``v1_p_terminal_ms``: depth and length of the negative end of V1's median P wave
  (:mod:`core.measure.p_terminal`); :attr:`Measurements.left_atrial_abnormality` is Morris' criterion on them (0.1 mV
  and 40 ms). Missing without a P wave in two beats, or where the millivolts are not calibrated. Added 2026-12-05
  without a version change (not in the sentence).
* :attr:`Measurements.rr_range_ms`: longest minus shortest RR interval, premature beats' intervals left out, sinus
  arrhythmia's measure. Added 2026-12-05 without a version change (not in the sentence).
* :attr:`Measurements.flutter_2to1_pattern`: a regular rhythm of 120-170 bpm with a narrow QRS and no P wave found
  before it, atrial flutter with 2:1 conduction's pattern; there the flutter waves may hide the T wave's end, so a long
  QT is in doubt (:attr:`Measurements.qt_in_doubt`, as with a wide QRS). Added 2026-12-05 without a version change
  (not in the sentence).
* :attr:`Measurements.ventricular_bigeminy`, :attr:`Measurements.ventricular_trigeminy`: premature ventricular beats
  in a bigeminal or trigeminal order, three in a row (:func:`core.measure.ectopy.grouped_run`), read off the beats'
  ``premature`` kinds. Added 2026-12-05 without a version change (not in the sentence).

Every value is an automated measurement: ``quality`` gives the confidence of each value given and ``missing`` the
reason for each value that could not be measured reliably; ``beats`` holds the per-beat fiducial points so a reader
can check them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from core.data.lead_scaling import RESTORED_KEY, UNCALIBRATED_KEY
from core.ecg import ECG
from core.measure.amplitude import WIDE_QRS_MS, frontal_axis_deg, qrs_amplitudes, v1_r_to_s, voltage_summary
from core.measure.beat_consistency import MIN_CONSISTENCY, qrs_consistency
from core.measure.delineator import bandpass_leads_mv
from core.measure.ectopy import (
    GROUPED_MIN_RUN,
    VENTRICULAR,
    grouped_run,
    irregular_underlying_reason,
    premature_beats,
    without_supraventricular,
)
from core.measure.p_onset import pr_on_median_beat, uncoupled_reason
from core.measure.p_terminal import PTerminal, p_wave_windows, v1_p_terminal
from core.measure.pacing import not_judged, ventricular_pacing
from core.measure.q_waves import lead_q_waves, pathological_q_leads
from core.measure.quality import Estimate, check_qt, estimate, heart_rate, interval_values, used_beats
from core.measure.st_segment import ST_GROUPS, st_depression_mv, st_elevation_leads, st_levels
from core.measure.t_waves import lead_t_amplitudes, low_t_leads, t_inversion_leads, t_wave_windows
from core.measure.unet import QRS
from core.measure.waves import Beat, beats_from_masks, runs

# Bumped whenever a definition or the delineator changes, so cached sentences (FG-CLEP) are never reused stale.
MEASURE_VERSION = "2.15"
IRREGULAR_RR_CV = 0.10
IRREGULAR_RR_STEP = 0.06
_INTERVALS = ("pr_ms", "qrs_ms", "qt_ms")
# Sinus arrhythmia: the RR (with P waves, the PP) interval varying by more than 0.16 s, one of the textbook bounds
# (0.12 s is the other); chosen on training records (README, "Sinus arrhythmia").
SINUS_ARRHYTHMIA_MS = 160.0
_SV = "premature_supraventricular"
# Atrial flutter's atrial rate (240-340/min) halved by 2:1 conduction: the rates of its commonest ECG pattern.
FLUTTER_2TO1_BPM = (120.0, 170.0)


@dataclass(frozen=True)
class BeatFiducials:
    """Global fiducial points of one beat in seconds from the record start (None: not found); ``used`` is False for
    beats left out of the medians (cut by the record edge, or ectopic)."""

    qrs_on_s: float | None
    qrs_off_s: float | None
    p_on_s: float | None = None
    p_off_s: float | None = None
    t_on_s: float | None = None
    t_off_s: float | None = None
    used: bool = True
    premature: str | None = None
    pace_s: float | None = None

    @classmethod
    def from_beat(
        cls, beat: Beat, fs_hz: float, used: bool, premature: str | None = None, pace_s: float | None = None
    ) -> BeatFiducials:
        def sec(sample: int | None) -> float | None:
            return None if sample is None or sample < 0 else round(sample / fs_hz, 4)

        return cls(
            qrs_on_s=sec(beat.qrs_on),
            qrs_off_s=sec(beat.qrs_off),
            p_on_s=sec(beat.p_on),
            p_off_s=sec(beat.p_off),
            t_on_s=sec(beat.t_on),
            t_off_s=sec(beat.t_off),
            used=used,
            premature=premature,
            pace_s=pace_s,
        )


@dataclass(frozen=True)
class Measurements:
    """Global ECG measurements; a value is ``None`` when it could not be measured reliably (see ``missing``).

    Attributes:
        hr_bpm: heart rate (60 000 / mean RR).
        rr_irregularity: coefficient of variation of RR intervals.
        rr_step_irregularity: median absolute successive RR difference / median RR.
        irregular: both above their thresholds (module docstring).
        rmssd_ms: root mean square of successive RR differences.
        pr_ms: PR interval (P onset to QRS onset).
        qrs_ms: QRS duration.
        qt_ms: QT interval (QRS onset to T offset).
        qtc_ms: QT corrected with Bazett's formula.
        qtc_fridericia_ms: QT corrected with Fridericia's formula.
        jt_ms: QT - QRS: repolarisation alone, the interval to read when the QRS is wide (QT then includes the
            conduction delay).
        axis_deg: frontal QRS axis in degrees.
        sokolow_lyon_mv: S in V1 + max(R in V5, R in V6).
        cornell_mv: R in aVL + S in V3 (Cornell voltage; added 2026-12-05, not in the sentence).
        limb_qrs_amplitude_mv: largest QRS peak-to-peak amplitude of the limb leads.
        precordial_qrs_amplitude_mv: largest QRS peak-to-peak amplitude of the precordial leads.
        low_voltage: QRS < 0.5 mV in every limb lead or < 1.0 mV in every precordial lead.
        premature_ventricular: premature beats whose QRS is unlike the dominant beat's (:mod:`core.measure.ectopy`).
        premature_supraventricular: premature beats with the dominant QRS; None in an irregular rhythm or
            without a P-wave rhythm (v2.14).
        st_depression_mv: deepest ST depression two contiguous leads share, in mV (module docstring).
        st_elevation_leads: leads with ST elevation at J in walls where two contiguous leads show it (module
            docstring); empty where none.
        q_wave_leads: leads with a pathological Q wave in walls where two contiguous leads have one (module
            docstring); empty where none.
        t_inversion_leads: leads with an inverted T wave in walls where two contiguous leads have one (module
            docstring); empty where none.
        low_t_leads: leads with a low or flat T wave in walls where two contiguous leads have one (module
            docstring); empty where none.
        v1_r_to_s: V1's R/S amplitude ratio (module docstring).
        v1_p_terminal_mv, v1_p_terminal_ms: depth (positive, mV) and length of the negative end of V1's P wave
            (:mod:`core.measure.p_terminal`; 0 and 0 where it has none; added 2026-12-05, not in the sentence);
            :attr:`left_atrial_abnormality` reads them.
        paced_beats: QRS complexes preceded by a pacemaker spike (:mod:`core.measure.pacing`, v2.15); 0 when
            fewer than three (not stated), None under 500 Hz (a spike is not visible there).
        n_beats: QRS complexes found.
        beat_consistency: share of the used beats whose QRS resembles the most common one
            (:func:`core.measure.beat_consistency.qrs_consistency`; None under three beats); under
            :data:`~core.measure.beat_consistency.MIN_CONSISTENCY` nothing else is measured.
        leads_used: leads the measurements were made on.
        quality: measurement name -> confidence in [0, 1], for the values given (a missing one has its reason).
        missing: measurement name -> why it is ``None``.
        beats: per-beat fiducial points.
        per_lead: lead -> per-lead values (``qrs_ms``, ``r_mv``, ``s_mv``, ``p2p_mv``, ``st_mv`` at J+60 ms,
            ``st_j_mv`` at J, ``q_ms``, ``q_mv``, ``qs``, ``t_mv``).
        version: :data:`MEASURE_VERSION`.
    """

    hr_bpm: float | None = None
    rr_irregularity: float | None = None
    rr_step_irregularity: float | None = None
    irregular: bool | None = None
    rmssd_ms: float | None = None
    pr_ms: float | None = None
    qrs_ms: float | None = None
    qt_ms: float | None = None
    qtc_ms: float | None = None
    qtc_fridericia_ms: float | None = None
    jt_ms: float | None = None
    axis_deg: float | None = None
    sokolow_lyon_mv: float | None = None
    cornell_mv: float | None = None
    limb_qrs_amplitude_mv: float | None = None
    precordial_qrs_amplitude_mv: float | None = None
    low_voltage: bool | None = None
    premature_ventricular: int | None = None
    premature_supraventricular: int | None = None
    paced_beats: int | None = None
    v1_r_to_s: float | None = None
    v1_p_terminal_mv: float | None = None
    v1_p_terminal_ms: float | None = None
    st_depression_mv: float | None = None
    st_elevation_leads: tuple[str, ...] | None = None
    q_wave_leads: tuple[str, ...] | None = None
    t_inversion_leads: tuple[str, ...] | None = None
    low_t_leads: tuple[str, ...] | None = None
    n_beats: int = 0
    beat_consistency: float | None = None
    leads_used: tuple[str, ...] = ()
    quality: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    beats: tuple[BeatFiducials, ...] = ()
    per_lead: dict[str, dict[str, float | None]] = field(default_factory=dict)
    version: str = MEASURE_VERSION
    automated: bool = True

    @property
    def wide_qrs(self) -> bool | None:
        """QRS of :data:`~core.measure.amplitude.WIDE_QRS_MS` (120 ms) or more; None when not measured."""
        return None if self.qrs_ms is None else self.qrs_ms >= WIDE_QRS_MS

    @property
    def qrs_not_narrow(self) -> bool | None:
        """Whether the QRS may be wide, so that an ST, T-wave, Q-wave or QT finding may be its secondary effect: True
        when it is wide (:attr:`wide_qrs`) or was not measured on beats that were (a QRS too wide to measure is not
        measured at all: ``ptbxl/16488``, paced, "QRS 260 ms is outside 40-250 ms"); False when measured under 120
        ms; None when nothing was measured. :meth:`undecided` says why it is True without a QRS."""
        if self.qrs_ms is not None:
            return self.wide_qrs
        return None if self.missing.get("all") else True

    @property
    def rr_range_ms(self) -> float | None:
        """Longest minus shortest RR interval between consecutive beats, the intervals into and out of a premature beat
        left out (ectopy is not the sinus node's variation): sinus arrhythmia's measure (:data:`SINUS_ARRHYTHMIA_MS`).
        None under three such intervals."""
        rr = [
            (b.qrs_on_s - a.qrs_on_s) * 1000.0
            for a, b in itertools.pairwise(self.beats)
            if a.qrs_on_s is not None and b.qrs_on_s is not None and not a.premature and not b.premature
        ]
        return round(max(rr) - min(rr), 1) if len(rr) >= 3 else None

    @property
    def sinus_arrhythmia(self) -> bool | None:
        """P waves before the QRS (:attr:`p_waves_before_qrs`) and an RR range of :data:`SINUS_ARRHYTHMIA_MS` or more;
        None where either is unknown."""
        if self.p_waves_before_qrs is None or self.rr_range_ms is None:
            return None
        return bool(self.p_waves_before_qrs and self.rr_range_ms >= SINUS_ARRHYTHMIA_MS)

    @property
    def qt_in_doubt(self) -> bool | None:
        """Whether a long QT may come from something other than repolarisation: a QRS that may be wide
        (:attr:`qrs_not_narrow`), or the 2:1 flutter pattern (:attr:`flutter_2to1_pattern`), whose flutter waves may
        hide the T wave's end. :meth:`undecided` says which."""
        if self.flutter_2to1_pattern:
            return True
        return self.qrs_not_narrow

    @property
    def st_elevation(self) -> bool | None:
        """ST elevation at J in two contiguous leads (:attr:`st_elevation_leads` not empty); None when not measured."""
        return None if self.st_elevation_leads is None else bool(self.st_elevation_leads)

    @property
    def st_elevation_walls(self) -> tuple[str, ...] | None:
        """The walls (:data:`~core.measure.st_segment.ST_GROUPS`) whose leads carry :attr:`st_elevation_leads`."""
        return _walls_of(self.st_elevation_leads)

    @property
    def q_wave_walls(self) -> tuple[str, ...] | None:
        """The walls whose leads carry :attr:`q_wave_leads`."""
        return _walls_of(self.q_wave_leads)

    @property
    def t_inversion_walls(self) -> tuple[str, ...] | None:
        """The walls whose leads carry :attr:`t_inversion_leads`."""
        return _walls_of(self.t_inversion_leads)

    @property
    def low_t_walls(self) -> tuple[str, ...] | None:
        """The walls whose leads carry :attr:`low_t_leads`."""
        return _walls_of(self.low_t_leads)

    @property
    def left_atrial_abnormality(self) -> bool | None:
        """Morris' criterion on V1's P terminal force (:class:`core.measure.p_terminal.PTerminal`): its negative end at
        least 0.1 mV deep and 40 ms long; None when not measured."""
        if self.v1_p_terminal_mv is None or self.v1_p_terminal_ms is None:
            return None
        return PTerminal(self.v1_p_terminal_mv, self.v1_p_terminal_ms).abnormal

    @property
    def ventricular_bigeminy(self) -> bool | None:
        """A premature ventricular beat after every dominant beat, :data:`core.measure.ectopy.GROUPED_MIN_RUN` in a
        row (:func:`core.measure.ectopy.grouped_run`); None where premature beats were not judged."""
        return self._grouped(2)

    @property
    def ventricular_trigeminy(self) -> bool | None:
        """A premature ventricular beat after every two dominant beats, as :attr:`ventricular_bigeminy`."""
        return self._grouped(3)

    def _grouped(self, every: int) -> bool | None:
        if self.premature_ventricular is None:
            return None
        return grouped_run([b.premature for b in self.beats], every) >= GROUPED_MIN_RUN

    @property
    def irregular_without_p(self) -> bool | None:
        """Atrial fibrillation's pattern: an irregular rhythm that premature beats do not explain, with no P-wave
        rhythm. True when irregular, with no supraventricular count (one is given only where the rhythm between
        the premature beats is regular) and no PR (no P wave repeats before the QRS complexes); False when regular;
        None when irregular but regular between its premature beats, or with a PR (sinus rhythm with premature
        beats, or an AF whose early beats were counted or whose f waves read as P waves), or when regularity was not
        measured (:meth:`undecided` says which)."""
        if self.irregular is None:
            return None
        if not self.irregular:
            return False
        return True if self.premature_supraventricular is None and self.pr_ms is None else None

    @property
    def p_waves_before_qrs(self) -> bool | None:
        """A sinus (or other P-wave) rhythm: True where a PR was measured (a P wave repeats before the QRS
        complexes at a fixed distance), False on atrial fibrillation's pattern (:attr:`irregular_without_p`), else
        None: no PR, but not that pattern either (flutter, a junctional rhythm, or P waves hidden in the T waves at
        a fast rate; :meth:`undecided` gives the PR's reason)."""
        if self.pr_ms is not None:
            return True
        return False if self.irregular_without_p else None

    @property
    def flutter_2to1_pattern(self) -> bool | None:
        """A regular rhythm of :data:`FLUTTER_2TO1_BPM` with a narrow QRS and no P wave found before it: the pattern
        of atrial flutter with 2:1 conduction (an atrial rate of 240-340/min, halved), which a reader excludes first
        in such a tachycardia (a re-entrant supraventricular tachycardia looks alike). True then; False where the
        rhythm is irregular, a PR was measured or the rate lies outside that range; None where rhythm, rate or QRS
        were not measured, or the QRS is wide (a ventricular tachycardia is not excluded; :meth:`undecided`)."""
        low, high = FLUTTER_2TO1_BPM
        if self.irregular is None or self.hr_bpm is None:
            return None
        if self.irregular or self.pr_ms is not None or not low <= self.hr_bpm <= high:
            return False
        return True if self.qrs_ms is not None and self.qrs_ms < WIDE_QRS_MS else None

    def undecided(self, name: str) -> str | None:
        """Why a value derived from others (:attr:`irregular_without_p`, :attr:`p_waves_before_qrs`,
        :attr:`st_elevation`, :attr:`st_elevation_walls`, :attr:`ventricular_bigeminy`, :attr:`rr_range_ms`, ...) is
        None, or why :attr:`qrs_not_narrow` holds without a QRS; None for any other value (its reason is in
        ``missing``)."""
        if name == "p_waves_before_qrs" and self.p_waves_before_qrs is None:
            return f"no PR ({self.missing.get('pr_ms', 'not measured')})"
        if name == "rr_range_ms" and self.rr_range_ms is None:
            return "fewer than three RR intervals between beats that are not premature"
        if name == "qt_in_doubt" and self.qt_in_doubt:
            if self.flutter_2to1_pattern:
                return "in a 2:1 flutter pattern the flutter waves may hide the T wave's end"
            return self.undecided("qrs_not_narrow") or "lengthened by the wide QRS"
        if name == "flutter_2to1_pattern" and self.flutter_2to1_pattern is None:
            if self.irregular is None or self.hr_bpm is None:
                return "rhythm or rate not measured"
            return "regular, no P wave found, but the QRS is wide or not measured: ventricular tachycardia not excluded"
        if name in ("ventricular_bigeminy", "ventricular_trigeminy") and getattr(self, name) is None:
            return f"premature beats not judged ({self.missing.get('premature_ventricular', 'no reason given')})"
        leads = _LEADS_BEHIND.get(name)  # a finding's walls read from its leads
        if leads is not None and getattr(self, leads) is None:
            return f"not measured ({self.missing.get(leads, 'no reason given')})"
        if name == "qrs_not_narrow" and self.qrs_ms is None and self.qrs_not_narrow:
            return f"QRS not measured: {self.missing.get('qrs_ms', 'no reason given')}; a wide QRS not excluded"
        if name != "irregular_without_p" or self.irregular_without_p is not None:
            return None
        if self.irregular is None:
            return "regularity not measured"
        sv, v = self.premature_supraventricular, self.premature_ventricular or 0
        if sv is None:
            return f"irregular, but P waves precede the QRS complexes (PR {self.pr_ms:.0f} ms)"
        if not (sv or v):
            return "irregular overall, but regular from beat to beat between the dominant beats"
        return f"irregular, but regular between the premature beats ({sv} supraventricular, {v} ventricular)"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (lead names and beats as lists), with the derived ``irregular_without_p``,
        ``p_waves_before_qrs``, the walls, ``qrs_not_narrow``, ``left_atrial_abnormality``, the bigeminal and trigeminal
        orders and, where one is None (or ``qrs_not_narrow`` holds without a QRS), ``undecided`` saying why."""
        out = asdict(self)
        out["leads_used"] = list(self.leads_used)
        if self.st_elevation_leads is not None:
            out["st_elevation_leads"] = list(self.st_elevation_leads)
        out["beats"] = [asdict(b) for b in self.beats]
        derived = (
            "irregular_without_p", "p_waves_before_qrs", "st_elevation_walls", "q_wave_walls", "t_inversion_walls",
            "low_t_walls", "qrs_not_narrow", "left_atrial_abnormality", "ventricular_bigeminy", "ventricular_trigeminy",
            "flutter_2to1_pattern",
        )  # fmt: skip
        out.update({name: getattr(self, name) for name in derived})
        lists = (
            "st_elevation_walls", "q_wave_walls", "q_wave_leads", "t_inversion_walls", "t_inversion_leads",
            "low_t_walls", "low_t_leads",
        )  # fmt: skip
        for name in lists:
            if (value := getattr(self, name)) is not None:
                out[name] = list(value)
        if undecided := {name: why for name in derived if (why := self.undecided(name))}:
            out["undecided"] = undecided
        return out

    def to_sentence(self) -> str:
        """An English sentence to append to a report, e.g.

        ``"Heart rate 72 bpm, regular rhythm. PR interval 160 ms, QRS duration 92 ms, QT/QTc 380/410 ms (Bazett),
        frontal QRS axis +45° (normal)."``  Values that could not be measured reliably are left out.
        """
        first = []
        if self.paced_beats:
            first.append(f"Ventricular pacing (pacemaker spikes before {self.paced_beats} QRS complexes)")
        if self.hr_bpm is not None:
            first.append(f"heart rate {self.hr_bpm:.0f} bpm")
        if self.irregular is not None:
            first.append("irregular rhythm" if self.irregular else "regular rhythm")
        for count, kind in (
            (self.premature_ventricular, "ventricular"),
            (self.premature_supraventricular, "supraventricular"),
        ):
            if count:
                first.append(f"{count} premature {kind} beat{'s' if count > 1 else ''}")
        second = []
        if self.pr_ms is not None:
            second.append(f"PR interval {self.pr_ms:.0f} ms")
        if self.qrs_ms is not None:
            second.append(f"QRS duration {self.qrs_ms:.0f} ms")
        wide = self.qrs_ms is not None and self.qrs_ms >= WIDE_QRS_MS
        if self.qt_ms is not None and self.qtc_ms is not None and wide and self.jt_ms is not None:
            second.append(
                f"QT/QTc {self.qt_ms:.0f}/{self.qtc_ms:.0f} ms (Bazett; lengthened by the wide QRS, JT "
                f"{self.jt_ms:.0f} ms)"
            )
        elif self.qt_ms is not None and self.qtc_ms is not None:
            second.append(f"QT/QTc {self.qt_ms:.0f}/{self.qtc_ms:.0f} ms (Bazett)")
        elif self.qt_ms is not None:
            second.append(f"QT {self.qt_ms:.0f} ms")
        if self.axis_deg is not None:
            second.append(f"frontal QRS axis {self.axis_deg:+.0f}° ({axis_category(self.axis_deg)})")
        if self.low_voltage:
            second.append("low QRS voltage")
        if self.sokolow_lyon_mv is not None:
            second.append(f"Sokolow-Lyon index {self.sokolow_lyon_mv:.1f} mV")
        parts = [", ".join(first), ", ".join(second)]
        parts = [p[0].upper() + p[1:] + "." for p in parts if p]
        return " ".join(parts) if parts else "No waveform measurements could be made."


def axis_category(axis_deg: float) -> str:
    """Adult frontal-axis category: normal (-30° to +90°), left/right axis deviation, or extreme axis."""
    if -30.0 <= axis_deg <= 90.0:
        return "normal"
    if -90.0 <= axis_deg < -30.0:
        return "left axis deviation"
    if 90.0 < axis_deg <= 180.0:
        return "right axis deviation"
    return "extreme axis deviation"


def rr_step_irregularity(rr_ms: np.ndarray) -> float | None:
    """Median absolute difference of successive RR intervals / median RR (None with fewer than 2 intervals)."""
    if rr_ms.size < 2:
        return None
    return float(np.median(np.abs(np.diff(rr_ms))) / np.median(rr_ms))


def is_irregular(cv: float | None, step: float | None) -> bool | None:
    """The rhythm is irregular when RR varies overall and from beat to beat (module docstring)."""
    if cv is None or step is None:
        return None
    return bool(cv > IRREGULAR_RR_CV and step > IRREGULAR_RR_STEP)


def measure_ecg(ecg: ECG, *, weights: str | None = None) -> Measurements:
    """Measure HR, rhythm irregularity, PR, QRS, QT/QTc, axis and QRS voltages of an ECG.

    Works at any sampling rate (inputs are resampled to the delineator's 250 Hz) and with any subset of leads
    (values that need missing information are ``None``, with the reason in ``missing``).

    Args:
        ecg: the ECG; only rows where ``lead_mask`` is True are used.
        weights: delineator weights file in the checkpoint folder (default ``model.safetensors``).

    Raises:
        FileNotFoundError: the delineator checkpoint is missing.
    """
    from core.measure.delineator import FINAL_WEIGHTS, load_delineator

    delineator = load_delineator(None, weights or FINAL_WEIGHTS)
    present = np.flatnonzero(ecg.lead_mask)
    if present.size == 0:
        return Measurements(missing={"all": "no recorded leads"})
    if ecg.duration_s < 2.0:
        return Measurements(missing={"all": f"record too short ({ecg.duration_s:.1f} s, at least 2 s needed)"})
    filtered = delineator.filter_leads(ecg.signal_mv[present], ecg.fs_hz)
    labels = delineator.label_filtered(filtered)
    masks = delineator.combine_labels(labels)
    return measurements_from_masks(
        masks, delineator.cfg.fs_hz, ecg=ecg, lead_labels=labels, filtered_mv=filtered, min_consistency=MIN_CONSISTENCY
    )


def _per_lead_qrs_ms(lead_labels: np.ndarray, beats: list[Beat], used: list[bool], fs_hz: float) -> list[float | None]:
    """Per lead, the median QRS duration over used beats (the lead's own QRS run overlapping the global one)."""
    slack = int(round(0.02 * fs_hz))
    out: list[float | None] = []
    for row in lead_labels == QRS:
        lead_runs = runs(row)
        durations = []
        for beat, ok in zip(beats, used, strict=True):
            if not ok:
                continue
            hits = [(a, b) for a, b in lead_runs if b >= beat.qrs_on - slack and a <= beat.qrs_off + slack]
            if hits:
                durations.append((max(b for _, b in hits) - min(a for a, _ in hits) + 1) * 1000.0 / fs_hz)
        out.append(float(np.median(durations)) if durations else None)
    return out


def _with_p_onset(beats: list[Beat], used: list[bool], pr_ms: float | None, fs_hz: float) -> list[Beat]:
    """Beats whose P onset is the one PR was measured from (every used beat); without a PR, beats without P points.

    Every used beat, not only those where the global masks hold a P wave: PR measured through the fallback of
    :mod:`core.measure.p_onset` (a P wave on the preceding T wave, seen in lead II or V1 only) has no global P wave
    in any beat, and the plot then showed a PR with no P onset for a reader to check it against. Without a PR the
    delineator's P marks are dropped: on atrial fibrillation it marks f waves in some beats, and the plot showed P
    onsets beside "PR not measurable: no P wave repeats before the QRS complexes" (``ludb/95``).
    """
    if pr_ms is None:
        return [replace(b, p_on=None, p_off=None) for b in beats]
    offset = int(round(pr_ms * fs_hz / 1000.0))
    return [replace(b, p_on=b.qrs_on - offset) if ok else b for b, ok in zip(beats, used, strict=True)]


def measurements_from_masks(
    masks: np.ndarray,
    fs_hz: float,
    *,
    ecg: ECG | None = None,
    lead_labels: np.ndarray | None = None,
    filtered_mv: np.ndarray | None = None,
    min_consistency: float | None = None,
) -> Measurements:
    """Measurements from global P/QRS/T masks (3, samples) at ``fs_hz``.

    Args:
        masks: global wave masks (rows P, QRS, T).
        fs_hz: their sampling rate.
        ecg: the ECG (optional): gives the axis, QRS amplitudes and lead names.
        lead_labels: per-lead class labels (present leads, samples) at ``fs_hz`` (optional): per-lead QRS durations
            and, with ``ecg``, PR on the median beat.
        filtered_mv: the present leads of ``ecg`` resampled to ``fs_hz`` and band-passed 0.5-40 Hz (as the
            delineator's :meth:`~core.measure.delineator.Delineator.filter_leads` gives them); filtered here if not
            given.
        min_consistency: refuse to measure (``missing["all"]``) when the beats' QRS complexes resemble each other
            less than this (:mod:`core.measure.beat_consistency`), or when there is no plausible heart rate. The
            project's delineator (:func:`measure_ecg`) passes :data:`MIN_CONSISTENCY`: it marks QRS complexes in
            noise. None: measure whatever beats the masks give (the libraries' masks, compared as shipped).
    """
    beats = beats_from_masks(masks)
    used = used_beats(beats, fs_hz)
    n_used = sum(used)
    signal, alike = None, None
    if ecg is not None and (lead_labels is not None or min_consistency is not None):
        signal = filtered_mv
        if signal is None:
            signal = bandpass_leads_mv(ecg.signal_mv[np.flatnonzero(ecg.lead_mask)], ecg.fs_hz, fs_hz)
    if signal is not None and min_consistency is not None:
        alike = qrs_consistency(signal, beats, used, fs_hz)
        if alike is not None and alike < min_consistency:
            # Every value below would be read off "beats" that are not heartbeats (v2.7).
            # The share is over the beats compared (edge and flat windows left out), so no count beside it.
            why = f"no heartbeats recognised: only {alike:.0%} of the QRS complexes found resemble each other (noise?)"
            return Measurements(missing={"all": why}, beat_consistency=alike, leads_used=ecg.present_leads)
    ms = 1000.0 / fs_hz
    rr = np.diff(np.array([b.centre for b in beats], dtype=float)) * ms
    rr = rr[rr >= 200.0]  # under 200 ms (300 bpm) is a double detection, not a beat
    hr = heart_rate(rr)
    if hr.value is None and min_consistency is not None:
        # No plausible rate (under two QRS complexes, or 9 bpm on noise): an interval, an axis or a voltage read off
        # such "beats" would be stated as a finding about nothing (v2.7).
        leads = ecg.present_leads if ecg is not None else ()
        return Measurements(
            missing={"all": f"no heartbeats recognised: {hr.reason}"}, beat_consistency=alike, leads_used=leads
        )
    rr_ms = float(rr.mean()) if (rr.size and hr.value is not None) else None
    ectopy = premature_beats(signal, beats, fs_hz) if signal is not None else None
    if ectopy is not None:
        # A 12-lead machine's median beat is the dominant beat: premature ventricular beats are left out of the
        # medians (v2.13; before, one within 40 ms of the median QRS duration counted, and in bigeminy they turned
        # the axis). Supraventricular ones keep the dominant QRS and stay.
        used = [ok and kind != VENTRICULAR for ok, kind in zip(used, ectopy.kinds, strict=True)]
        n_used = sum(used)
    pacing = (
        ventricular_pacing(ecg, [b.qrs_on / fs_hz if b.qrs_on is not None and b.qrs_on >= 0 else None for b in beats])
        if ecg is not None
        else not_judged(len(beats), "needs the ECG's signal")
    )
    cv = float(rr.std() / rr.mean()) if rr.size >= 2 else None
    step = rr_step_irregularity(rr)
    rmssd = float(np.sqrt(np.mean(np.diff(rr) ** 2))) if rr.size >= 2 else None

    values = interval_values(beats, used, fs_hz)
    # PR is the dominant rhythm's: a premature beat's P wave is ectopic or hidden, and its PR differs; counted, a
    # few atrial premature beats spread the PRs past the coupling gate and left PR missing on such records (v2.14).
    pr_used = used if ectopy is None else [ok and kind is None for ok, kind in zip(used, ectopy.kinds, strict=True)]
    pr_values = interval_values(beats, pr_used, fs_hz)["pr_ms"] if pr_used != used else values["pr_ms"]
    est: dict[str, Estimate] = {
        name: estimate(name, pr_values, sum(pr_used)) if name == "pr_ms" else estimate(name, values[name], n_used)
        for name in _INTERVALS
    }
    est["qt_ms"] = check_qt(est["qt_ms"], rr_ms)
    irregular = is_irregular(cv, step)
    if signal is not None and lead_labels is not None:
        est["pr_ms"] = pr_on_median_beat(
            est["pr_ms"],
            signal,
            lead_labels,
            beats,
            pr_used,
            fs_hz,
            beat_pr_ms=pr_values,
            irregular=irregular,
            lead_names=ecg.present_leads,
        )
        beats = _with_p_onset(beats, pr_used, est["pr_ms"].value, fs_hz)
        # The irregularity between the premature beats reads as possible atrial fibrillation until a PR is measured.
        unjudged = irregular_underlying_reason(with_p_waves=False)
        if ectopy is not None and est["pr_ms"].value is not None and ectopy.missing.get(_SV) == unjudged:
            ectopy = without_supraventricular(ectopy, irregular_underlying_reason(with_p_waves=True))
        no_p_rhythm = est["pr_ms"].value is None and uncoupled_reason(pr_values, irregular) is None
        if ectopy is not None and ectopy.supraventricular is not None and no_p_rhythm:
            # An atrial premature beat is early against a P-wave rhythm. Where the dominant beats show no P wave, or
            # none that repeats (atrial fibrillation or flutter with an even ventricular response), "early with
            # the dominant QRS" says nothing about the atria (v2.14). P waves found but moving against the QRS
            # still count as a P-wave rhythm: that is how atrial premature beats left PR missing before v2.14.
            why = f"no P-wave rhythm to be early against ({est['pr_ms'].reason})"
            ectopy = without_supraventricular(ectopy, why)
    qt = est["qt_ms"].value
    # A confidence belongs to a value given: beside a missing PR it read as the PR's (0.32 on an AF record).
    quality = {k: e.confidence for k, e in {"hr_bpm": hr, **est}.items() if e.value is not None}
    missing = {k: e.reason for k, e in {"hr_bpm": hr, **est}.items() if e.value is None and e.reason}
    if cv is None:
        missing["irregular"] = "fewer than three QRS complexes found"
    else:
        quality["irregular"] = round(min(1.0, (rr.size - 1) / 4.0), 2)
    if ectopy is not None:
        missing.update(ectopy.missing)
    else:
        missing |= dict.fromkeys(("premature_ventricular", "premature_supraventricular"), "needs the ECG's signal")
    missing.update(pacing.missing)

    fiducials = tuple(
        BeatFiducials.from_beat(b, fs_hz, ok, ectopy.kinds[i] if ectopy else None, pacing.spike_s[i])
        for i, (b, ok) in enumerate(zip(beats, used, strict=True))
    )
    windows = [(b.qrs_on / fs_hz, b.qrs_off / fs_hz) for b, ok in zip(beats, used, strict=True) if ok]
    axis, voltages, per_lead, v1_ratio = None, {}, {}, None
    if ecg is not None:
        axis = frontal_axis_deg(ecg, windows)
        amplitudes = qrs_amplitudes(ecg, windows)
        voltages = voltage_summary(amplitudes)
        v1_ratio, why_no_ratio = v1_r_to_s(amplitudes)
        if why_no_ratio:
            missing["v1_r_to_s"] = why_no_ratio
        per_lead = {name: dict(values) for name, values in amplitudes.items()}
        st = st_levels(ecg, windows)
        for name, level in st.items():
            per_lead.setdefault(name, {})["st_mv"] = level
        voltages["st_depression_mv"] = st_depression_mv(st)
        st_j = st_levels(ecg, windows, after_s=0.0)
        for name, level in st_j.items():
            per_lead.setdefault(name, {})["st_j_mv"] = level
        voltages["st_elevation_leads"] = st_elevation_leads(st_j)
        for name, values in lead_q_waves(ecg, windows).items():
            per_lead.setdefault(name, {}).update(values)
        voltages["q_wave_leads"] = pathological_q_leads(per_lead)
        t_amplitudes = lead_t_amplitudes(ecg, t_wave_windows(fiducials))
        for name, t_mv in t_amplitudes.items():
            per_lead.setdefault(name, {})["t_mv"] = t_mv
        voltages["t_inversion_leads"] = t_inversion_leads(t_amplitudes)
        voltages["low_t_leads"] = low_t_leads(t_amplitudes)
        terminal = v1_p_terminal(ecg, p_wave_windows(fiducials))
        if terminal is None:
            missing["v1_p_terminal_mv"] = missing["v1_p_terminal_ms"] = "needs V1 and two beats with a P wave"
        else:
            voltages["v1_p_terminal_mv"], voltages["v1_p_terminal_ms"] = terminal.depth_mv, terminal.duration_ms
        for name in ("st_depression_mv", "st_elevation_leads", "q_wave_leads"):
            if voltages[name] is None:
                missing[name] = "needs two whole beats and two leads of one wall"
        for name in ("t_inversion_leads", "low_t_leads"):
            if voltages[name] is None:
                missing[name] = "needs two beats with a delineated T wave and a next QRS, and two leads of one wall"
        if lead_labels is not None:
            for name, qrs in zip(ecg.present_leads, _per_lead_qrs_ms(lead_labels, beats, used, fs_hz), strict=True):
                per_lead.setdefault(name, {})["qrs_ms"] = qrs
        if axis is None:
            missing["axis_deg"] = "needs leads I and aVF, or II and III, and a delineated QRS"
        if voltages.get("sokolow_lyon_mv") is None:
            missing["sokolow_lyon_mv"] = "needs V1 and V5 or V6"
        if voltages.get("cornell_mv") is None:
            missing["cornell_mv"] = "needs aVL and V3"
        if voltages.get("low_voltage") is None:
            missing["low_voltage"] = "needs all six limb or all six precordial leads"
        if ecg.meta.get(UNCALIBRATED_KEY):
            # Millivolts read off such a file are numbers about nothing (LUDB: every lead spans 1 mV) (v2.9).
            axis, voltages, per_lead, missing = _without_voltages(axis, per_lead, missing, ecg.meta)
    return Measurements(
        hr_bpm=hr.value,
        rr_irregularity=cv,
        rr_step_irregularity=step,
        irregular=irregular,
        rmssd_ms=rmssd,
        pr_ms=est["pr_ms"].value,
        qrs_ms=est["qrs_ms"].value,
        qt_ms=qt,
        qtc_ms=qt / math.sqrt(rr_ms / 1000.0) if (qt is not None and rr_ms) else None,
        qtc_fridericia_ms=qt / (rr_ms / 1000.0) ** (1.0 / 3.0) if (qt is not None and rr_ms) else None,
        jt_ms=qt - est["qrs_ms"].value if (qt is not None and est["qrs_ms"].value is not None) else None,
        axis_deg=axis,
        sokolow_lyon_mv=voltages.get("sokolow_lyon_mv"),
        cornell_mv=voltages.get("cornell_mv"),
        limb_qrs_amplitude_mv=voltages.get("limb_qrs_amplitude_mv"),
        precordial_qrs_amplitude_mv=voltages.get("precordial_qrs_amplitude_mv"),
        low_voltage=voltages.get("low_voltage"),
        premature_ventricular=ectopy.ventricular if ectopy else None,
        premature_supraventricular=ectopy.supraventricular if ectopy else None,
        paced_beats=pacing.paced_beats,
        v1_r_to_s=v1_ratio,
        v1_p_terminal_mv=voltages.get("v1_p_terminal_mv"),
        v1_p_terminal_ms=voltages.get("v1_p_terminal_ms"),
        st_depression_mv=voltages.get("st_depression_mv"),
        st_elevation_leads=voltages.get("st_elevation_leads"),
        q_wave_leads=voltages.get("q_wave_leads"),
        t_inversion_leads=voltages.get("t_inversion_leads"),
        low_t_leads=voltages.get("low_t_leads"),
        n_beats=len(beats),
        beat_consistency=alike,
        leads_used=ecg.present_leads if ecg is not None else (),
        quality=quality,
        missing=missing,
        beats=fiducials,
        per_lead=per_lead,
    )


# The derived findings (yes/no and walls) and the leads field each is read from.
_LEADS_BEHIND = {
    "st_elevation": "st_elevation_leads",
    "st_elevation_walls": "st_elevation_leads",
    "q_wave_walls": "q_wave_leads",
    "t_inversion_walls": "t_inversion_leads",
    "low_t_walls": "low_t_leads",
}


def _walls_of(leads: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """The walls (:data:`~core.measure.st_segment.ST_GROUPS`) two of whose leads are among ``leads``."""
    if leads is None:
        return None
    return tuple(wall for wall, group in ST_GROUPS.items() if len(set(group) & set(leads)) >= 2)


_VOLTAGES = (
    "sokolow_lyon_mv",
    "cornell_mv",
    "limb_qrs_amplitude_mv",
    "precordial_qrs_amplitude_mv",
    "low_voltage",
    "st_depression_mv",
    "st_elevation_leads",
    "q_wave_leads",
    "t_inversion_leads",
    "low_t_leads",
    "v1_p_terminal_mv",
    "v1_p_terminal_ms",  # a length, but of a deflection whose size is not known
)
_PER_LEAD_VOLTAGES = ("r_mv", "s_mv", "p2p_mv", "st_mv", "st_j_mv", "q_mv", "t_mv")
UNCALIBRATED_REASON = "amplitudes not calibrated: the file does not keep the leads' sizes in millivolts"


def _without_voltages(
    axis: float | None, per_lead: dict[str, dict[str, float]], missing: dict[str, str], meta: dict
) -> tuple[float | None, dict, dict[str, dict[str, float]], dict[str, str]]:
    """Voltages taken out, each with :data:`UNCALIBRATED_REASON`, for an ECG whose amplitudes are not calibrated
    (``meta`` says why); the axis stays only if the limb leads' relative sizes were restored (it is a ratio of
    limb-lead areas)."""
    missing = dict(missing) | dict.fromkeys(_VOLTAGES, UNCALIBRATED_REASON)
    if axis is not None and not meta.get(RESTORED_KEY):
        axis, missing["axis_deg"] = None, f"{UNCALIBRATED_REASON}, and the limb leads' relative sizes are unknown"
    kept = {lead: {k: v for k, v in values.items() if k not in _PER_LEAD_VOLTAGES} for lead, values in per_lead.items()}
    return axis, {}, {lead: values for lead, values in kept.items() if values}, missing
