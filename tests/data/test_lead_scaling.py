"""Leads stored with scales of their own (LUDB): found from the file's gains or from the limb-lead laws, undone as far
as the file allows, flagged, and left alone on every other dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import wfdb
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.data.lead_scaling import (
    RESTORED_KEY,
    UNCALIBRATED_KEY,
    limb_lead_gains,
    undo_independent_scaling,
    undo_range_gains,
)
from core.data.readers import read_ecg
from core.ecg import ECG
from core.leads import LEAD_INDEX

LIMB = ("I", "II", "III", "aVR", "aVL", "aVF")


def _limb(ecg: ECG) -> dict[str, np.ndarray]:
    return {k: ecg.signal_mv[LEAD_INDEX[k]].astype(np.float64) for k in LIMB}


def _einthoven_error(ecg: ECG) -> float:
    """How far lead III is from II - I, relative to lead III."""
    x = _limb(ecg)
    return float(np.std(x["III"] - (x["II"] - x["I"])) / np.std(x["III"]))


@pytest.fixture(scope="module")
def ptbxl_record(shared_data: Path) -> ECG:
    return read_ecg(shared_data / "ptb-xl" / "1.0.3" / "records500" / "00000" / "00003_hr", record_id="ptbxl/00003")


@pytest.mark.parametrize("record", [1, 2, 77, 200])
def test_ludb_stores_every_lead_at_one_millivolt_and_is_read_back_to_relative_sizes(shared_data: Path, record: int):
    path = shared_data / "ludb" / "1.0.1" / "data" / str(record)
    stored = wfdb.rdrecord(str(path))
    # The published files: every lead spans exactly 1 mV, and III is not II - I as stored.
    np.testing.assert_allclose(np.ptp(stored.p_signal, axis=0), 1.0, atol=1e-9)
    i, ii, iii = (stored.p_signal[:, stored.sig_name.index(k)] for k in ("i", "ii", "iii"))
    assert np.std(iii - (ii - i)) / np.std(iii) > 0.1
    ecg = read_ecg(path)
    assert _einthoven_error(ecg) < 1e-3
    assert ecg.meta[RESTORED_KEY] == "all" and ecg.meta[UNCALIBRATED_KEY].startswith("amplitudes not calibrated")
    ranges = np.ptp(ecg.signal_mv, axis=1)
    assert ranges.max() / ranges.min() > 1.2  # the leads' sizes differ again
    # The limb-lead laws alone find the same factors the header's gains give (to 0.5 %): two routes, one answer.
    law_gains = limb_lead_gains(stored.p_signal.T.astype(np.float32), np.ones(12, dtype=bool))
    header = {k: g for k, g in zip(stored.sig_name, stored.adc_gain, strict=True)}
    ratios = [law_gains[k] / header[k.lower()] for k in LIMB]
    assert max(ratios) / min(ratios) < 1.005


@pytest.mark.parametrize(
    "relative",
    [
        "ptb-xl/1.0.3/records500/00000/00001_hr",
        "cinc2021/torch_ecg_sample/E07500",
        "cinc2021/torch_ecg_sample/JS20000",
    ],
)
def test_recordings_whose_leads_obey_the_laws_are_left_alone(shared_data: Path, relative: str):
    path = shared_data / relative
    ecg = read_ecg(path)
    assert UNCALIBRATED_KEY not in ecg.meta and RESTORED_KEY not in ecg.meta
    assert undo_independent_scaling(ecg) is ecg


def test_sph_hdf5_is_left_alone(shared_data: Path):
    ecg = read_ecg(shared_data / "sph" / "SPH" / "SPH00002.h5")
    assert UNCALIBRATED_KEY not in ecg.meta


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.2, 5.0), min_size=12, max_size=12))
def test_any_positive_per_lead_scaling_of_a_real_ecg_is_undone_for_the_limb_leads(ptbxl_record: ECG, factors):
    # Factors this far apart break the laws by far more than the 5 % left to quantisation (nearly equal ones need
    # not, and are left alone: see the PTB-XL records above).
    assume(max(factors[:6]) / min(factors[:6]) > 1.5)
    scaled = ptbxl_record.replace(signal_mv=ptbxl_record.signal_mv / np.asarray(factors, dtype=np.float32)[:, None])
    restored = undo_independent_scaling(scaled)
    assert restored.meta[RESTORED_KEY] == "limb" and UNCALIBRATED_KEY in restored.meta
    # Each limb lead is the recorded one times one shared factor; the chest leads are left as stored.
    shares = []
    for k in LIMB:
        original, back = ptbxl_record.signal_mv[LEAD_INDEX[k]], restored.signal_mv[LEAD_INDEX[k]]
        shares.append(float(np.dot(back, original) / np.dot(original, original)))
    assert max(shares) / min(shares) < 1.01
    np.testing.assert_array_equal(restored.signal_mv[6:], scaled.signal_mv[6:])


def test_an_inverted_lead_is_not_taken_for_a_scale(ptbxl_record: ECG):
    """A negative factor restores the laws too, but no gain is negative: nothing is changed or claimed."""
    flipped = ptbxl_record.signal_mv.copy()
    flipped[LEAD_INDEX["aVL"]] *= -1.0
    ecg = ptbxl_record.replace(signal_mv=flipped)
    assert limb_lead_gains(ecg.signal_mv, ecg.lead_mask) is None
    assert undo_independent_scaling(ecg) is ecg


def test_every_lead_normalised_to_one_range_is_flagged_even_without_limb_leads(ptbxl_record: ECG):
    chest = ptbxl_record.signal_mv.copy()
    chest[:6] = 0.0
    mask = np.zeros(12, dtype=bool)
    mask[6:] = True
    x = chest[6:]
    chest[6:] = (x - x.min(axis=1, keepdims=True)) / np.ptp(x, axis=1, keepdims=True)
    ecg = ptbxl_record.replace(signal_mv=chest, lead_mask=mask)
    out = undo_independent_scaling(ecg)
    assert UNCALIBRATED_KEY in out.meta and RESTORED_KEY not in out.meta  # nothing to restore the sizes from


def test_range_gains_need_every_channel_to_span_exactly_one_unit():
    rng = np.random.default_rng(0)
    counts = rng.integers(-800, 800, size=(500, 3)).astype(float)
    gains = np.ptp(counts, axis=0)
    out, meta = undo_range_gains(counts / gains, gains)
    np.testing.assert_allclose(out, counts / np.exp(np.mean(np.log(gains))))  # the counts with one shared gain
    assert meta[RESTORED_KEY] == "all"
    # One channel with an ordinary gain: a recording, left as it is.
    gains2 = gains.copy()
    gains2[1] = 1000.0
    same, none = undo_range_gains(counts / gains2, gains2)
    assert none == {} and same is not None and np.array_equal(same, counts / gains2)


def test_a_csv_export_normalised_lead_by_lead_is_caught_on_reading(ptbxl_record: ECG, tmp_path: Path):
    """The other route, through :func:`read_ecg`: a CSV whose columns were each min-max normalised (a common export
    step) reads back with its limb leads restored and its amplitudes flagged."""
    x = ptbxl_record.signal_mv.astype(np.float64)
    normalised = (x - x.min(axis=1, keepdims=True)) / np.ptp(x, axis=1, keepdims=True)
    path = tmp_path / "normalised.csv"
    header = ",".join(ptbxl_record.lead_names)
    np.savetxt(path, normalised.T, delimiter=",", header=header, comments="", fmt="%.6f")
    ecg = read_ecg(path, fs_hz=ptbxl_record.fs_hz)
    assert ecg.meta[RESTORED_KEY] == "limb" and "the same range" in ecg.meta[UNCALIBRATED_KEY]
    assert _einthoven_error(ecg) < 0.01 < _einthoven_error(ptbxl_record.replace(signal_mv=normalised))
