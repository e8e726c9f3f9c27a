"""Plausibility benchmark: do the measurements agree with the diagnoses cardiologists gave the same records?

LUDB's manual delineation covers one hospital and one annotation convention; this benchmark checks measurements on
every labelled dataset with clinical rules a measurement must satisfy, e.g. QRS >= 120 ms among complete bundle
branch blocks and rarely among normal ECGs. Labels come from :mod:`core.measure.reference_labels`, measurements from
the backends of :mod:`core.measure.backends` (the product and maintained libraries, on the same records).

Pipeline: :func:`run_benchmark` reads and measures records into rows (one per record and method), :func:`summarize`
turns rows into per-(source, split, method) cells, :func:`format_table` / :func:`format_markdown` print them.
A cell holds ``n`` (records with the label that could be read), ``n_measured``, ``n_failed`` (no value) and the
``value`` (a share in [0, 1] or a median).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import logging
import math
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import binomtest

from core.measure.measurements import SINUS_ARRHYTHMIA_MS

logger = logging.getLogger(__name__)

# Fields read from a Measurements object (getattr, so fields added later are picked up when present).
MEAS_FIELDS: tuple[str, ...] = (
    "hr_bpm", "irregular", "pr_ms", "qrs_ms", "qt_ms", "qtc_ms", "qtc_fridericia_ms", "axis_deg",
    "sokolow_lyon_mv", "cornell_mv", "limb_qrs_amplitude_mv", "beat_consistency", "premature_ventricular",
    "premature_supraventricular", "paced_beats", "irregular_without_p", "v1_r_to_s", "st_depression_mv",
    "st_elevation", "q_wave_walls", "t_inversion_walls", "low_t_walls", "left_atrial_abnormality",
    "ventricular_bigeminy", "ventricular_trigeminy", "flutter_2to1_pattern", "rr_range_ms",
)  # fmt: skip
# Per-lead values read from ``Measurements.per_lead`` (lead -> value), for the checks a report makes lead by lead;
# ``q_pathological`` is each lead's reading by core.measure.q_waves.pathological.
PER_LEAD_FIELDS: tuple[str, ...] = ("st_j_mv", "st_mv", "q_pathological", "t_mv")
LUDB_COMPARED: tuple[str, ...] = ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms")
LUDB_GOALS = {"hr_bpm": 2.0, "pr_ms": 20.0, "qrs_ms": 15.0, "qt_ms": 30.0}
SPLIT_GROUPS: tuple[str, ...] = ("train", "held_out")


def qtc_limit_ms(sex: str | None) -> float:
    """Upper limit of normal QTc: 460 ms for women and when sex is unknown, 470 ms for men."""
    return 470.0 if sex == "male" else 460.0


def cornell_limit_mv(sex: str | None) -> float:
    """Cornell voltage's LVH limit: 2.8 mV for men, 2.0 mV for women and when sex is unknown."""
    return 2.8 if sex == "male" else 2.0


def left_axis(axis_deg: float) -> bool:
    """Left axis deviation: -30° beyond to -90°."""
    return -90.0 <= axis_deg < -30.0


def right_axis(axis_deg: float) -> bool:
    """Right axis deviation: beyond +90° to +180°."""
    return 90.0 < axis_deg <= 180.0


@dataclass(frozen=True)
class Check:
    """One plausibility rule: among records with ``label``, the share where ``test`` holds (or the median).

    Attributes:
        key: stable name in JSON.
        title: row title in tables.
        label: reference label (:data:`core.measure.reference_labels.LABELS`) selecting the records.
        field: the measurement it needs; a record without it counts as failed.
        test: ``test(value, sex) -> bool`` for a share; None for the median of the field.
        goal: the issue's goal for the cell, as text (empty when there is none).
        exclude: records that also carry any of these labels are left out (a normal ECG the cardiologist also read
            as first-degree AV block, or whose report states a long PR, is not a false long PR).
        also: only records that also carry this label (first-degree AV block that the report states too).
        named: ``"elevation"``, ``"depression"``, ``"q"``, ``"t_inverted"`` or ``"t_low"``: a per-lead check.
            ``field`` is then one of :data:`PER_LEAD_FIELDS`, and the share is over the leads the record's report
            names that way (the row's ``named_leads``), not over records.
        coverage: the share of the records where the field was measured at all (``test`` unused): a sinus rhythm
            has a P wave before every QRS, so a PR missing on many sinus tachycardias is a delineation failure;
            atrial fibrillation has none, so there every PR measured is one too many.
    """

    key: str
    title: str
    label: str
    field: str
    test: Callable[[Any, str | None], bool] | None = None
    goal: str = ""
    exclude: tuple[str, ...] = ()
    coverage: bool = False
    also: str = ""
    named: str = ""


CHECKS: tuple[Check, ...] = (
    Check("qrs_median_norm", "median QRS, NORM", "NORM", "qrs_ms", None, "80-105 ms"),
    Check("qrs_wide_norm", "QRS >= 120 ms, NORM", "NORM", "qrs_ms", lambda v, s: v >= 120.0, "<= 5 %"),
    Check("qrs_wide_clbbb", "QRS >= 120 ms, CLBBB", "CLBBB", "qrs_ms", lambda v, s: v >= 120.0, ">= 90 %"),
    Check("qrs_wide_crbbb", "QRS >= 120 ms, CRBBB", "CRBBB", "qrs_ms", lambda v, s: v >= 120.0, ">= 90 %"),
    # Which side (Retrieve's criteria): V1 mostly downward in a left bundle branch block, upward in a right one.
    Check("v1_down_clbbb", "V1 R/S < 0.5, CLBBB", "CLBBB", "v1_r_to_s", lambda v, s: v < 0.5),
    Check("v1_down_crbbb", "V1 R/S < 0.5, CRBBB", "CRBBB", "v1_r_to_s", lambda v, s: v < 0.5),
    # Incomplete RBBB is an rSR' pattern with a QRS under 120 ms by definition (110-119 ms in adults): a share here
    # is either the labels' gray zone or a QRS offset read late on the terminal R'.
    Check(
        "qrs_wide_irbbb",
        "QRS >= 120 ms, IRBBB (incomplete: under 120 by definition)",
        "IRBBB",
        "qrs_ms",
        lambda v, s: v >= 120.0,
    ),
    Check("pr_long_1avb", "PR > 200 ms, 1AVB", "1AVB", "pr_ms", lambda v, s: v > 200.0, ">= 80 %"),
    # The same among the 1AVB records whose report states the block too (PTB-XL; reference_labels: 1AVB_TEXT): where
    # codes and report disagree, a PR under 200 ms may be the reading the report was written from.
    Check(
        "pr_long_1avb_text",
        "PR > 200 ms, 1AVB stated in the report too",
        "1AVB",
        "pr_ms",
        lambda v, s: v > 200.0,
        also="1AVB_TEXT",
    ),
    Check(
        "pr_long_norm",
        "PR > 200 ms, NORM (not 1AVB, no long PR in the report)",
        "NORM",
        "pr_ms",
        lambda v, s: v > 200.0,
        "<= 3 %",
        ("1AVB", "1AVB_TEXT"),
    ),
    Check("pr_measured_stach", "PR measured, STACH", "STACH", "pr_ms", coverage=True),
    # Rhythms without a PR: atrial fibrillation and flutter have no P wave, and in complete heart block P and QRS are
    # dissociated. A PR stated there is a false fact, so the lower these shares the better.
    Check("pr_measured_afib", "PR measured, AFIB (has no PR)", "AFIB", "pr_ms", coverage=True),
    Check("pr_measured_aflt", "PR measured, AFLT (has no PR)", "AFLT", "pr_ms", coverage=True),
    Check("pr_measured_3avb", "PR measured, 3AVB (has no PR)", "3AVB", "pr_ms", coverage=True),
    # Pre-excitation: the delta wave starts the QRS early, so the PR is short.
    Check("pr_short_wpw", "PR < 120 ms, WPW", "WPW", "pr_ms", lambda v, s: v < 120.0),
    Check("hr_slow_sbrad", "HR < 60 bpm, SBRAD", "SBRAD", "hr_bpm", lambda v, s: v < 60.0, ">= 95 %"),
    Check("hr_fast_stach", "HR > 100 bpm, STACH", "STACH", "hr_bpm", lambda v, s: v > 100.0, ">= 95 %"),
    Check("irregular_afib", "irregular, AFIB", "AFIB", "irregular", lambda v, s: bool(v), ">= 90 %"),
    Check("irregular_sr", "irregular, SR", "SR", "irregular", lambda v, s: bool(v), "<= 5 %"),
    # How much of that share premature beats explain: the same rule among sinus rhythms with and without any stated.
    Check(
        "irregular_sr_ectopy",
        "irregular, SR with premature beats stated",
        "SR",
        "irregular",
        lambda v, s: bool(v),
        also="ECTOPY",
    ),
    Check(
        "irregular_sr_no_ectopy",
        "irregular, SR with no premature beats stated",
        "SR",
        "irregular",
        lambda v, s: bool(v),
        exclude=("ECTOPY",),
    ),
    # Atrial fibrillation's pattern as Retrieve's criterion reads it (Measurements.irregular_without_p): irregular,
    # not regular between its premature beats, and no PR. An undecided record is counted apart (f=).
    Check("irregular_without_p_afib", "irregular without P waves, AFIB", "AFIB", "irregular_without_p", lambda v, s: v),
    Check("irregular_without_p_sr", "irregular without P waves, SR", "SR", "irregular_without_p", lambda v, s: v),
    # Premature beats (measure v2.11, core.measure.ectopy): found where the cardiologist (codes or report) states
    # them, rarely on normal ECGs that state none, and not stated as supraventricular in atrial fibrillation.
    Check("premature_v_pvc", "premature ventricular beat, PVC", "PVC", "premature_ventricular", lambda v, s: v > 0),
    Check(
        "premature_sv_pac",
        "premature supraventricular beat, PAC",
        "PAC",
        "premature_supraventricular",
        lambda v, s: v > 0,
    ),
    Check(
        "premature_v_norm",
        "premature ventricular beat, NORM (no premature beats stated)",
        "NORM",
        "premature_ventricular",
        lambda v, s: v > 0,
        exclude=("ECTOPY",),
    ),
    Check(
        "premature_sv_norm",
        "premature supraventricular beat, NORM (no premature beats stated)",
        "NORM",
        "premature_supraventricular",
        lambda v, s: v > 0,
        exclude=("ECTOPY",),
    ),
    Check(
        "premature_sv_afib",
        "supraventricular count stated, AFIB (has none)",
        "AFIB",
        "premature_supraventricular",
        coverage=True,
    ),
    # Sinus arrhythmia's measure (Measurements.rr_range_ms, premature beats' intervals left out): the RR varying by
    # 160 ms or more where it is coded or listed, against normal ECGs and other sinus rhythms.
    *(
        Check(
            f"rr_range_{label.lower()}",
            f"RR range >= 160 ms (premature beats left out), {title}",
            label,
            "rr_range_ms",
            lambda v, s: v >= SINUS_ARRHYTHMIA_MS,
            exclude=exclude,
        )
        for label, title, exclude in (
            ("SARRH", "SARRH", ()),
            ("NORM", "NORM", ("SARRH",)),
            ("SR", "SR (no sinus arrhythmia stated)", ("SARRH",)),
        )
    ),
    # Atrial flutter with 2:1 conduction's pattern (Measurements.flutter_2to1_pattern: regular, 120-170 bpm, narrow QRS,
    # no P wave found), Retrieve's flutter criterion: among flutters (2:1 or not), against the rhythms it must not meet.
    *(
        Check(
            f"flutter_2to1_{label.lower()}",
            f"2:1 flutter pattern (regular 120-170 bpm, narrow QRS, no P waves), {label}",
            label,
            "flutter_2to1_pattern",
            lambda v, s: bool(v),
        )
        for label in ("AFLT", "AFIB", "STACH", "NORM")
    ),
    # Premature ventricular beats in a bigeminal or trigeminal order, three in a row (core.measure.ectopy.grouped_run):
    # where the report or codes state the pattern, against other records with ventricular premature beats and normal
    # ECGs that state none. A 10-second strip may catch only part of a stated pattern.
    *(
        Check(
            f"{pattern}_{group.lower()}",
            f"ventricular {pattern} (3 in a row), {title}",
            group,
            f"ventricular_{pattern}",
            lambda v, s: bool(v),
            exclude=exclude,
        )
        for pattern, label in (("bigeminy", "BIGEMINY"), ("trigeminy", "TRIGEMINY"))
        for group, title, exclude in (
            (label, label, ()),
            ("PVC", f"PVC (no {pattern} stated)", (label,)),
            ("NORM", "NORM (no premature beats stated)", ("ECTOPY",)),
        )
    ),
    # Pacemaker spikes (measure v2.15, core.measure.pacing): before the QRS complexes of records labelled paced (a
    # bipolar pacemaker's may be too small to see), and on no record that states no pacemaker. Missing under 500 Hz.
    Check("paced_pace", "ventricular pacing spikes, PACE", "PACE", "paced_beats", lambda v, s: v > 0),
    Check(
        "paced_sr",
        "ventricular pacing spikes, SR (no pacing stated)",
        "SR",
        "paced_beats",
        lambda v, s: v > 0,
        exclude=("PACE",),
    ),
    # ST depression and elevation (core.measure.st_segment): where the cardiologist coded or wrote them, against the
    # opposite finding, and on normal ECGs; then lead by lead, the sign of each lead the report names.
    Check(
        "st_depression_std",
        "ST depression >= 0.05 mV (2 contiguous leads), STD",
        "STD",
        "st_depression_mv",
        lambda v, s: v >= 0.05,
    ),
    Check(
        "st_depression_std_text",
        "ST depression >= 0.05 mV (2 contiguous leads), ST depression in the report",
        "STD_TEXT",
        "st_depression_mv",
        lambda v, s: v >= 0.05,
    ),
    Check(
        "st_depression_ste_text",
        "ST depression >= 0.05 mV (2 contiguous leads), only ST elevation in the report",
        "STE_TEXT",
        "st_depression_mv",
        lambda v, s: v >= 0.05,
        exclude=("STD_TEXT",),
    ),
    Check(
        "st_depression_norm",
        "ST depression >= 0.05 mV (2 contiguous leads), NORM",
        "NORM",
        "st_depression_mv",
        lambda v, s: v >= 0.05,
    ),
    Check(
        "st_elevation_ste_text",
        "ST elevation at J (0.1 mV, V2-V3 0.2 mV; 2 contiguous leads), ST elevation in the report",
        "STE_TEXT",
        "st_elevation",
        lambda v, s: bool(v),
    ),
    Check(
        "st_elevation_std_text",
        "ST elevation at J (0.1 mV, V2-V3 0.2 mV; 2 contiguous leads), only ST depression in the report",
        "STD_TEXT",
        "st_elevation",
        lambda v, s: bool(v),
        exclude=("STE_TEXT",),
    ),
    Check(
        "st_elevation_norm",
        "ST elevation at J (0.1 mV, V2-V3 0.2 mV; 2 contiguous leads), NORM",
        "NORM",
        "st_elevation",
        lambda v, s: bool(v),
    ),
    Check(
        "st_up_named_elevated",
        "ST level at J above the baseline, leads the report names ST-elevated (share of leads)",
        "STE_TEXT",
        "st_j_mv",
        lambda v, s: v > 0.0,
        named="elevation",
    ),
    Check(
        "st_down_named_depressed",
        "ST level at J+60 ms below the baseline, leads the report names ST-depressed (share of leads)",
        "STD_TEXT",
        "st_mv",
        lambda v, s: v < 0.0,
        named="depression",
    ),
    # Q waves (core.measure.q_waves): where the cardiologists coded an infarction, on its wall and not on the other
    # one, in the leads the report names, and rarely on normal ECGs.
    Check(
        "q_wave_imi",
        "pathological Q (2 contiguous leads), inferior infarction",
        "IMI",
        "q_wave_walls",
        lambda v, s: bool(v),
    ),
    Check(
        "q_wave_inferior_imi",
        "pathological Q on the inferior wall, inferior infarction",
        "IMI",
        "q_wave_walls",
        lambda v, s: "inferior" in v,
    ),
    Check(
        "q_wave_anterior_imi",
        "pathological Q on the anterior wall, inferior infarction (not anterior)",
        "IMI",
        "q_wave_walls",
        lambda v, s: "anterior" in v,
        exclude=("AMI",),
    ),
    Check(
        "q_wave_ami",
        "pathological Q (2 contiguous leads), anterior infarction",
        "AMI",
        "q_wave_walls",
        lambda v, s: bool(v),
    ),
    Check(
        "q_wave_anterior_ami",
        "pathological Q on the anterior wall, anterior infarction",
        "AMI",
        "q_wave_walls",
        lambda v, s: "anterior" in v,
    ),
    Check(
        "q_wave_inferior_ami",
        "pathological Q on the inferior wall, anterior infarction (not inferior)",
        "AMI",
        "q_wave_walls",
        lambda v, s: "inferior" in v,
        exclude=("IMI",),
    ),
    Check("q_wave_norm", "pathological Q (2 contiguous leads), NORM", "NORM", "q_wave_walls", lambda v, s: bool(v)),
    Check(
        "q_named",
        "pathological Q, leads the report names Q waves in (share of leads; V1 and aVR not read)",
        "Q_TEXT",
        "q_pathological",
        lambda v, s: bool(v),
        named="q",
    ),
    # T-wave inversion (core.measure.t_waves): where the cardiologists coded it (PTB-XL INVT, CinC-2021 TInv) or
    # named its leads, rarely on normal ECGs that state none; on the wall the report names and not on the opposite
    # one; then lead by lead, the sign of each lead named.
    Check(
        "t_inversion_tinv",
        "T inversion >= 0.1 mV (2 contiguous leads; aVR, III, V1 not read), TINV (coded)",
        "TINV",
        "t_inversion_walls",
        lambda v, s: bool(v),
    ),
    Check(
        "t_inversion_tinv_text",
        "T inversion >= 0.1 mV (2 contiguous leads; aVR, III, V1 not read), T inversion in the report",
        "TINV_TEXT",
        "t_inversion_walls",
        lambda v, s: bool(v),
    ),
    Check(
        "t_inversion_norm",
        "T inversion >= 0.1 mV (2 contiguous leads; aVR, III, V1 not read), NORM (none coded or named)",
        "NORM",
        "t_inversion_walls",
        lambda v, s: bool(v),
        exclude=("TINV", "TINV_TEXT"),
    ),
    Check(
        "t_inversion_inferior_tinv_inf",
        "T inversion on the inferior wall, T inversion named in inferior leads",
        "TINV_INF",
        "t_inversion_walls",
        lambda v, s: "inferior" in v,
    ),
    Check(
        "t_inversion_anterior_tinv_inf",
        "T inversion on the anterior wall, T inversion named in inferior leads (not anterior)",
        "TINV_INF",
        "t_inversion_walls",
        lambda v, s: "anterior" in v,
        exclude=("TINV_ANT",),
    ),
    Check(
        "t_inversion_anterior_tinv_ant",
        "T inversion on the anterior wall, T inversion named in anterior leads",
        "TINV_ANT",
        "t_inversion_walls",
        lambda v, s: "anterior" in v,
    ),
    Check(
        "t_inversion_inferior_tinv_ant",
        "T inversion on the inferior wall, T inversion named in anterior leads (not inferior)",
        "TINV_ANT",
        "t_inversion_walls",
        lambda v, s: "inferior" in v,
        exclude=("TINV_INF",),
    ),
    Check(
        "t_negative_named",
        "T wave below the baseline, leads the report names T waves inverted in (share of leads)",
        "TINV_TEXT",
        "t_mv",
        lambda v, s: v < 0.0,
        named="t_inverted",
    ),
    # Low or flat T waves (core.measure.t_waves.low_t_leads): where PTB-XL coded them (LOWT) or the report names their
    # leads, rarely on normal ECGs that state none; then lead by lead, each lead named under 0.1 mV either way.
    Check(
        "low_t_lowt",
        "low/flat T < 0.1 mV (2 contiguous of I, II, aVF, V3-V6), LOWT (coded)",
        "LOWT",
        "low_t_walls",
        lambda v, s: bool(v),
    ),
    Check(
        "low_t_lowt_text",
        "low/flat T < 0.1 mV (2 contiguous of I, II, aVF, V3-V6), low or flat T in the report",
        "LOWT_TEXT",
        "low_t_walls",
        lambda v, s: bool(v),
    ),
    Check(
        "low_t_norm",
        "low/flat T < 0.1 mV (2 contiguous of I, II, aVF, V3-V6), NORM (none coded or named)",
        "NORM",
        "low_t_walls",
        lambda v, s: bool(v),
        exclude=("LOWT", "LOWT_TEXT"),
    ),
    Check(
        "t_low_named",
        "T wave under 0.1 mV either way, leads the report names T waves low or flat in (share of leads)",
        "LOWT_TEXT",
        "t_mv",
        lambda v, s: -0.1 < v < 0.1,
        named="t_low",
    ),
    Check("qtc_long_lngqt", "QTc (Bazett) > 460/470 ms, long QT", "LNGQT", "qtc_ms", lambda v, s: v > qtc_limit_ms(s)),
    Check("qtc_long_norm", "QTc (Bazett) > 460/470 ms, NORM", "NORM", "qtc_ms", lambda v, s: v > qtc_limit_ms(s)),
    # Bazett over-corrects above about 80 bpm, so a normal ECG at a fast rate reads long; Fridericia's cube root
    # much less. Both rows side by side tell a formula effect from a QT measured too long (LUDB's QT error rows).
    Check(
        "qtcf_long_lngqt",
        "QTc (Fridericia) > 460/470 ms, long QT",
        "LNGQT",
        "qtc_fridericia_ms",
        lambda v, s: v > qtc_limit_ms(s),
    ),
    Check(
        "qtcf_long_norm",
        "QTc (Fridericia) > 460/470 ms, NORM",
        "NORM",
        "qtc_fridericia_ms",
        lambda v, s: v > qtc_limit_ms(s),
    ),
    Check("axis_left_lad", "axis < -30°, LAD", "LAD", "axis_deg", lambda v, s: left_axis(v)),
    Check("axis_below0_lad0", "axis < 0°, LAD0 (LUDB: left of 0°)", "LAD0", "axis_deg", lambda v, s: -90.0 <= v < 0.0),
    Check("axis_left_lafb", "axis < -30°, LAFB", "LAFB", "axis_deg", lambda v, s: left_axis(v)),
    Check("axis_right_rad", "axis > +90°, RAD", "RAD", "axis_deg", lambda v, s: right_axis(v)),
    Check("axis_left_norm", "axis < -30°, NORM", "NORM", "axis_deg", lambda v, s: left_axis(v)),
    Check("low_voltage_lvolt", "limb QRS < 0.5 mV, LVOLT", "LVOLT", "limb_qrs_amplitude_mv", lambda v, s: v < 0.5),
    Check("low_voltage_norm", "limb QRS < 0.5 mV, NORM", "NORM", "limb_qrs_amplitude_mv", lambda v, s: v < 0.5),
    Check("sokolow_lvh", "Sokolow-Lyon >= 3.5 mV, LVH", "LVH", "sokolow_lyon_mv", lambda v, s: v >= 3.5),
    Check("sokolow_hvolt", "Sokolow-Lyon >= 3.5 mV, HVOLT", "HVOLT", "sokolow_lyon_mv", lambda v, s: v >= 3.5),
    Check("sokolow_norm", "Sokolow-Lyon >= 3.5 mV, NORM", "NORM", "sokolow_lyon_mv", lambda v, s: v >= 3.5),
    # Cornell voltage (R aVL + S V3) at the sex's limit: over 2.8 mV in men, 2.0 mV in women (and when not known).
    Check(
        "cornell_lvh",
        "Cornell > 2.8/2.0 mV (men/women), LVH",
        "LVH",
        "cornell_mv",
        lambda v, s: v > cornell_limit_mv(s),
    ),
    Check(
        "cornell_norm",
        "Cornell > 2.8/2.0 mV (men/women), NORM",
        "NORM",
        "cornell_mv",
        lambda v, s: v > cornell_limit_mv(s),
    ),
    # V1's P terminal force (core.measure.p_terminal): Morris' 0.1 mV deep and 40 ms long.
    Check("ptf_lae", "V1 P terminal force (Morris), LAE", "LAE", "left_atrial_abnormality", lambda v, s: bool(v)),
    Check(
        "ptf_norm",
        "V1 P terminal force (Morris), NORM (not LAE)",
        "NORM",
        "left_atrial_abnormality",
        lambda v, s: bool(v),
        exclude=("LAE",),
    ),
)


# --------------------------------------------------------------------------------------------------------------------
# Rows -> cells
# --------------------------------------------------------------------------------------------------------------------


def check_cell(rows: Iterable[dict], check: Check) -> dict[str, Any]:
    """Evaluate one check over rows (dicts with ``labels``, ``sex``, ``status`` and ``meas``).

    Returns:
        ``{"n", "n_measured", "n_failed", "value"}``; unreadable records are not counted in ``n``; ``value`` is None
        when nothing was measured. A share check adds ``n_positive`` (records passing the rule) and ``ci``, its exact
        95 % interval (:func:`share_interval`).
    """
    selected = [
        r
        for r in rows
        if check.label in r["labels"]
        and (not check.also or check.also in r["labels"])
        and not any(label in r["labels"] for label in check.exclude)
        and r["status"] != "unreadable"
    ]
    if check.named:
        values = [
            (r["meas"].get(check.field, {}).get(lead) if r["meas"].get(check.field) else None, r.get("sex"))
            for r in selected
            for lead in r.get("named_leads", {}).get(check.named, [])
        ]
    else:
        values = [(r["meas"].get(check.field), r.get("sex")) for r in selected]
    measured = [(v, s) for v, s in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if check.coverage:
        n = len(selected)
        cell = {"n": n, "n_measured": n, "n_failed": 0, "value": len(measured) / n if n else None}
        if n:
            cell["n_positive"], cell["ci"] = len(measured), share_interval(len(measured), n)
        return cell
    cell = {"n": len(values), "n_measured": len(measured), "n_failed": len(values) - len(measured), "value": None}
    if measured and check.test is None:
        cell["value"] = float(np.median([v for v, _ in measured]))
    elif measured:
        hits = sum(bool(check.test(v, s)) for v, s in measured)
        cell.update(value=hits / len(measured), n_positive=hits, ci=share_interval(hits, len(measured)))
    return cell


def share_interval(k: int, n: int) -> tuple[float, float]:
    """Exact (Clopper-Pearson) 95 % interval of a share of ``k`` in ``n``: held-out parts are small (3 or 12 records
    with first-degree AV block), and a reader must see how little "1 of 3" says against an 80 % goal."""
    ci = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


def ludb_error_cells(rows: Iterable[dict]) -> dict[str, dict[str, Any]]:
    """Median absolute error against LUDB's manual annotations (rows with ``ref``), per compared measurement."""
    rows = [r for r in rows if r.get("ref") and r["status"] != "unreadable"]
    out = {}
    for name in LUDB_COMPARED:
        with_ref = [r for r in rows if r["ref"].get(name) is not None]
        err = [abs(r["meas"][name] - r["ref"][name]) for r in with_ref if r["meas"].get(name) is not None]
        out[name] = {
            "n": len(with_ref),
            "n_measured": len(err),
            "n_failed": len(with_ref) - len(err),
            "value": float(np.median(err)) if err else None,
            "goal": LUDB_GOALS[name],
        }
    return out


def summarize(rows: Sequence[dict], checks: Sequence[Check] = CHECKS) -> dict[str, dict[str, dict[str, dict]]]:
    """Cells per source, split group (``train``, ``held_out`` and the pooled ``all``) and method.

    Returns:
        ``{source: {split: {method: {"checks": {key: cell}, "ludb_errors": {...} (LUDB only), "n_records",
        "n_unreadable", "n_errors", "ms_per_ecg"}}}}``.
    """
    out: dict[str, dict[str, dict[str, dict]]] = {}
    # A field a method never gives on any record (e.g. the axis of a one-lead method) is "not provided", not failed.
    provided = {
        m: {
            f
            for f in (*MEAS_FIELDS, *PER_LEAD_FIELDS)
            if any(r["meas"].get(f) is not None for r in rows if r["method"] == m)
        }
        for m in dict.fromkeys(r["method"] for r in rows)
    }
    for source in dict.fromkeys(r["source"] for r in rows):
        out[source] = {}
        in_source = [r for r in rows if r["source"] == source]
        for split in (*SPLIT_GROUPS, "all"):
            in_split = [r for r in in_source if split == "all" or r["split"] == split]
            if not in_split:
                continue
            out[source][split] = {}
            for method in dict.fromkeys(r["method"] for r in in_split):
                mine = [r for r in in_split if r["method"] == method]
                times = [r["ms"] for r in mine if r.get("ms") is not None]
                cell: dict[str, Any] = {
                    "n_records": len(mine),
                    "n_unreadable": sum(r["status"] == "unreadable" for r in mine),
                    "n_errors": sum(r["status"] == "error" for r in mine),
                    "ms_per_ecg": float(np.median(times)) if times else None,
                    "checks": {c.key: {**check_cell(mine, c), "provided": c.field in provided[method]} for c in checks},
                }
                if any(r.get("ref") for r in mine):
                    cell["ludb_errors"] = ludb_error_cells(mine)
                out[source][split][method] = cell
    return out


# --------------------------------------------------------------------------------------------------------------------
# Records -> rows
# --------------------------------------------------------------------------------------------------------------------


def split_group(split: str) -> str:
    """``held_out`` for the splits evaluation holds out (:data:`core.evaluate.data.HELD_OUT_SPLITS`), else ``train``."""
    from core.evaluate.data import HELD_OUT_SPLITS

    return "held_out" if split in HELD_OUT_SPLITS else "train"


def measurement_dict(meas: Any) -> dict[str, Any]:
    """The benchmark's fields of a Measurements object (None where absent), as plain JSON values; the
    :data:`PER_LEAD_FIELDS` as lead -> value."""
    out = {}
    for name in MEAS_FIELDS:
        value = getattr(meas, name, None)
        if isinstance(value, tuple):
            out[name] = list(value)
        else:
            out[name] = bool(value) if isinstance(value, bool | np.bool_) else (None if value is None else float(value))
    from core.measure.q_waves import NOT_READ, pathological

    per_lead = {lead: dict(v) for lead, v in (getattr(meas, "per_lead", None) or {}).items()}
    for lead, values in per_lead.items():
        # The depth needs calibrated millivolts; V1 and aVR are not read (a record naming them counts f=).
        if values.get("q_ms") is not None and values.get("q_mv") is not None and lead not in NOT_READ:
            values["q_pathological"] = pathological(lead, values)
    for name in PER_LEAD_FIELDS:
        levels = {
            lead: v[name] if isinstance(v[name], bool) else float(v[name])
            for lead, v in per_lead.items()
            if v.get(name) is not None
        }
        out[name] = levels or None
    return out


def _source_hash(objects: Sequence[Any]) -> str:
    digest = hashlib.sha256()
    for obj in objects:
        digest.update(Path(inspect.getsourcefile(obj)).read_bytes())
    return digest.hexdigest()[:10]


def cache_key(method: str) -> str | None:
    """What a cached library measurement depends on (library version + the project code around it); None for
    ``own``, which is measured afresh every run (it is what changes)."""
    if method == "own":
        return None
    from core.data import lead_scaling
    from core.data.formats import wfdb_format
    from core.measure import backends, measurements, waves
    from core.measure.backends import backend_version

    # The readers too: a change in how a file's samples are read (LUDB's gains, v2.9) changes every library's input.
    readers = (lead_scaling, wfdb_format)
    code = (backends, measurements, waves, *readers) if method == "neurokit" else (backends, *readers)
    # The fields too: an entry cached before a field was added would read as "not measured" in its rows.
    fields = hashlib.sha256(",".join((*MEAS_FIELDS, *PER_LEAD_FIELDS)).encode()).hexdigest()[:6]
    return f"{backend_version(method)}-{_source_hash(code)}-{fields}"


class MeasurementCache:
    """Library measurements per record, in one JSON file per (method key, source), so reruns only measure ``own``."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = Path(folder) if folder is not None else None
        self._data: dict[Path, dict[str, Any]] = {}

    def _file(self, key: str, source: str) -> Path | None:
        if self.folder is None:
            return None
        return self.folder / f"{key}-{source.replace('@', '_')}.json"

    def get(self, key: str | None, source: str, record_id: str) -> dict | None:
        path = self._file(key, source) if key else None
        if path is None:
            return None
        if path not in self._data:
            self._data[path] = json.loads(path.read_text()) if path.is_file() else {}
        return self._data[path].get(record_id)

    def put(self, key: str | None, source: str, record_id: str, entry: dict) -> None:
        path = self._file(key, source) if key else None
        if path is None:
            return
        self._data.setdefault(path, json.loads(path.read_text()) if path.is_file() else {})[record_id] = entry

    def flush(self) -> None:
        """Write every touched file (temporary file, then ``os.replace``)."""
        import os

        for path, data in self._data.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Merge with what another run (e.g. one on another split) wrote since this one read the file.
            on_disk = json.loads(path.read_text()) if path.is_file() else {}
            data = {**on_disk, **data}
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, path)


def _ludb_reference(record: Any) -> tuple[dict[str, float | None], str]:
    """LUDB's manual-annotation reference of a record and the out-of-fold delineator weights for it."""
    from core.measure.delineator import read_config
    from core.measure.ludb import read_annotation, reference_measurements

    number = int(record.record_id.split("/")[-1])
    ref = reference_measurements(read_annotation(record.path.parent.parent, number))
    fold = read_config().get("folds", {}).get(str(number))
    return {k: ref.get(k) for k in LUDB_COMPARED}, (f"fold{fold}.safetensors" if fold is not None else "")


def run_benchmark(
    sources: Sequence[str],
    methods: Sequence[str],
    data_root: Path,
    *,
    splits: Sequence[str] = SPLIT_GROUPS,
    limit: int | None = None,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    ptbxl_folds: Collection[int] | None = None,
    ptbxl_validated: str | None = None,
) -> list[dict]:
    """Measure the records of the given sources with each method; one row per (record, method).

    Args:
        sources: keys of :data:`core.measure.reference_labels.SOURCES`.
        methods: backend names (``own``, ``neurokit``, ``openecg``).
        data_root: the shared data folder holding the dataset folders.
        splits: split groups to run (``train``, ``held_out``).
        limit: at most this many records per source and split group (the first ones, in catalog order).
        cache_dir: where library measurements are cached (None: no cache).
        progress: called with a line of text now and then.
        ptbxl_folds: only PTB-XL records of these ``strat_fold`` values (None: all); other datasets are unaffected.
            It lets a change be chosen on some training folds and confirmed on others before the held-out folds
            are ever scored.
        ptbxl_validated: ``"human"``: only PTB-XL records whose labels a cardiologist validated (PTB-XL's
            ``validated_by_human``; every record of the held-out folds 9-10 is), ``"machine"``: only the others, None:
            all. Training records labelled the way the held-out ones were show what the held-out figures can be.

    Returns:
        Rows: ``source``, ``record_id``, ``split`` (group), ``labels``, ``sex``, ``named_leads`` (the leads the report
        names ST-elevated or -depressed), ``method``, ``status`` (``ok``,
        ``unreadable``: the file could not be read, ``error``: the backend raised), ``meas`` (:data:`MEAS_FIELDS`),
        ``ms`` (measuring time; None when taken from the cache), ``cached``, ``ref`` (LUDB: manual-annotation
        reference), ``detail`` (error text).
    """
    from core.errors import ECGReadError
    from core.measure.backends import get_backend
    from core.measure.reference_labels import SOURCES, reference_labels, reference_named_leads, source_records

    cache = MeasurementCache(cache_dir)
    keys = {m: cache_key(m) for m in methods}
    backends = {m: get_backend(m) for m in methods}
    rows: list[dict] = []
    for source_key in sources:
        source = SOURCES[source_key]
        chosen: list = []
        per_split = dict.fromkeys(splits, 0)
        for record, catalog in source_records(source, data_root):
            if (
                ptbxl_folds is not None
                and record.dataset == "ptbxl"
                and record.meta.get("strat_fold") not in ptbxl_folds
            ):
                continue
            if (
                ptbxl_validated is not None
                and record.dataset == "ptbxl"
                and bool(record.meta.get("validated_by_human")) != (ptbxl_validated == "human")
            ):
                continue
            group = split_group(record.split)
            if group in per_split and (limit is None or per_split[group] < limit):
                per_split[group] += 1
                chosen.append((record, catalog, group))
        start = time.perf_counter()
        for i, (record, catalog, group) in enumerate(chosen):
            base = {
                "source": source_key,
                "record_id": record.record_id,
                "split": group,
                "labels": sorted(reference_labels(record)),
                "sex": record.meta.get("sex"),
                "named_leads": reference_named_leads(record),
            }
            ref, weights = _ludb_reference(record) if record.dataset == "ludb" else (None, "")
            ecg, detail = None, ""
            for method in methods:
                cached = cache.get(keys[method], source_key, record.record_id)
                if cached is not None:
                    # Its time was measured in another run, under whatever load that run had: not reported here.
                    rows.append({**base, "method": method, **cached, "ms": None, "cached": True, "ref": ref})
                    continue
                if ecg is None and not detail:
                    try:
                        ecg = catalog.read(record)
                    except (ECGReadError, OSError, ValueError) as exc:  # counted per cell as unreadable
                        detail = f"{type(exc).__name__}: {exc}"
                        logger.warning("%s: unreadable: %s", record.record_id, detail)
                if ecg is None:
                    entry = {"status": "unreadable", "meas": measurement_dict(None), "ms": None, "detail": detail}
                    rows.append({**base, "method": method, **entry, "ref": ref})
                    continue
                entry = _measure(backends[method], method, ecg, weights)
                if entry["status"] == "ok":
                    cache.put(keys[method], source_key, record.record_id, entry)
                rows.append({**base, "method": method, **entry, "ref": ref})
            if progress and (i + 1) % 100 == 0:
                progress(f"{source_key}: {i + 1}/{len(chosen)} records, {time.perf_counter() - start:.0f} s")
        cache.flush()
        if progress:
            progress(f"{source_key}: {len(chosen)} records done in {time.perf_counter() - start:.0f} s")
    return rows


def _measure(backend: Callable, method: str, ecg: Any, weights: str) -> dict[str, Any]:
    """One backend on one ECG, timed; LUDB records use the out-of-fold weights for ``own``."""
    kwargs = {"weights": weights} if (method == "own" and weights) else {}
    start = time.perf_counter()
    try:
        meas = backend(ecg, **kwargs)
    except Exception as exc:  # noqa: BLE001 - one backend failing on one record is a counted, logged failure
        logger.warning("%s: %s failed: %s: %s", ecg.record_id, method, type(exc).__name__, exc)
        return {"status": "error", "meas": measurement_dict(None), "ms": None, "detail": f"{type(exc).__name__}: {exc}"}
    ms = 1000.0 * (time.perf_counter() - start)
    return {"status": "ok", "meas": measurement_dict(meas), "ms": ms, "detail": ""}


# --------------------------------------------------------------------------------------------------------------------
# Cells -> text
# --------------------------------------------------------------------------------------------------------------------


def format_cell(cell: dict[str, Any], *, median_unit: str = "ms", share: bool = True) -> str:
    """``"4 % [2-9] n=120"`` (share and its 95 % interval), ``"96 ms n=120"`` (median); ``f=2`` appended when records
    failed; ``-`` when no record has the label; ``n/a`` when the method never gives that measurement."""
    if cell["n"] == 0:
        return "-"
    if not cell.get("provided", True):
        return "n/a"
    if cell["value"] is None:
        shown = "no value"
    elif share:
        shown = f"{100 * cell['value']:.0f} %"
        if ci := cell.get("ci"):
            shown += f" [{100 * ci[0]:.0f}-{100 * ci[1]:.0f}]"
    else:
        shown = f"{cell['value']:.1f} {median_unit}" if median_unit != "ms" else f"{cell['value']:.0f} ms"
    failed = f" f={cell['n_failed']}" if cell["n_failed"] else ""
    return f"{shown} n={cell['n_measured']}{failed}"


def _table_rows(summary: dict, source: str, methods: Sequence[str], splits: Sequence[str], checks: Sequence[Check]):
    """(title, goal, cells) per check that has records in this source, then LUDB error rows and timing."""
    groups = summary.get(source, {})
    columns = [(m, s) for m in methods for s in splits]

    def cell_of(method: str, split: str) -> dict | None:
        return groups.get(split, {}).get(method)

    out = []
    for check in checks:
        cells = [cell_of(m, s) for m, s in columns]
        if not any(c and c["checks"][check.key]["n"] for c in cells):
            continue
        texts = [
            format_cell(c["checks"][check.key], share=check.test is not None or check.coverage) if c else ""
            for c in cells
        ]
        out.append((check.title, check.goal, texts))
    if any(c and "ludb_errors" in c for c in (cell_of(m, s) for m, s in columns)):
        for name in LUDB_COMPARED:
            unit = "bpm" if name == "hr_bpm" else "ms"
            texts = []
            for m, s in columns:
                c = cell_of(m, s)
                e = c.get("ludb_errors", {}).get(name) if c else None
                texts.append(format_cell(e, median_unit=unit, share=False) if e else "")
            title = f"LUDB median abs. error {name.removesuffix('_ms').removesuffix('_bpm').upper()}"
            out.append((title, f"<= {LUDB_GOALS[name]:g} {unit}", texts))
    times = []
    for m, s in columns:
        c = cell_of(m, s)
        times.append("" if not c or c["ms_per_ecg"] is None else f"{c['ms_per_ecg']:.0f}")
    out.append(("median ms per ECG (measured in this run)", "< 100 (own)", times))
    counts = [
        "" if not (c := cell_of(m, s)) else f"{c['n_records']} ({c['n_unreadable']} unreadable)" for m, s in columns
    ]
    out.append(("records", "", counts))
    return columns, out


_SPLIT_TITLES = {"train": "train", "held_out": "held-out", "all": "all (train + held-out)"}


def format_markdown(
    summary: dict, methods: Sequence[str], splits: Sequence[str] = SPLIT_GROUPS, checks: Sequence[Check] = CHECKS
) -> str:
    """One markdown table per source: rows = checks, columns = method x split group."""
    parts = []
    for source, header, body in _source_tables(summary, methods, splits, checks):
        lines = [f"**{source}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        if note := _source_note(source):
            lines += ["", f"Note: {note}"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


def format_table(
    summary: dict, methods: Sequence[str], splits: Sequence[str] = SPLIT_GROUPS, checks: Sequence[Check] = CHECKS
) -> str:
    """The printed (fixed-width) version of :func:`format_markdown`."""
    parts = []
    for source, header, body in _source_tables(summary, methods, splits, checks):
        table = [header, *body]
        widths = [max(len(r[i]) for r in table) for i in range(len(header))]
        lines = [source] + ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in table]
        if note := _source_note(source):
            lines.append(f"note: {note}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _source_note(source: str) -> str:
    from core.measure.reference_labels import SOURCES

    return SOURCES[source].note if source in SOURCES else ""


def _source_tables(
    summary: dict, methods: Sequence[str], splits: Sequence[str], checks: Sequence[Check]
) -> Iterator[tuple[str, list[str], list[list[str]]]]:
    """Per source of ``summary``: ``(source, header, rows)``, the header cells and each check's row of cells
    (title, goal, one text per method x split group), shared by :func:`format_markdown` and :func:`format_table`."""
    for source in summary:
        columns, rows = _table_rows(summary, source, methods, splits, checks)
        header = ["check", "goal", *(f"{m} {_SPLIT_TITLES[s]}" for m, s in columns)]
        yield source, header, [[title, goal, *texts] for title, goal, texts in rows]
