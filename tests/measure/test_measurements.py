"""measure_ecg on synthetic ECGs (known heart rate), partial leads, 100 Hz input, and the English sentence."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from core.ecg import ECG
from core.leads import CANONICAL_LEADS
from core.measure import Measurements, axis_category, measure_ecg

HR_BPM = 75


# Projection of one synthetic beat onto the 12 leads; I and aVF give a frontal axis of atan2(0.8 * 2 / sqrt(3), 1) =
# 42.7 deg (aVF sees the frontal vector at sqrt(3)/2 of lead I's scale).
GAINS = (1.0, 1.2, 0.3, -1.1, 0.4, 0.8, -0.6, -0.3, 0.5, 1.0, 1.1, 0.9)


@pytest.fixture(scope="module")
def synthetic_12lead() -> ECG:
    nk = pytest.importorskip("neurokit2")
    x = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=HR_BPM, random_state=1)
    rng = np.random.default_rng(1)
    signal = np.stack([g * x + rng.normal(0, 0.01, x.size) for g in GAINS])
    return ECG.from_leads(signal, 500.0, CANONICAL_LEADS, record_id="synthetic")


def test_heart_rate_of_synthetic_12_lead_ecg(synthetic_12lead: ECG):
    meas = measure_ecg(synthetic_12lead)
    assert meas.hr_bpm == pytest.approx(HR_BPM, abs=2.0)
    assert meas.irregular is False
    assert meas.qrs_ms is not None and 50 <= meas.qrs_ms <= 160
    assert meas.qt_ms is not None and meas.qtc_ms is not None and meas.qt_ms < meas.qtc_ms  # RR < 1 s
    assert meas.axis_deg == pytest.approx(42.7, abs=10.0)
    sentence = meas.to_sentence()
    assert f"{meas.hr_bpm:.0f} bpm" in sentence
    assert f"QRS duration {meas.qrs_ms:.0f} ms" in sentence


def test_100_hz_input(synthetic_12lead: ECG):
    low = ECG.from_leads(resample_poly(synthetic_12lead.signal_mv, 1, 5, axis=1), 100.0, synthetic_12lead.lead_names)
    meas = measure_ecg(low)
    assert meas.hr_bpm == pytest.approx(HR_BPM, abs=2.0)


def test_single_lead_gives_rate_but_no_axis():
    nk = pytest.importorskip("neurokit2")
    x = nk.ecg_simulate(duration=10, sampling_rate=500, heart_rate=60, random_state=3)
    ecg = ECG.from_leads(x[None, :], 500.0, ["II"])
    meas = measure_ecg(ecg)
    assert meas.hr_bpm == pytest.approx(60, abs=2.0)
    assert meas.axis_deg is None
    assert meas.leads_used == ("II",)
    assert "axis" not in meas.to_sentence()


def test_flat_noise_gives_no_numbers():
    rng = np.random.default_rng(0)
    ecg = ECG.from_leads(rng.normal(0, 0.005, (2, 5000)), 500.0, ["I", "II"])
    meas = measure_ecg(ecg)
    assert meas.qt_ms is None and meas.pr_ms is None


def test_sentence_and_dict():
    meas = Measurements(
        hr_bpm=72.2, rr_irregularity=0.03, irregular=False, pr_ms=160, qrs_ms=92, qt_ms=380, qtc_ms=410.4, axis_deg=45.0
    )
    assert meas.to_sentence() == (
        "Heart rate 72 bpm, regular rhythm. PR interval 160 ms, QRS duration 92 ms, QT/QTc 380/410 ms (Bazett), "
        "frontal QRS axis +45° (normal)."
    )
    assert meas.to_dict()["qrs_ms"] == 92
    assert Measurements().to_sentence() == "No waveform measurements could be made."
    assert Measurements(hr_bpm=110.0, irregular=True).to_sentence() == "Heart rate 110 bpm, irregular rhythm."


@pytest.mark.parametrize(
    ("deg", "name"),
    [(45, "normal"), (-45, "left axis deviation"), (120, "right axis deviation"), (-120, "extreme axis deviation")],
)
def test_axis_category(deg: float, name: str):
    assert axis_category(deg) == name


def test_v1_r_to_s_tells_the_two_bundle_branch_blocks_apart(shared_data):
    """V1 is mostly downward in a left bundle branch block (``ptbxl/00286``, training folds) and mostly upward in a
    right one (``ptbxl/00310``); a ratio within one lead, so LUDB, whose millivolts mean nothing, keeps it."""
    from core.data.catalogs import load_catalog

    ptbxl = load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", download=False, rate_hz=500)
    left, right = measure_ecg(ptbxl.read("ptbxl/00286")), measure_ecg(ptbxl.read("ptbxl/00310"))
    assert left.qrs_ms >= 120 and right.qrs_ms >= 120
    assert left.v1_r_to_s < 0.5 <= right.v1_r_to_s
    ludb = measure_ecg(load_catalog("ludb", root=shared_data / "ludb" / "1.0.1", download=False).read("ludb/24"))
    assert ludb.sokolow_lyon_mv is None and "not calibrated" in ludb.missing["sokolow_lyon_mv"]
    assert ludb.v1_r_to_s < 0.5  # LUDB's complete left bundle branch block
    assert "v1_r_to_s" in ludb.to_dict()


def test_v1_r_to_s_needs_a_v1_qrs():
    from core.measure.amplitude import v1_r_to_s

    assert v1_r_to_s({}) == (None, "needs lead V1 and a delineated QRS")
    assert v1_r_to_s({"V1": {"r_mv": 0.02, "s_mv": 0.03}})[0] is None  # too small either way
    assert v1_r_to_s({"V1": {"r_mv": 0.9, "s_mv": 0.0}}) == (45.0, None)  # a pure R: S floored at 0.02 mV
    assert v1_r_to_s({"V1": {"r_mv": 0.2, "s_mv": 1.6}}) == (0.12, None)


def test_the_2to1_flutter_pattern_is_a_regular_narrow_tachycardia_without_p_waves():
    """120-170 bpm (240-340/min halved), regular, no PR, narrow QRS; a wide QRS leaves it open (ventricular
    tachycardia not excluded), a PR or an irregular rhythm rules it out."""
    flutter = Measurements(hr_bpm=139.0, irregular=False, qrs_ms=88.0)
    assert flutter.flutter_2to1_pattern is True
    assert Measurements(hr_bpm=139.0, irregular=False, qrs_ms=88.0, pr_ms=150.0).flutter_2to1_pattern is False
    assert Measurements(hr_bpm=139.0, irregular=True, qrs_ms=88.0).flutter_2to1_pattern is False
    assert Measurements(hr_bpm=75.0, irregular=False, qrs_ms=88.0).flutter_2to1_pattern is False  # 4:1, or junctional
    wide = Measurements(hr_bpm=150.0, irregular=False, qrs_ms=160.0)
    assert wide.flutter_2to1_pattern is None and "ventricular tachycardia not excluded" in wide.undecided(
        "flutter_2to1_pattern"
    )
    assert flutter.to_dict()["flutter_2to1_pattern"] is True


def test_real_2to1_flutter_meets_the_pattern_and_sinus_rhythm_does_not(shared_data):
    from core.data.catalogs import load_catalog

    catalog = load_catalog("ptbxl", root=shared_data / "ptbxl_more", download=False, rate_hz=100)
    flutter = measure_ecg(catalog.read("ptbxl/10065"))  # coded AFLT, training fold: 144 bpm, no P wave found
    assert flutter.flutter_2to1_pattern is True and flutter.pr_ms is None
    sinus = measure_ecg(catalog.read("ptbxl/00523"))  # NORM, training fold: a PR before every QRS
    assert sinus.flutter_2to1_pattern is False


def test_the_rr_range_leaves_out_premature_beats_and_needs_three_intervals():
    from core.measure.measurements import BeatFiducials

    def beats(times, premature=()):
        return tuple(BeatFiducials(t, t + 0.1, premature="ventricular" if i in premature else None)
                     for i, t in enumerate(times))  # fmt: skip

    assert Measurements(beats=beats((0.0, 0.8, 1.7, 2.5, 3.5))).rr_range_ms == 200.0  # 800-1000 ms
    # A premature beat at 4.0 s and its pause: both intervals are left out, not read as sinus variation.
    assert Measurements(beats=beats((0.0, 0.8, 1.6, 2.4, 3.2, 3.7, 4.8), premature={5})).rr_range_ms == 0.0
    assert Measurements(beats=beats((0.0, 0.8, 1.7))).rr_range_ms is None
