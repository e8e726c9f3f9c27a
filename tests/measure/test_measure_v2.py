"""Clinically defined global waves, beat selection, confidence, plausibility and QRS voltages (measure v2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.data.readers import read_ecg
from core.ecg import ECG
from core.leads import CANONICAL_LEADS
from core.measure import MEASURE_VERSION, measure_ecg
from core.measure import ludb as ludb_ref
from core.measure.amplitude import qrs_amplitudes, voltage_summary
from core.measure.delineator import load_delineator
from core.measure.quality import Estimate, check_qt, estimate, used_beats
from core.measure.unet import QRS
from core.measure.waves import Beat, votes_needed


def test_votes_scale_with_the_leads_present():
    assert votes_needed("QRS", 12) == 4
    assert votes_needed("T", 12) == 2
    assert votes_needed("P", 12) == 1
    assert votes_needed("QRS", 6) == 2  # 4 of 12 scaled to 6 leads
    assert votes_needed("QRS", 1) == 1


def test_one_wide_lead_does_not_widen_the_global_qrs():
    # 12 leads agree on a 100 ms QRS (25 samples at 250 Hz); one lead says the QRS lasts 200 ms.
    labels = np.zeros((12, 1000), dtype=np.int64)
    for start in (100, 350, 600, 850):
        labels[:, start : start + 25] = QRS
        labels[0, start - 10 : start + 40] = QRS
    delineator = load_delineator(None)
    masks = delineator.combine_labels(labels, corrected=False)
    runs_ms = [(b - a + 1) * 4 for a, b in _runs(masks[1])]
    assert runs_ms and all(r == 100 for r in runs_ms)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    from core.measure.waves import runs

    return runs(mask)


def _beat(on: int, off: int, centre: float) -> Beat:
    return Beat(qrs_on=on, qrs_off=off, centre=centre, p_on=on - 40, p_off=on - 15, t_on=off + 20, t_off=off + 80)


def test_an_ectopic_beat_is_left_out_of_the_medians():
    beats = [_beat(100 + 200 * i, 124 + 200 * i, 112 + 200 * i) for i in range(5)]
    beats.insert(3, _beat(700, 745, 720))  # a premature wide beat: 184 ms
    used = used_beats(beats, 250.0)
    assert used == [True, True, True, False, True, True]


def test_unreliable_intervals_are_missing_with_a_reason():
    steady = estimate("qrs_ms", [96.0, 100.0, 96.0, 100.0], n_used=4)
    assert steady.value == 98.0 and steady.confidence > 0.8 and steady.reason is None
    scattered = estimate("qrs_ms", [60.0, 150.0, 70.0, 160.0], n_used=4)
    assert scattered.value is None and "disagree" in scattered.reason
    few = estimate("pr_ms", [160.0], n_used=6)
    assert few.value is None and few.reason == "PR not measurable: a P wave found in only 1 of 6 beats"
    # atrial fibrillation: nothing to delineate, said as such rather than as a delineation failure
    none = estimate("pr_ms", [], n_used=27)
    assert none.value is None and none.reason == "PR not measurable: no P wave found in any of the 27 beats"
    no_t = estimate("qt_ms", [], n_used=9)
    assert no_t.reason == "QT not measurable: no T-wave end found in any of the 9 beats"
    # steady where found, but in too few of the beats: the reason names the wave the other beats lack
    rare = estimate("pr_ms", [160.0, 162.0, 158.0, 160.0], n_used=19)
    assert rare.value is None and rare.reason == "PR unreliable: a P wave found in only 4 of 19 beats"


def test_a_missed_t_offset_is_caught():
    # QT 560 ms at 75 bpm (RR 800 ms) is QTc 626 ms: a T offset taken from the next P wave, not a long QT.
    assert check_qt(Estimate(560.0, 0.9), rr_ms=800.0).value is None
    assert "QTc" in check_qt(Estimate(560.0, 0.9), rr_ms=800.0).reason
    assert check_qt(Estimate(400.0, 0.9), rr_ms=800.0).value == 400.0
    assert check_qt(Estimate(820.0, 0.9), rr_ms=800.0).value is None


def test_qrs_voltages_of_a_known_signal():
    fs = 500.0
    t = np.arange(int(10 * fs)) / fs
    spike = np.exp(-(((t % 1.0) - 0.5) ** 2) / (2 * 0.01**2))  # one 1-mV peak per second
    gains = np.array([0.3, 0.4, 0.1, -0.3, 0.2, 0.2, -1.5, -1.0, 0.5, 1.2, 2.2, 1.8])
    ecg = ECG.from_leads(gains[:, None] * spike[None, :], fs, CANONICAL_LEADS)
    windows = [(k + 0.45, k + 0.55) for k in range(1, 9)]
    per_lead = qrs_amplitudes(ecg, windows)
    assert per_lead["V5"]["r_mv"] == pytest.approx(2.2, abs=0.1)
    assert per_lead["V1"]["s_mv"] == pytest.approx(1.5, abs=0.1)
    summary = voltage_summary(per_lead)
    assert summary["sokolow_lyon_mv"] == pytest.approx(3.7, abs=0.2)
    assert summary["low_voltage"] is True  # every limb lead under 0.5 mV
    assert summary["limb_qrs_amplitude_mv"] == pytest.approx(0.4, abs=0.05)
    # Cornell voltage: R in aVL (0.2 mV here) + S in V3 (none: V3 is upright here).
    assert summary["cornell_mv"] == pytest.approx(per_lead["aVL"]["r_mv"] + per_lead["V3"]["s_mv"])
    assert summary["cornell_mv"] == pytest.approx(0.2, abs=0.05)
    assert voltage_summary({n: v for n, v in per_lead.items() if n != "V3"})["cornell_mv"] is None


def test_normal_ptbxl_record_on_both_rates(shared_data: Path):
    for path in ("records100/00000/00001_lr", "records500/00000/00001_hr"):  # ptbxl/00001: NORM, sinus rhythm
        ecg = read_ecg(shared_data / "ptb-xl" / "1.0.3" / path)
        meas = measure_ecg(ecg)
        assert meas.version == MEASURE_VERSION
        assert 80 <= meas.qrs_ms < 120
        assert 120 <= meas.pr_ms <= 200
        assert meas.irregular is False
        assert set(meas.per_lead) == set(CANONICAL_LEADS)
        assert all(0.0 <= q <= 1.0 for q in meas.quality.values())
        used = [b for b in meas.beats if b.used]
        assert len(used) >= 8
        assert all(0 < b.qrs_on_s < b.qrs_off_s < ecg.duration_s for b in used)
        data = meas.to_dict()
        assert data["automated"] is True and isinstance(data["beats"][0], dict)


def test_lbbb_record_has_a_wide_qrs_and_a_qt_caveat(shared_data: Path):
    ecg = read_ecg(shared_data / "ptb-xl" / "1.0.3" / "records500" / "00000" / "00180_hr")  # CLBBB
    meas = measure_ecg(ecg)
    assert meas.qrs_ms >= 120
    if meas.qt_ms is not None:
        assert meas.jt_ms == pytest.approx(meas.qt_ms - meas.qrs_ms)
        assert "lengthened by the wide QRS" in meas.to_sentence()


def test_missing_leads_are_reported_as_reasons():
    nk = pytest.importorskip("neurokit2")
    x = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=70, random_state=4)
    meas = measure_ecg(ECG.from_leads(x[None, :], 500.0, ["II"]))
    assert meas.axis_deg is None and "axis_deg" in meas.missing
    assert meas.sokolow_lyon_mv is None and "V1" in meas.missing["sokolow_lyon_mv"]


def test_uncalibrated_amplitudes_give_no_voltages_and_an_axis_only_from_restored_limb_leads(shared_data: Path):
    """LUDB stores every lead at 1 mV (core.data.lead_scaling): no millivolt value is stated about such a file; the
    axis is, because the limb leads' relative sizes were restored, and it goes when they were not (v2.9)."""
    from core.data.lead_scaling import RESTORED_KEY, UNCALIBRATED_KEY
    from core.measure.measurements import UNCALIBRATED_REASON

    ludb = measure_ecg(read_ecg(shared_data / "ludb" / "1.0.1" / "data" / "1"))
    for name in ("sokolow_lyon_mv", "limb_qrs_amplitude_mv", "precordial_qrs_amplitude_mv", "low_voltage"):
        assert getattr(ludb, name) is None and ludb.missing[name] == UNCALIBRATED_REASON
    assert ludb.axis_deg is not None and ludb.qrs_ms is not None and ludb.hr_bpm is not None
    assert all("r_mv" not in values and "qrs_ms" in values for values in ludb.per_lead.values())
    assert "Sokolow" not in ludb.to_sentence() and "frontal QRS axis" in ludb.to_sentence()
    ptbxl = read_ecg(shared_data / "ptb-xl" / "1.0.3" / "records500" / "00000" / "00001_hr")
    assert measure_ecg(ptbxl).sokolow_lyon_mv is not None  # a calibrated recording keeps its voltages
    flagged = ptbxl.replace(meta=ptbxl.meta | {UNCALIBRATED_KEY: "amplitudes not calibrated: test"})
    meas = measure_ecg(flagged)
    assert meas.axis_deg is None and "relative sizes are unknown" in meas.missing["axis_deg"]
    restored = measure_ecg(flagged.replace(meta=flagged.meta | {RESTORED_KEY: "limb"}))
    assert restored.axis_deg == pytest.approx(measure_ecg(ptbxl).axis_deg)


def test_ludb_reference_union_is_wider_than_the_clinical_definition(shared_data: Path):
    folder = shared_data / "ludb" / "1.0.1"
    ann = ludb_ref.read_annotation(folder, 1)
    robust = ludb_ref.reference_measurements(ann)
    union = ludb_ref.reference_measurements(ann, union=True)
    assert robust["qrs_ms"] <= union["qrs_ms"]
    assert robust["hr_bpm"] == pytest.approx(union["hr_bpm"])


def test_fgclep_measurement_cache_is_keyed_by_the_measurement_version(monkeypatch: pytest.MonkeyPatch):
    import core.measure
    from core.recipes.fgclep import measurement_tag

    before = measurement_tag()
    monkeypatch.setattr(core.measure, "MEASURE_VERSION", "test-only")
    assert measurement_tag() != before != "none"
