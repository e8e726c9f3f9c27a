"""Pacemaker spikes before QRS complexes (measure v2.15): found on paced records at 500 Hz, on no sharp R wave, and
never claimed where the sampling rate cannot show them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.data.readers import read_ecg
from core.measure import measure_ecg
from core.measure.pacing import AFTER_QRS_ONSET_MS, BEFORE_QRS_MS, MIN_LEADS, PACING_LEADS, ventricular_pacing
from core.measure.reference_labels import cinc_labels, ludb_labels


def _ptbxl(shared_data: Path, number: str, rate_hz: int = 500):
    folder = "records500" if rate_hz == 500 else "records100"
    suffix = "hr" if rate_hz == 500 else "lr"
    return read_ecg(shared_data / "ptb-xl" / "1.0.3" / folder / "00000" / f"{number}_{suffix}")


def _qrs_onsets(meas) -> list[float]:
    return [b.qrs_on_s for b in meas.beats]


def test_a_paced_record_has_a_spike_before_every_qrs(shared_data: Path):
    # ptbxl/00385 (training fold 1): "pacemaker ecg.", coded PACE.
    meas = measure_ecg(_ptbxl(shared_data, "00385"))
    assert meas.paced_beats is not None and meas.paced_beats >= 10
    assert meas.paced_beats == sum(b.pace_s is not None for b in meas.beats)
    for beat in meas.beats:
        if beat.pace_s is not None:
            assert beat.qrs_on_s - BEFORE_QRS_MS / 1000 <= beat.pace_s <= beat.qrs_on_s + AFTER_QRS_ONSET_MS / 1000
    assert meas.to_sentence().startswith(f"Ventricular pacing (pacemaker spikes before {meas.paced_beats} QRS")
    assert meas.qrs_ms is not None and meas.qrs_ms >= 120  # the paced QRS is wide


def test_sharp_narrow_r_waves_are_not_pacemaker_spikes(shared_data: Path):
    # ptbxl/00029 (NORM): openecg's detector alone finds 15 "spikes" in lead II, on the R peaks, 40 ms into the QRS.
    meas = measure_ecg(_ptbxl(shared_data, "00029"))
    assert meas.paced_beats == 0
    assert "pacing" not in meas.to_sentence().lower()
    assert all(b.pace_s is None for b in meas.beats)


def test_at_100_hz_pacing_is_not_judged_and_says_why(shared_data: Path):
    meas = measure_ecg(_ptbxl(shared_data, "00385", rate_hz=100))
    assert meas.paced_beats is None
    assert "100 Hz" in meas.missing["paced_beats"] and "500 Hz" in meas.missing["paced_beats"]
    assert "pacing" not in meas.to_sentence().lower()


@pytest.mark.parametrize("number", ["8", "34"])  # LUDB training part: unipolar ventricular pacing
def test_ludb_unipolar_pacing(shared_data: Path, number: str):
    meas = measure_ecg(read_ecg(shared_data / "ludb" / "1.0.1" / "data" / number))
    assert meas.paced_beats is not None and meas.paced_beats >= 8


def _with_spikes(ecg, times_s, leads: tuple[str, ...], mv: float = 2.0):
    """The ECG with a 2 ms pacemaker-like spike (up, then down) at each time on the named leads."""
    signal = ecg.signal_mv.copy()
    for name in leads:
        row = ecg.lead_names.index(name)
        for t in times_s:
            i = int(round(t * ecg.fs_hz))
            signal[row, i] += mv
            signal[row, i + 1] -= mv / 2
    return replace(ecg, signal_mv=signal)


def test_spikes_locked_to_the_qrs_on_most_leads_read_paced(shared_data: Path):
    ecg = _ptbxl(shared_data, "00029")
    onsets = _qrs_onsets(measure_ecg(ecg))
    spikes = [t - 0.01 for t in onsets[1:-1]]  # 10 ms before each inner QRS onset
    found = ventricular_pacing(_with_spikes(ecg, spikes, PACING_LEADS), onsets)
    assert found.paced_beats == len(spikes)
    assert [s is not None for s in found.spike_s] == [False] + [True] * len(spikes) + [False]
    # The same spikes on fewer leads than the vote needs: an artifact, not a pacemaker.
    few = PACING_LEADS[: MIN_LEADS - 1]
    assert ventricular_pacing(_with_spikes(ecg, spikes, few), onsets).paced_beats == 0


def test_spikes_away_from_the_qrs_are_not_ventricular_pacing(shared_data: Path):
    ecg = _ptbxl(shared_data, "00029")
    onsets = _qrs_onsets(measure_ecg(ecg))
    mid = [(a + b) / 2 for a, b in zip(onsets[:-1], onsets[1:], strict=True)]  # in diastole
    assert ventricular_pacing(_with_spikes(ecg, mid, PACING_LEADS), onsets).paced_beats == 0


@pytest.fixture(scope="module")
def normal_ecg_and_onsets(shared_data: Path):
    ecg = _ptbxl(shared_data, "00029")
    return ecg, _qrs_onsets(measure_ecg(ecg))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lag_ms=st.integers(-60, 60),
    leads=st.sets(st.sampled_from(PACING_LEADS), min_size=1),
    mv=st.sampled_from([1.0, 2.0, 4.0]),
)
def test_a_spike_counts_only_on_enough_leads_and_near_the_qrs_onset(normal_ecg_and_onsets, lag_ms, leads, mv):
    # Spikes lag_ms before each inner QRS onset of a normal ECG, on the drawn leads: paced exactly when the vote and
    # the timing window both hold (a spike 1-2 ms off the window's edge may fall either side: left undrawn).
    ecg, onsets = normal_ecg_and_onsets
    if abs(lag_ms - BEFORE_QRS_MS) <= 2 or abs(lag_ms + AFTER_QRS_ONSET_MS) <= 2:
        return
    spikes = [t - lag_ms / 1000 for t in onsets[1:-1]]
    found = ventricular_pacing(_with_spikes(ecg, spikes, tuple(sorted(leads)), mv), onsets)
    expected = len(leads) >= MIN_LEADS and -AFTER_QRS_ONSET_MS < lag_ms < BEFORE_QRS_MS
    assert (found.paced_beats == len(spikes)) if expected else (found.paced_beats == 0)


def test_too_few_independent_leads_are_not_judged(shared_data: Path):
    ecg = _ptbxl(shared_data, "00385")
    mask = np.array([name in ("I", "II", "III", "aVR", "aVL", "aVF", "V1") for name in ecg.lead_names])
    found = ventricular_pacing(replace(ecg, lead_mask=mask), [1.0, 2.0])
    assert found.paced_beats is None and f"at least {MIN_LEADS}" in found.missing["paced_beats"]


def test_pacing_labels():
    assert "PACE" in cinc_labels(["10370003", "426783006"])
    assert "PACE" in ludb_labels({"rhythm": ["sinus rhythm"], "pacing": ["unipolar ventricular pacing"]})
    assert "PACE" not in ludb_labels({"rhythm": ["sinus rhythm"]})


def test_the_rules_compared_when_choosing(shared_data: Path):
    """core.measure.pacing_dev: on the sharp-R normal ECG only openecg's single-lead detector reads paced; on the paced
    record every rule does."""
    from core.measure.pacing_dev import rule_reads

    normal = rule_reads(_ptbxl(shared_data, "00029"))
    assert normal == {
        "openecg, lead II alone": True,
        "openecg, 8-lead vote": True,
        "openecg, vote + QRS timing (shipped)": False,
        "hand-written, 4 leads + QRS timing": False,
    }
    assert all(rule_reads(_ptbxl(shared_data, "00385")).values())
