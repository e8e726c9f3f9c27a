"""T-wave amplitude per lead, T-wave inversion and low or flat T waves in two contiguous leads
(core/measure/t_waves.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data.catalogs import load_catalog
from core.ecg import ECG
from core.leads import CANONICAL_LEADS, LEAD_INDEX
from core.measure import measure_ecg
from core.measure.t_waves import (
    LOW_T_GROUPS,
    T_GROUPS,
    lead_t_amplitudes,
    low_t_leads,
    t_amplitude,
    t_inversion_leads,
    t_wave_windows,
)


def _beats(
    fs: float, inverted: tuple[str, ...], drift_mv_per_s: float = 0.0, t_mv: float = 0.3, n: int = 4, noise_mv=0.0
) -> tuple[ECG, list]:
    """``n`` beats of 1 s: an R wave, then a ``t_mv`` T wave 250-450 ms after the QRS onset, negative in
    ``inverted``; a linear baseline drift and white noise under it all. Windows as (QRS onset, T onset, T offset,
    next QRS onset)."""
    onsets = [0.6 + i for i in range(n)]
    t = np.arange(int((n + 0.5) * fs)) / fs
    signal = np.tile(drift_mv_per_s * t, (12, 1)) + np.random.default_rng(0).normal(0.0, noise_mv, (12, t.size))
    for on in onsets:
        r = (t >= on) & (t < on + 0.08)
        signal[:, r] += np.sin(np.pi * (t[r] - on) / 0.08)
        tw = (t >= on + 0.25) & (t < on + 0.45)
        for name, i in LEAD_INDEX.items():
            signal[i, tw] += (-t_mv if name in inverted else t_mv) * np.sin(np.pi * (t[tw] - on - 0.25) / 0.2)
    windows = [(on, on + 0.25, on + 0.45, after) for on, after in zip(onsets, onsets[1:], strict=False)]
    return ECG(signal, fs, np.ones(12, dtype=bool)), windows


@pytest.mark.parametrize("fs", [100.0, 500.0])
def test_each_leads_t_wave_reads_its_sign_and_size(fs: float):
    ecg, windows = _beats(fs, inverted=("V5", "V6"))
    amplitudes = lead_t_amplitudes(ecg, windows)
    assert amplitudes["V5"] == pytest.approx(-0.3, abs=0.02) and amplitudes["II"] == pytest.approx(0.3, abs=0.02)
    assert t_inversion_leads(amplitudes) == ("V5", "V6")


def test_baseline_drift_is_followed_from_one_pr_segment_to_the_next():
    """Over a falling baseline (0.5 mV/s, as ``ptbxl/00200`` drifts), the upright T waves stay upright; read against
    their own PR segment alone they would be "inverted"."""
    ecg, windows = _beats(500.0, inverted=(), drift_mv_per_s=-1.0)
    assert t_inversion_leads(lead_t_amplitudes(ecg, windows)) == ()
    flat = lead_t_amplitudes(ecg, windows, sloped_baseline=False)
    assert flat["V5"] < 0 and t_inversion_leads(flat)


def test_the_median_beat_averages_out_muscle_tremor():
    """A low upright T wave (0.05 mV) under 0.05 mV of white noise at 500 Hz: read beat by beat, each reading takes
    the noise's largest spike, of either sign; the median beat keeps the T wave."""
    ecg, windows = _beats(500.0, inverted=(), t_mv=0.05, n=10, noise_mv=0.05)
    median_beat = lead_t_amplitudes(ecg, windows)
    assert t_inversion_leads(median_beat) == () and all(abs(v - 0.05) < 0.06 for v in median_beat.values())
    beat_by_beat = lead_t_amplitudes(ecg, windows, median_beat=False)
    assert max(abs(v) for v in beat_by_beat.values()) > 0.12


def test_one_beats_reading_of_inverted_biphasic_and_upright_t_waves():
    x = np.linspace(0, 1, 101)
    bump = np.sin(np.pi * x)
    assert t_amplitude(-0.4 * bump) == pytest.approx(-0.4)
    plus_minus = np.where(x < 0.5, 0.3, -0.2) * np.abs(np.sin(2 * np.pi * x))  # terminal inversion
    assert t_amplitude(plus_minus) == pytest.approx(-0.2, abs=0.01)
    minus_plus = np.where(x < 0.5, -0.2, 0.3) * np.abs(np.sin(2 * np.pi * x))  # initial negativity: upright
    assert t_amplitude(minus_plus) == pytest.approx(0.3, abs=0.01)
    undershoot = 0.3 * bump - 0.03 * (x > 0.9)  # a small dip at the end is not an inversion
    assert t_amplitude(undershoot) == pytest.approx(0.3, abs=0.01)


def test_the_leads_not_read_and_two_contiguous_leads():
    upright = dict.fromkeys(CANONICAL_LEADS, 0.2)
    assert t_inversion_leads(upright | {"aVR": -0.3, "III": -0.3, "V1": -0.3}) == ()  # normal there
    assert t_inversion_leads(upright | {"V2": -0.3}) == ()  # one lead
    assert t_inversion_leads(upright | {"V4": -0.3, "V5": -0.3}) == ()  # neighbours, but two walls
    assert t_inversion_leads(upright | {"II": -0.15, "aVF": -0.1}) == ("II", "aVF")
    assert t_inversion_leads(upright | {"II": -0.15, "aVF": -0.09}) == ()  # under 0.1 mV
    assert t_inversion_leads({"V2": -0.3}) is None


def test_low_or_flat_t_waves_are_read_where_a_normal_t_wave_is_upright():
    upright = dict.fromkeys(CANONICAL_LEADS, 0.2)
    assert low_t_leads(upright) == ()
    assert low_t_leads(upright | {"I": 0.05, "V5": -0.03}) == ("I", "V5")  # flat either way
    assert low_t_leads(upright | {"aVL": 0.02, "V1": 0.0, "V2": 0.01, "III": 0.0}) == ()  # low there is common
    assert low_t_leads(upright | {"aVL": 0.02, "I": 0.04}) == ()  # aVL not read: I alone
    assert low_t_leads(upright | {"II": 0.09, "aVF": 0.0}) == ("II", "aVF")  # the inferior wall
    assert low_t_leads(upright | {"V3": -0.1, "V4": 0.05}) == ()  # -0.1 mV is inverted, not flat
    assert low_t_leads(upright | {"V3": 0.1, "V4": 0.05}) == ()  # 0.1 mV is upright
    assert low_t_leads({"V2": 0.0, "aVL": 0.0}) is None  # no two leads of a wall read


def test_windows_are_the_used_beats_with_a_t_wave_and_a_next_beat():
    from core.measure.measurements import BeatFiducials

    beats = [
        BeatFiducials(0.5, 0.6, t_on_s=0.8, t_off_s=0.95),
        BeatFiducials(1.5, 1.6, t_on_s=1.8, t_off_s=1.95, used=False),
        BeatFiducials(2.5, 2.6, t_on_s=None, t_off_s=None),
        BeatFiducials(3.5, 3.6, t_on_s=3.8, t_off_s=3.95),
        BeatFiducials(4.5, 4.6, t_on_s=4.8, t_off_s=4.95),
    ]
    assert t_wave_windows(beats) == [(0.5, 0.8, 0.95, 1.5), (3.5, 3.8, 3.95, 4.5)]  # the last has no next


def test_real_records(shared_data):
    """``ptbxl/00298`` (training fold 2; LVH, "... t waves are inverted in i, avl, v5,6"):
    inversion in exactly those leads; ``ptbxl/00001`` (normal): none; LUDB keeps no millivolts: not measured."""
    ptbxl = load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", download=False, rate_hz=500)
    strain = measure_ecg(ptbxl.read("ptbxl/00298"))
    assert strain.t_inversion_leads == ("I", "aVL", "V5", "V6") and strain.t_inversion_walls == ("lateral",)
    assert strain.per_lead["V5"]["t_mv"] < -0.2 < 0.2 < strain.per_lead["V3"]["t_mv"]
    assert strain.to_dict()["t_inversion_walls"] == ["lateral"]
    assert measure_ecg(ptbxl.read("ptbxl/00001")).t_inversion_leads == ()
    assert strain.low_t_leads == ()  # II inverted, aVF at -0.09 mV: one of each on the inferior wall


def test_real_records_with_low_or_flat_t_waves(shared_data):
    """``ptbxl/00276`` (training fold; "minor non-specific t wave flattening in limb leads and v5,6"): low T waves on
    the inferior and lateral walls, upright in V2-V4; ``ptbxl/00001`` (normal): none."""
    ptbxl = load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", download=False, rate_hz=500)
    flat = measure_ecg(ptbxl.read("ptbxl/00276"))
    assert flat.low_t_leads == ("I", "II", "aVF", "V5", "V6") and flat.low_t_walls == ("inferior", "lateral")
    assert flat.t_inversion_leads == () and all(flat.per_lead[n]["t_mv"] > 0.1 for n in ("V2", "V3", "V4"))
    assert flat.to_dict()["low_t_leads"] == ["I", "II", "aVF", "V5", "V6"]
    assert measure_ecg(ptbxl.read("ptbxl/00001")).low_t_leads == ()
    ludb = measure_ecg(load_catalog("ludb", root=shared_data / "ludb" / "1.0.1", download=False).read("ludb/21"))
    assert ludb.t_inversion_leads is None and "not calibrated" in ludb.missing["t_inversion_leads"]
    assert ludb.low_t_leads is None and "not calibrated" in ludb.missing["low_t_leads"]
    assert "t_mv" not in ludb.per_lead.get("V2", {})


@settings(max_examples=30, deadline=None)
@given(
    t_mv=st.floats(-0.8, 0.8).filter(lambda v: abs(v) > 0.02),
    drift=st.floats(-1.0, 1.0),
    fs=st.sampled_from([100.0, 500.0]),
)
def test_any_t_wave_on_any_linear_drift_reads_its_own_amplitude(t_mv: float, drift: float, fs: float):
    """A T wave of any size and sign over any linear baseline drift reads as itself (within a sample's error), and
    the leads it inverts by 0.1 mV or more are named, whatever the drift."""
    ecg, windows = _beats(fs, inverted=("V2", "V3", "V4"), drift_mv_per_s=drift, t_mv=t_mv)
    amplitudes = lead_t_amplitudes(ecg, windows)
    assert amplitudes["V3"] == pytest.approx(-t_mv, abs=0.02) and amplitudes["V6"] == pytest.approx(t_mv, abs=0.02)
    expected = ("V2", "V3", "V4") if t_mv >= 0.12 else ("I", "aVL", "V5", "V6") if t_mv <= -0.12 else None
    if expected is not None:
        found = t_inversion_leads(amplitudes)
        assert set(expected) <= set(found) and not set(found) & {"aVR", "III", "V1"}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(CANONICAL_LEADS), st.floats(-1.0, 1.0), min_size=2))
def test_a_lead_is_inverted_low_or_upright_never_two_of_them(amplitudes: dict[str, float]):
    """Inverted (-0.1 mV or deeper) and low (under 0.1 mV either way) split the T amplitudes: no lead is named both
    ways, every lead named has a wall partner named the same way, and only the leads each rule reads are named."""
    inverted = set(t_inversion_leads(amplitudes) or ())
    low = set(low_t_leads(amplitudes) or ())
    assert not inverted & low
    assert all(amplitudes[n] <= -0.1 for n in inverted) and all(-0.1 < amplitudes[n] < 0.1 for n in low)
    assert not low & {"aVR", "III", "V1", "aVL", "V2"} and not inverted & {"aVR", "III", "V1"}
    for named, groups in ((inverted, T_GROUPS), (low, LOW_T_GROUPS)):
        assert all(any(n in leads and len(named & set(leads)) >= 2 for leads in groups.values()) for n in named)
