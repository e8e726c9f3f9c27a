"""Measured criteria read from free-text queries (core/search/criteria.py) and the order they give a list."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from core.data.catalogs import load_catalog
from core.measure import Measurements, measure_ecg
from core.search.criteria import criteria_for, order_by_verdict, reorder, verdict, why


@pytest.mark.parametrize(
    ("query", "described"),
    [
        ("first degree AV block", ["PR > 200 ms (first-degree AV block)"]),
        (
            "sinus rhythm with 1st-degree atrioventricular block",
            ["PR > 200 ms (first-degree AV block)", "P waves before the QRS (sinus rhythm)"],
        ),
        ("1AVB", ["PR > 200 ms (first-degree AV block)"]),
        ("prolonged PR interval", ["PR > 200 ms (first-degree AV block)"]),
        (
            "atrial fibrillation with rapid ventricular response",
            ["HR > 100 bpm (tachycardia)", "irregular rhythm without P waves (atrial fibrillation)"],
        ),
        ("no atrial fibrillation", []),
        ("sinus bradycardia", ["HR < 60 bpm (bradycardia)", "P waves before the QRS (sinus rhythm)"]),
        ("no sinus rhythm", []),
        (
            "complete left bundle branch block",
            ["QRS ≥ 120 ms (complete bundle branch block), not paced", "V1 R/S < 0.5 (left bundle branch block)"],
        ),
        (
            "right bundle branch block",
            ["QRS ≥ 120 ms (complete bundle branch block), not paced", "V1 R/S ≥ 0.5 (right bundle branch block)"],
        ),
        ("wide QRS tachycardia", ["HR > 100 bpm (tachycardia)", "QRS ≥ 120 ms (wide QRS)"]),
        ("paced rhythm", ["paced QRS complexes ≥ 1 (ventricular pacing)"]),
        ("ventricular pacing", ["paced QRS complexes ≥ 1 (ventricular pacing)"]),
        ("left axis deviation with low QRS voltage", ["axis < -30° (left axis deviation)", "low QRS voltage"]),
        ("right axis deviation", ["axis > 90° (right axis deviation)"]),
        # a fascicular block by its axis, once with the deviation named too
        ("left anterior fascicular block", ["axis < -30° (left axis deviation)"]),
        ("LAFB with left axis deviation", ["axis < -30° (left axis deviation)"]),
        ("left anterior hemiblock", ["axis < -30° (left axis deviation)"]),
        ("left posterior fascicular block", ["axis > 90° (right axis deviation)"]),
        ("LPFB", ["axis > 90° (right axis deviation)"]),
        ("no left anterior fascicular block", []),
        ("long QT", ["QTc (Bazett) > 460 ms (long QT), Fridericia's too"]),
        ("frequent ventricular ectopic beats", ["premature ventricular beats ≥ 1"]),
        ("premature atrial contractions", ["premature supraventricular beats ≥ 1 (premature atrial beats)"]),
        ("no ST change, first-degree AV block", ["PR > 200 ms (first-degree AV block)"]),
        ("ST elevation", ["ST elevation at J in 2 contiguous leads"]),
        ("inferior ST elevation", ["ST elevation at J in 2 contiguous leads: inferior wall"]),
        ("ST-segment elevation in V1-V3", ["ST elevation at J in 2 contiguous leads: anterior wall"]),
        ("anteroseptal STEMI", ["ST elevation at J in 2 contiguous leads: anterior wall"]),
        (
            "inferolateral ST elevation",
            [
                "ST elevation at J in 2 contiguous leads: inferior wall",
                "ST elevation at J in 2 contiguous leads: lateral wall",
            ],
        ),
        ("ST elevation in II, III and aVF", ["ST elevation at J in 2 contiguous leads: inferior wall"]),
        ("STEMI of the lateral wall", ["ST elevation at J in 2 contiguous leads: lateral wall"]),
        # the reciprocal depression's wall is not the elevation's
        (
            "inferior STEMI with ST depression in lateral leads",
            ["ST elevation at J in 2 contiguous leads: inferior wall"],
        ),
        ("non-ST elevation myocardial infarction", []),  # NSTEMI: denied
        (
            "anteroseptal infarction with Q waves in V1-V3",
            ["pathological Q waves in 2 contiguous leads: anterior wall"],
        ),
        ("inferior Q waves", ["pathological Q waves in 2 contiguous leads: inferior wall"]),
        ("pathological Q waves", ["pathological Q waves in 2 contiguous leads"]),
        # an infarction named without its Q waves: Q waves on its wall find it (finds only); not an acute one
        ("inferior myocardial infarction", ["pathological Q waves in 2 contiguous leads: inferior wall"]),
        ("old anterior wall infarction", ["pathological Q waves in 2 contiguous leads: anterior wall"]),
        ("acute inferior myocardial infarction", []),
        ("no Q waves", []),
        ("T wave inversion", ["T-wave inversion in 2 contiguous leads"]),
        ("negative T waves", ["T-wave inversion in 2 contiguous leads"]),
        ("inverted T waves in the lateral leads", ["T-wave inversion in 2 contiguous leads: lateral wall"]),
        ("T wave inversion in V1-V3", ["T-wave inversion in 2 contiguous leads: anterior wall"]),
        ("no T wave inversion", []),
        # the voltage; no T-wave criterion: strain is more than its T waves
        (
            "left ventricular hypertrophy with strain",
            ["Sokolow-Lyon ≥ 3.5 mV or Cornell ≥ 2.8 mV (left ventricular hypertrophy)"],
        ),
        ("NSTEMI", []),
        # no criterion: denied, both rates named, or nothing a single number defines
        ("no first degree AV block", []),
        ("no sign of bradycardia", []),
        ("tachycardia-bradycardia syndrome", []),
        ("incomplete right bundle branch block", []),
        ("second degree AV block", []),
        ("wandering atrial pacemaker", []),  # a rhythm, not a device
        ("no pacemaker", []),
        ("", []),
    ],
)
def test_criteria_read_from_queries(query: str, described: list[str]):
    assert [c.describe() for c in criteria_for(query)] == described


def _measured(**values) -> SimpleNamespace:
    fields = (
        "hr_bpm", "pr_ms", "qrs_ms", "qtc_ms", "qtc_fridericia_ms", "axis_deg", "low_voltage", "premature_ventricular",
        "paced_beats", "irregular", "v1_r_to_s", "qrs_not_narrow",
    )  # fmt: skip
    return SimpleNamespace(**{name: values.get(name) for name in fields})


def test_a_verdict_needs_every_criterion_met_and_any_contradiction_fails_it():
    both = criteria_for("left axis deviation with low QRS voltage")
    assert verdict(both, _measured(axis_deg=-45.0, low_voltage=True)) is True
    assert verdict(both, _measured(axis_deg=-45.0, low_voltage=False)) is False
    assert verdict(both, _measured(axis_deg=-45.0)) is None  # voltage not measured (uncalibrated file)
    assert verdict(both, _measured(axis_deg=10.0)) is False  # one contradiction is enough
    assert verdict(both, None) is None  # no measurements at all
    pr = criteria_for("first degree AV block")
    assert verdict(pr, _measured(pr_ms=200.0)) is False and verdict(pr, _measured(pr_ms=201.0)) is True
    pvc = criteria_for("premature ventricular contractions")
    assert verdict(pvc, _measured(premature_ventricular=0)) is False
    assert verdict(pvc, _measured(premature_ventricular=2)) is True


def _rhythm(
    irregular: bool | None, sv: int | None, v: int | None = 0, hr: float = 130.0, pr: float | None = None
) -> Measurements:
    return Measurements(
        hr_bpm=hr, irregular=irregular, premature_supraventricular=sv, premature_ventricular=v, pr_ms=pr
    )


def test_atrial_fibrillation_needs_an_irregular_rhythm_without_p_waves():
    af = criteria_for("atrial fibrillation with rapid ventricular response")
    # Irregular, no supraventricular count (irregular between the premature beats too) and no PR: met.
    assert verdict(af, _rhythm(True, None)) is True
    assert verdict(af, _rhythm(False, 0)) is False  # a sinus tachycardia, or 2:1 flutter
    assert verdict(af, _rhythm(True, None, hr=80.0)) is False  # AF, but no rapid response
    # Irregular, but regular between its premature beats (sinus rhythm with early beats, or AF whose early beats were
    # counted: ptbxl/05800), or with P waves before the QRS: undecided, between the met and the contradicted.
    assert verdict(af, _rhythm(True, 3)) is None
    assert verdict(af, _rhythm(True, None, pr=160.0)) is None
    assert verdict(af, _rhythm(None, None)) is None
    assert af[1].reading(_rhythm(True, None)) == "irregular rhythm without P waves: yes (met)"
    assert af[1].reading(_rhythm(False, 0)) == "irregular rhythm without P waves: no (not met)"
    assert af[1].reading(_rhythm(True, 3, v=1)) == (
        "irregular rhythm without P waves: irregular, but regular between the premature beats (3 supraventricular, "
        "1 ventricular)"
    )
    assert af[1].reading(_rhythm(True, None, pr=160.0)) == (
        "irregular rhythm without P waves: irregular, but P waves precede the QRS complexes (PR 160 ms)"
    )
    assert af[1].reading(_rhythm(True, 0, v=0)) == (
        "irregular rhythm without P waves: irregular overall, but regular from beat to beat between the dominant beats"
    )
    assert af[1].reading(_rhythm(None, None)) == "irregular rhythm without P waves: regularity not measured"
    # A value that is simply missing keeps its plain reading.
    assert criteria_for("first degree AV block")[0].reading(_rhythm(True, None)) == "PR not measured"


def test_a_paced_qrs_contradicts_a_bundle_branch_block_but_not_a_wide_qrs():
    # A pacemaker's QRS is wide whatever the bundle branches do (ptbxl/00385: 168 ms, spikes before 12 of 12).
    bbb, wide = criteria_for("complete left bundle branch block"), criteria_for("wide QRS")
    paced = _measured(qrs_ms=168.0, paced_beats=12, v1_r_to_s=0.05)
    assert verdict(bbb, paced) is False and verdict(wide, paced) is True
    assert verdict(bbb, _measured(qrs_ms=168.0, paced_beats=0, v1_r_to_s=0.05)) is True
    # 100 Hz: pacing not judged, the QRS and V1 decide
    assert verdict(bbb, _measured(qrs_ms=168.0, v1_r_to_s=0.05)) is True
    assert bbb[0].reading(paced) == "QRS 168 ms (paced: a pacemaker's QRS, not a bundle branch block)"
    assert criteria_for("paced rhythm")[0].reading(paced) == "paced QRS complexes 12 (≥ 1: met)"
    assert criteria_for("paced rhythm")[0].reading(_measured(qrs_ms=168.0)) == "paced QRS complexes not measured"


def test_left_and_right_bundle_branch_block_are_told_apart_by_v1():
    """A wide QRS meets both sides; V1's R/S tells them apart: an rS or QS (R/S under 0.5) is left, an rsR' right."""
    left, right = criteria_for("complete left bundle branch block"), criteria_for("complete right bundle branch block")
    lbbb, rbbb = _measured(qrs_ms=160.0, v1_r_to_s=0.09), _measured(qrs_ms=140.0, v1_r_to_s=3.2)
    assert (verdict(left, lbbb), verdict(left, rbbb)) == (True, False)
    assert (verdict(right, lbbb), verdict(right, rbbb)) == (False, True)
    assert why(left, rbbb) == "V1 R/S 3.20 (< 0.5: not met)"
    assert verdict(left, _measured(qrs_ms=160.0)) is None  # no V1: the side undecided
    assert criteria_for("incomplete right bundle branch block") == ()


def test_a_long_qt_needs_bazett_and_fridericia_to_agree():
    """Bazett's QTc over-corrects at fast rates: a sinus tachycardia with Bazett 480 and Fridericia 440 ms is
    undecided, not a long QT; both over 460 ms meet it, both under contradict it."""
    long_qt = criteria_for("prolonged QT interval")
    assert verdict(long_qt, _measured(qtc_ms=500.0, qtc_fridericia_ms=480.0)) is True
    assert verdict(long_qt, _measured(qtc_ms=430.0, qtc_fridericia_ms=420.0)) is False
    assert verdict(long_qt, _measured(qtc_ms=480.0, qtc_fridericia_ms=440.0)) is None
    assert verdict(long_qt, _measured(qtc_ms=450.0, qtc_fridericia_ms=470.0)) is None  # a slow rate: the other way
    assert verdict(long_qt, _measured(qtc_ms=480.0)) is True  # Fridericia's not given: Bazett's decides
    assert long_qt[0].reading(_measured(qtc_ms=500.4, qtc_fridericia_ms=480.0)) == (
        "QTc (Bazett) 500 ms, Fridericia 480 ms (> 460 ms: met)"
    )
    assert long_qt[0].reading(_measured(qtc_ms=480.0, qtc_fridericia_ms=440.0)) == (
        "QTc (Bazett) 480 ms, Fridericia 440 ms (> 460 ms: the two disagree)"
    )
    assert why(long_qt, _measured(qtc_ms=480.0, qtc_fridericia_ms=440.0)) == long_qt[0].reading(
        _measured(qtc_ms=480.0, qtc_fridericia_ms=440.0)
    )
    # A wide QRS lengthens the QT by itself (bundle branch blocks, paced beats): undecided, saying so.
    wide = Measurements(qrs_ms=150.0, qtc_ms=500.0, qtc_fridericia_ms=480.0)
    assert wide.qt_in_doubt is True and verdict(long_qt, wide) is None
    # ... but a QT that is not long even so contradicts it.
    assert verdict(long_qt, Measurements(qrs_ms=150.0, qtc_ms=430.0, qtc_fridericia_ms=420.0)) is False
    assert long_qt[0].reading(wide) == (
        "QTc (Bazett) 500 ms, Fridericia 480 ms (> 460 ms: lengthened by the wide QRS, undecided)"
    )
    assert verdict(long_qt, Measurements(qrs_ms=96.0, qtc_ms=500.0, qtc_fridericia_ms=480.0)) is True


def test_a_sinus_rhythm_needs_p_waves_before_the_qrs():
    """A PR measured meets it, atrial fibrillation's pattern contradicts it, and no PR otherwise (a flutter, or P waves
    hidden in the T waves at a fast rate) leaves it undecided with the PR's reason."""
    tachycardia = criteria_for("sinus tachycardia")
    sinus = Measurements(hr_bpm=120.0, irregular=False, premature_supraventricular=0, pr_ms=150.0)
    fibrillation = Measurements(hr_bpm=130.0, irregular=True, premature_supraventricular=None, pr_ms=None)
    flutter = Measurements(hr_bpm=150.0, irregular=False, premature_supraventricular=None, missing={"pr_ms": "no P"})
    assert [verdict(tachycardia, m) for m in (sinus, fibrillation, flutter)] == [True, False, None]
    assert why(tachycardia, fibrillation) == "P waves before the QRS: no (not met)"
    assert why(tachycardia, flutter) == "P waves before the QRS: no PR (no P)"
    assert flutter.to_dict()["undecided"]["p_waves_before_qrs"] == "no PR (no P)"


def test_st_elevation_is_met_by_two_contiguous_leads_and_undecided_with_a_wide_qrs():
    stemi = criteria_for("STEMI")
    inferior = Measurements(qrs_ms=96.0, st_elevation_leads=("II", "III", "aVF"))
    early = Measurements(qrs_ms=96.0, st_elevation_leads=())
    block = Measurements(qrs_ms=156.0, st_elevation_leads=("V1", "V2", "V3"))
    uncalibrated = Measurements(qrs_ms=96.0, missing={"st_elevation_leads": "amplitudes not calibrated"})
    flat_block = Measurements(qrs_ms=156.0, st_elevation_leads=())  # a wide QRS explains an elevation, not its absence
    assert [verdict(stemi, m) for m in (inferior, early, block, flat_block, uncalibrated)] == [
        True, False, None, False, None
    ]  # fmt: skip
    assert why(stemi, inferior) == "ST elevation at J in 2 contiguous leads: inferior (met)"  # where it is
    assert why(stemi, early) == "ST elevation at J in 2 contiguous leads: none (not met)"
    undecided = (
        "ST elevation at J in 2 contiguous leads: anterior (a wide QRS moves the ST segment opposite to it, undecided)"
    )
    assert why(stemi, block) == undecided
    said = "ST elevation at J in 2 contiguous leads: not measured (amplitudes not calibrated)"
    assert why(stemi, uncalibrated) == said
    assert why(criteria_for("ST elevation"), inferior) == "ST elevation at J in 2 contiguous leads: inferior (met)"


def test_q_waves_on_the_named_wall_and_undecided_with_a_wide_qrs():
    anterior = criteria_for("Q waves in V1-V3")
    scar = Measurements(qrs_ms=100.0, q_wave_leads=("V2", "V3"))
    inferior = Measurements(qrs_ms=100.0, q_wave_leads=("III", "aVF"))
    block = Measurements(qrs_ms=160.0, q_wave_leads=("V2", "V3"))
    assert [verdict(anterior, m) for m in (scar, inferior, block)] == [True, False, None]
    assert why(anterior, inferior) == "pathological Q waves in 2 contiguous leads: inferior (anterior wall: not met)"
    assert "can make Q waves, undecided" in why(anterior, block)


def test_t_wave_inversion_on_the_named_wall_and_undecided_with_a_wide_qrs():
    lateral = criteria_for("inverted T waves in the lateral leads")
    strain = Measurements(qrs_ms=100.0, t_inversion_leads=("I", "aVL", "V5", "V6"))
    anterior = Measurements(qrs_ms=100.0, t_inversion_leads=("V2", "V3"))
    block = Measurements(qrs_ms=160.0, t_inversion_leads=("V5", "V6"))
    upright = Measurements(qrs_ms=160.0, t_inversion_leads=())
    assert [verdict(lateral, m) for m in (strain, anterior, block, upright)] == [True, False, None, False]
    assert why(lateral, anterior) == "T-wave inversion in 2 contiguous leads: anterior (lateral wall: not met)"
    assert "turns the T wave opposite to it, undecided" in why(lateral, block)
    assert "not measured" in why(lateral, Measurements(missing={"t_inversion_leads": "amplitudes not calibrated"}))
    # A QRS not measured may be a wide one (ptbxl/16488: paced, "QRS 260 ms is outside 40-250 ms"): undecided too.
    unmeasured = Measurements(t_inversion_leads=("V5", "V6"), missing={"qrs_ms": "QRS 260 ms is outside 40-250 ms"})
    assert verdict(lateral, unmeasured) is None
    assert why(lateral, unmeasured) == (
        "T-wave inversion in 2 contiguous leads: lateral (QRS not measured: QRS 260 ms is outside 40-250 ms; a wide QRS"
        " not excluded, undecided)"
    )
    assert verdict(lateral, Measurements(t_inversion_leads=(), missing={"qrs_ms": "too wide"})) is False
    assert unmeasured.to_dict()["qrs_not_narrow"] is True and "qrs_not_narrow" in unmeasured.to_dict()["undecided"]


def test_low_or_flat_t_waves_on_the_named_wall_and_undecided_with_a_wide_qrs():
    assert [c.describe() for c in criteria_for("flat T waves")] == ["low or flat T waves in 2 contiguous leads"]
    assert [c.describe() for c in criteria_for("non-specific T wave flattening in V5, V6")] == [
        "low or flat T waves in 2 contiguous leads: lateral wall"
    ]
    assert [c.describe() for c in criteria_for("low voltage")] == ["low QRS voltage"]  # the QRS, not the T wave
    assert criteria_for("no flat T waves") == ()
    inferior = criteria_for("low T waves in II and aVF")
    flat = Measurements(qrs_ms=96.0, low_t_leads=("II", "aVF"), t_inversion_leads=())
    lateral = Measurements(qrs_ms=96.0, low_t_leads=("I", "V5"))
    block = Measurements(qrs_ms=150.0, low_t_leads=("II", "aVF"))
    assert [verdict(inferior, m) for m in (flat, lateral, block)] == [True, False, None]
    assert why(inferior, flat) == "low or flat T waves in 2 contiguous leads: inferior (inferior wall: met)"
    assert "a wide QRS changes the T wave with it, undecided" in why(inferior, block)
    # Low and inverted are two findings: an inverted T wave does not meet "flat T waves".
    assert (
        verdict(criteria_for("flat T waves"), Measurements(qrs_ms=96.0, low_t_leads=(), t_inversion_leads=("V5", "V6")))
        is False
    )


def test_lvh_voltage_finds_a_hypertrophy_but_its_absence_does_not_exclude_one():
    """Sokolow-Lyon or Cornell meets about half of the coded LVH: either met lifts an ECG; neither met, or not measured
    (LUDB keeps no millivolts), leaves it undecided, never contradicted."""
    lvh = criteria_for("left ventricular hypertrophy with strain")
    assert [c.describe() for c in lvh] == ["Sokolow-Lyon ≥ 3.5 mV or Cornell ≥ 2.8 mV (left ventricular hypertrophy)"]
    assert criteria_for("LVH") == lvh and criteria_for("no LVH") == ()
    assert criteria_for("right ventricular hypertrophy") == ()
    tall = Measurements(qrs_ms=100.0, sokolow_lyon_mv=4.2, cornell_mv=1.0)
    cornell = Measurements(qrs_ms=100.0, sokolow_lyon_mv=2.1, cornell_mv=3.1)
    short = Measurements(qrs_ms=100.0, sokolow_lyon_mv=2.1, cornell_mv=1.0)
    unmeasured = Measurements(qrs_ms=100.0)
    assert [verdict(lvh, m) for m in (tall, cornell, short, unmeasured)] == [True, True, None, None]
    not_met = "not met, which does not exclude it"
    assert why(lvh, tall) == f"Sokolow-Lyon 4.20 mV (≥ 3.5 mV: met) or Cornell 1.00 mV (≥ 2.8 mV: {not_met})"
    assert why(lvh, cornell) == f"Sokolow-Lyon 2.10 mV (≥ 3.5 mV: {not_met}) or Cornell 3.10 mV (≥ 2.8 mV: met)"
    assert why(lvh, short) == f"Sokolow-Lyon 2.10 mV (≥ 3.5 mV) and Cornell 1.00 mV (≥ 2.8 mV): {not_met}"
    assert verdict(lvh, Measurements(qrs_ms=124.0, sokolow_lyon_mv=6.4)) is True  # ptbxl/01048: LVH at 124 ms
    reason = "amplitudes not calibrated"
    ludb = Measurements(qrs_ms=96.0, missing={"sokolow_lyon_mv": reason, "cornell_mv": reason})  # says why
    assert why(lvh, ludb) == f"Sokolow-Lyon and Cornell not measured ({reason})"
    half = Measurements(qrs_ms=96.0, sokolow_lyon_mv=2.1, missing={"cornell_mv": "needs aVL and V3"})
    assert why(lvh, half) == f"Sokolow-Lyon 2.10 mV (≥ 3.5 mV: {not_met}) or Cornell not measured (needs aVL and V3)"
    # Met ECGs first; the rest keep the model's order (nothing is pushed below them).
    ranked = [short, tall, unmeasured, cornell]
    assert reorder(lvh, ranked, lambda m: m)[0] == [tall, cornell, short, unmeasured]


def test_pre_excitation_is_a_short_pr_with_a_widened_qrs_and_finds_only():
    """WPW asks for a PR under 120 ms *and* a QRS of 110 ms or more, each finding only (a late QRS onset on the delta
    wave hides the short PR); a paced QRS is no delta wave. "short PR" is its own finding and can be contradicted."""
    wpw = criteria_for("WPW")
    assert [c.describe() for c in wpw] == ["PR < 120 ms and QRS ≥ 110 ms, not paced (pre-excitation)"]
    assert criteria_for("Wolff-Parkinson-White syndrome") == wpw == criteria_for("ventricular pre-excitation")
    assert criteria_for("delta waves") == wpw and criteria_for("no WPW") == ()
    both = Measurements(pr_ms=96.0, qrs_ms=128.0)
    short_only = Measurements(pr_ms=96.0, qrs_ms=90.0)
    normal = Measurements(pr_ms=160.0, qrs_ms=90.0)
    paced = Measurements(pr_ms=110.0, qrs_ms=160.0, paced_beats=12)
    assert [verdict(wpw, m) for m in (both, short_only, normal, paced)] == [True, None, None, False]
    assert why(wpw, both) == "PR 96 ms (< 120 ms: met) and QRS 128 ms (≥ 110 ms: met)"
    assert why(wpw, normal) == "PR 160 ms (< 120 ms) and QRS 90 ms (≥ 110 ms): not met, which does not exclude it"
    assert why(wpw, paced).endswith("QRS 160 ms (paced: a pacemaker's QRS, not a delta wave)")
    short_pr = criteria_for("short PR interval")
    assert [c.describe() for c in short_pr] == ["PR < 120 ms (short PR)"]
    assert [verdict(short_pr, m) for m in (short_only, normal)] == [True, False]


def test_bigeminy_asks_for_premature_ventricular_beats_in_that_order():
    """No PVC contradicts ventricular bigeminy; three in a bigeminal order meet it; PVCs not in that order leave it
    undecided (a strip may catch only part of it). "PVCs" beside it is said once, inside it; atrial bigeminy is not
    it."""
    from core.measure.measurements import BeatFiducials

    bigeminy = criteria_for("ventricular bigeminy")
    assert [c.describe() for c in bigeminy] == [
        "premature ventricular beats ≥ 1 and bigeminal order, 3 in a row (ventricular bigeminy)"
    ]
    assert criteria_for("PVCs in bigeminy") == criteria_for("bigeminal PVCs") == bigeminy
    assert criteria_for("atrial bigeminy") == () and len(criteria_for("ventricular trigeminy")) == 1
    in_order = tuple(BeatFiducials(k, k + 0.1, premature="ventricular" if k % 2 else None) for k in range(7))
    met = Measurements(premature_ventricular=3, beats=in_order)
    apart = Measurements(premature_ventricular=2, beats=in_order[:4])
    assert [verdict(bigeminy, m) for m in (met, apart, Measurements(premature_ventricular=0))] == [True, None, False]
    assert why(bigeminy, met) == "premature ventricular beats 3 (≥ 1: met) and bigeminal order, 3 in a row: yes (met)"


def test_atrial_flutter_is_found_by_its_2to1_pattern_and_named_with_fibrillation_either_one_counts():
    flutter = criteria_for("atrial flutter with regular flutter waves")
    assert [c.describe() for c in flutter] == [
        "regular 120-170 bpm with a narrow QRS and no P waves (atrial flutter with 2:1 conduction)"
    ]
    assert criteria_for("AFL") == flutter and criteria_for("no atrial flutter") == ()
    two_to_one = Measurements(hr_bpm=139.0, irregular=False, qrs_ms=88.0)
    four_to_one = Measurements(hr_bpm=75.0, irregular=False, qrs_ms=88.0)
    assert [verdict(flutter, m) for m in (two_to_one, four_to_one)] == [True, None]  # finds only
    # A long QT read in the 2:1 pattern is undecided: the flutter waves may hide the T wave's end.
    long_qt = Measurements(hr_bpm=128.0, irregular=False, qrs_ms=92.0, qtc_ms=537.0, qtc_fridericia_ms=474.0)
    assert verdict(criteria_for("long QT"), long_qt) is None
    assert why(criteria_for("long QT"), long_qt) == (
        "QTc (Bazett) 537 ms, Fridericia 474 ms (> 460 ms: in a 2:1 flutter pattern the flutter waves may hide the T "
        "wave's end, undecided)"
    )  # ptbxl/00023, coded AFLT
    either = criteria_for("atrial fibrillation/flutter")
    assert [c.describe() for c in either] == [
        "irregular rhythm without P waves or regular 120-170 bpm with a narrow QRS and no P waves (atrial fibrillation"
        " or flutter)"
    ]
    fibrillation = Measurements(hr_bpm=110.0, irregular=True, qrs_ms=88.0, premature_supraventricular=None)
    sinus = Measurements(hr_bpm=75.0, irregular=False, qrs_ms=88.0, pr_ms=160.0)
    assert [verdict(either, m) for m in (two_to_one, fibrillation, sinus)] == [True, True, None]


def test_any_of_and_all_of_decide_as_their_names_say():
    """An AnyOf of criteria that can contradict: one met is enough, all contradicted contradicts, else undecided. An
    AllOf: met only when every option is, contradicted when one is."""
    from core.search.criteria import AllOf, AnyOf, Criterion

    options = (
        Criterion("slow", "hr_bpm", "<", 60.0, "HR", "bpm"),
        Criterion("long PR", "pr_ms", ">", 200.0, "PR", "ms"),
    )
    either, both = AnyOf("slow or long PR", options), AllOf("slow with a long PR", options)
    assert either.describe() == "HR < 60 bpm or PR > 200 ms (slow or long PR)"
    assert either.verdict(Measurements(hr_bpm=80.0, pr_ms=240.0)) is True
    assert either.verdict(Measurements(hr_bpm=80.0, pr_ms=160.0)) is False
    assert either.verdict(Measurements(hr_bpm=80.0)) is None
    assert both.describe() == "HR < 60 bpm and PR > 200 ms (slow with a long PR)"
    assert both.verdict(Measurements(hr_bpm=50.0, pr_ms=240.0)) is True
    assert both.verdict(Measurements(hr_bpm=80.0, pr_ms=240.0)) is False
    assert both.verdict(Measurements(hr_bpm=50.0)) is None


def test_a_wall_the_query_names_must_carry_the_st_elevation():
    from core.measure.st_segment import ST_GROUPS
    from core.search.criteria import ST_WALLS

    assert tuple(ST_GROUPS) == ST_WALLS  # named apart so that reading a query does not import torch
    inferior = criteria_for("inferior STEMI")
    on_the_wall = Measurements(qrs_ms=96.0, st_elevation_leads=("II", "III", "aVF"))
    anterior = Measurements(qrs_ms=96.0, st_elevation_leads=("V2", "V3", "V4"))
    assert on_the_wall.st_elevation_walls == ("inferior",) and anterior.st_elevation_walls == ("anterior",)
    assert [verdict(inferior, m) for m in (on_the_wall, anterior)] == [True, False]
    assert why(inferior, anterior) == "ST elevation at J in 2 contiguous leads: anterior (inferior wall: not met)"


def test_the_order_puts_met_first_then_unmeasured_then_contradicted_each_keeping_its_order():
    verdicts = [False, None, True, False, True, None]
    assert order_by_verdict(verdicts) == [2, 4, 1, 5, 0, 3]
    assert order_by_verdict([]) == []


def test_reorder_measures_only_the_pool_and_keeps_the_rest_after_it():
    criteria = criteria_for("bradycardia")
    rates = {"a": 80.0, "b": 50.0, "c": None, "d": 55.0, "e": 40.0}
    asked = []

    def measured(item: str) -> SimpleNamespace:
        asked.append(item)
        return _measured(hr_bpm=rates[item])

    items, verdicts = reorder(criteria, list("abcde"), measured, pool=4)
    assert items == ["b", "d", "c", "a", "e"] and verdicts == [True, True, None, False, None]
    assert asked == list("abcd")  # "e" lies beyond the pool: not measured
    assert reorder((), list("abc"), measured) == (["a", "b", "c"], [])


def test_a_reading_puts_the_measured_value_beside_the_criterion():
    measured = _measured(pr_ms=240.4, hr_bpm=55.0, qrs_ms=96.0, low_voltage=False, premature_ventricular=2)
    readings = {q: [c.reading(measured) for c in criteria_for(q)] for q in ("first degree AV block", "long QT")}
    assert readings == {
        "first degree AV block": ["PR 240 ms (> 200 ms: met)"],
        "long QT": ["QTc (Bazett) not measured"],
    }
    assert criteria_for("complete left bundle branch block")[0].reading(measured) == "QRS 96 ms (≥ 120 ms: not met)"
    assert criteria_for("low QRS voltage")[0].reading(measured) == "low QRS voltage: no (not met)"
    assert criteria_for("frequent PVCs")[0].reading(measured) == ("premature ventricular beats 2 (≥ 1: met)")


def test_why_gives_the_readings_that_decided_the_verdict():
    af = criteria_for("atrial fibrillation with rapid ventricular response")
    # Contradicted: only the reading that contradicts; undecided: only the undecided one; met: every reading.
    assert why(af, _rhythm(False, 0)) == "irregular rhythm without P waves: no (not met)"
    assert why(af, _rhythm(True, None, hr=80.0)) == "HR 80 bpm (> 100 bpm: not met)"
    assert why(af, _rhythm(True, 2, v=0)) == (
        "irregular rhythm without P waves: irregular, but regular between the premature beats (2 supraventricular, "
        "0 ventricular)"
    )
    assert why(af, _rhythm(True, None)) == "HR 130 bpm (> 100 bpm: met); irregular rhythm without P waves: yes (met)"
    assert why(af, None) == "HR not measured; irregular rhythm without P waves not measured"


def test_a_long_qt_on_real_records(shared_data: Path):
    """``ptbxl/00103`` (training folds, sinus tachycardia at 105 bpm, no long QT stated): Bazett's QTc is over 460 ms,
    Fridericia's under, so the long QT is undecided; ``ptbxl/00320`` (labelled long QT, 55 bpm): both over, met."""
    catalog = load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", download=False, rate_hz=500)
    long_qt = criteria_for("long QT")
    fast = measure_ecg(catalog.read("ptbxl/00103"))
    assert fast.hr_bpm > 100 and fast.qtc_ms > 460 >= fast.qtc_fridericia_ms
    assert verdict(long_qt, fast) is None and "the two disagree" in long_qt[0].reading(fast)
    labelled = measure_ecg(catalog.read("ptbxl/00320"))
    assert verdict(long_qt, labelled) is True


def test_an_infarction_named_without_q_waves_is_found_by_them_but_not_excluded_without():
    """Many infarctions leave no Q waves (in the plausibility rows, inferior Q waves on 51 % of the training ECGs coded
    inferior infarction, 1 % of normal ones): Q waves on the wall lift an ECG, none leave it undecided, and a wide QRS
    leaves met ones undecided as the named Q-wave criterion does."""
    imi = criteria_for("inferior myocardial infarction")
    assert all(c.finds_only for c in imi)
    inferior = Measurements(qrs_ms=96.0, q_wave_leads=("III", "aVF"))
    anterior = Measurements(qrs_ms=96.0, q_wave_leads=("V2", "V3"))
    none = Measurements(qrs_ms=96.0, q_wave_leads=())
    wide = Measurements(qrs_ms=150.0, q_wave_leads=("III", "aVF"))
    assert [verdict(imi, m) for m in (inferior, anterior, none, wide)] == [True, None, None, None]
    assert why(imi, inferior) == "pathological Q waves in 2 contiguous leads: inferior (inferior wall: met)"
    assert why(imi, none) == (
        "pathological Q waves in 2 contiguous leads: none (inferior wall: not met, which does not exclude it)"
    )
    anywhere = criteria_for("myocardial infarction")
    assert verdict(anywhere, anterior) is True and verdict(anywhere, none) is None
    said = "pathological Q waves in 2 contiguous leads: none (not met, which does not exclude it)"
    assert why(anywhere, none) == said
    # Named Q waves keep their own criterion, which a missing Q wave contradicts; an acute or ST-named one has none.
    named = criteria_for("anteroseptal infarction with Q waves in V1-V3")
    assert not any(c.finds_only for c in named) and verdict(named, none) is False
    for query in ("acute anterior myocardial infarction", "STEMI", "non-ST elevation myocardial infarction"):
        assert not any(getattr(c, "finds_only", False) for c in criteria_for(query)), query


def test_left_atrial_enlargement_asks_for_morris_depth_and_length_and_finds_only():
    lae = criteria_for("left atrial enlargement")
    said = "V1 P terminal depth ≥ 0.1 mV and V1 P terminal length ≥ 40 ms (left atrial abnormality)"
    assert [c.describe() for c in lae] == [said]
    assert criteria_for("left atrial abnormality") == lae == criteria_for("left atrial overload")
    assert criteria_for("no left atrial enlargement") == () and criteria_for("right atrial enlargement") == ()
    deep = Measurements(v1_p_terminal_mv=0.159, v1_p_terminal_ms=78.7)
    shallow = Measurements(v1_p_terminal_mv=0.034, v1_p_terminal_ms=88.0)
    short = Measurements(v1_p_terminal_mv=0.03, v1_p_terminal_ms=20.0)
    assert [verdict(lae, m) for m in (deep, shallow, short, Measurements())] == [True, None, None, None]
    assert why(lae, deep) == "V1 P terminal depth 0.16 mV (≥ 0.1 mV: met) and V1 P terminal length 79 ms (≥ 40 ms: met)"
    not_met = "not met, which does not exclude it"
    assert why(lae, shallow) == (
        f"V1 P terminal depth 0.03 mV (≥ 0.1 mV: {not_met}) and V1 P terminal length 88 ms (≥ 40 ms: met)"
    )
    assert why(lae, short) == (
        f"V1 P terminal depth 0.03 mV (≥ 0.1 mV) and V1 P terminal length 20 ms (≥ 40 ms): {not_met}"
    )
    reason = "amplitudes not calibrated"
    ludb = Measurements(missing={"v1_p_terminal_mv": reason, "v1_p_terminal_ms": reason})
    assert why(lae, ludb) == f"V1 P terminal depth and V1 P terminal length not measured ({reason})"


@pytest.mark.parametrize(
    ("query", "spelled"),
    [
        ("LBBB", "complete left bundle branch block"),
        ("AFib with RVR", "atrial fibrillation with rapid ventricular response"),
        ("frequent PVCs", "frequent premature ventricular contractions"),
        ("old IMI", "old inferior myocardial infarction"),
        ("LAE", "left atrial enlargement"),
        ("lateral STE", "lateral ST elevation"),
    ],
)
def test_abbreviations_name_the_criteria_their_words_do(query: str, spelled: str):
    """A clinician types "LBBB" or "AFib with RVR": the measured criteria are those of the words spelled out (on
    training records, ``by_example_dev --queries eval/dev_queries.json``: "RBBB" D-BETA 0.2 -> 0.5, FG-CLEP 0.3 ->
    0.6), denied as they are."""
    assert criteria_for(query) == criteria_for(spelled) != ()
    assert criteria_for(f"no {query}") == criteria_for(f"no {spelled}") != criteria_for(query)


@pytest.mark.parametrize(
    ("query", "spelled"),
    [
        ("sinus brady", "sinus bradycardia"),
        ("sinus tach", "sinus tachycardia"),
        ("sinus tachy", "sinus tachycardia"),
        ("first degree heart block", "first degree AV block"),
    ],
)
def test_words_clinicians_shorten_read_as_the_finding(query: str, spelled: str):
    assert criteria_for(query) == criteria_for(spelled) != ()


def test_every_example_query_the_retrieve_tab_lists_names_a_measured_finding():
    from core.search.criteria import EXAMPLE_QUERIES, finds_only

    assert all(criteria_for(q) for q in EXAMPLE_QUERIES)
    assert [finds_only(c) for c in criteria_for("LVH") + criteria_for("first degree AV block")] == [True, False]
    assert not finds_only(criteria_for("ventricular bigeminy")[0])  # no premature beat contradicts it


def test_sinus_arrhythmia_is_a_p_wave_rhythm_whose_rr_varies_by_160_ms():
    from core.measure.measurements import SINUS_ARRHYTHMIA_MS, BeatFiducials

    arrhythmia = criteria_for("respiratory sinus arrhythmia")
    assert [c.describe() for c in arrhythmia] == ["P waves before the QRS and RR range ≥ 160 ms (sinus arrhythmia)"]
    assert arrhythmia[0].options[1].threshold == SINUS_ARRHYTHMIA_MS  # the measurement's bound
    varying = tuple(BeatFiducials(t, t + 0.1) for t in (0.0, 0.8, 1.7, 2.5, 3.5))  # RR 800-1000 ms
    even = tuple(BeatFiducials(t, t + 0.1) for t in (0.0, 0.8, 1.6, 2.4, 3.2))
    assert verdict(arrhythmia, Measurements(beats=varying, pr_ms=150.0)) is True
    assert verdict(arrhythmia, Measurements(beats=even, pr_ms=150.0)) is False
    assert why(arrhythmia, Measurements(beats=varying, pr_ms=150.0)) == (
        "P waves before the QRS: yes (met) and RR range 200 ms (≥ 160 ms: met)"
    )
    assert criteria_for("sinus rhythm with sinus arrhythmia") == arrhythmia  # the sinus rhythm said once
