"""Preprocessing: resampling keeps frequencies, the high-pass removes baseline drift, NaN gaps are filled,
crop/pad lengths, masked leads stay zero, and PreprocessConfig round-trips and rejects bad values."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import signal as sps

from core.data.preprocess import PreprocessConfig, bandpass, preprocess
from core.data.readers import read_ecg
from core.ecg import ECG
from core.leads import CANONICAL_LEADS

RAW = dict(highpass_hz=0.0, lowpass_hz=0.0, normalize="none")  # no filters, keep mV: output = resampled/cropped input


def ecg_of(lead_ii: np.ndarray, fs: float, **other_leads: np.ndarray) -> ECG:
    names = ["II", *other_leads]
    return ECG.from_leads(np.stack([lead_ii, *other_leads.values()]), fs, names, record_id="synthetic")


def peak_hz(x: np.ndarray, fs: float) -> float:
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.fft.rfftfreq(x.size, 1 / fs)[np.argmax(spectrum)])


@pytest.mark.parametrize("fs_in", [500, 360, 257])
def test_resampling_keeps_a_10_hz_sine(fs_in):
    t = np.arange(10 * fs_in) / fs_in
    out = preprocess(ecg_of(np.sin(2 * np.pi * 10 * t), fs_in), PreprocessConfig(fs_hz=100, **RAW))
    ii = out[CANONICAL_LEADS.index("II")]
    assert out.shape == (12, 1000) and out.dtype == np.float32
    assert peak_hz(ii, 100) == pytest.approx(10.0)
    np.testing.assert_allclose(ii[100:900], np.sin(2 * np.pi * 10 * np.arange(1000) / 100)[100:900], atol=0.02)


def test_highpass_removes_a_0_1_hz_baseline_drift():
    fs = 500
    t = np.arange(10 * fs) / fs
    beat = 0.3 * np.sin(2 * np.pi * 5 * t)
    drift = 1.0 * np.sin(2 * np.pi * 0.1 * t + 0.7)
    cfg = PreprocessConfig(fs_hz=fs, lowpass_hz=0.0, normalize="none")  # default 0.5 Hz high-pass only
    out = preprocess(ecg_of(beat + drift, fs), cfg)[CANONICAL_LEADS.index("II")]
    assert np.abs(out - beat).max() < 0.02  # a 1 mV drift reduced to < 0.02 mV, edges included
    assert np.abs(drift).max() > 0.99


def test_lowpass_removes_50_hz_mains_noise():
    fs = 500
    t = np.arange(10 * fs) / fs
    clean = np.sin(2 * np.pi * 3 * t)
    out = preprocess(ecg_of(clean + 0.2 * np.sin(2 * np.pi * 50 * t), fs), PreprocessConfig(fs_hz=fs, normalize="none"))
    # 40 Hz 4th-order Butterworth, run forward and backward: 50 Hz is attenuated to |H|^2 = 0.14 (0.2 -> 0.03 mV).
    # (The outer half second is left out: odd padding anchors on the noisy edge sample.)
    assert np.abs(out[1] - clean)[fs // 2 : -fs // 2].max() < 0.04


def test_nan_gaps_are_interpolated():
    fs = 100
    ramp = np.linspace(0.0, 1.0, 10 * fs)
    gappy = ramp.copy()
    gappy[300:340] = np.nan
    gappy[0:5] = np.nan
    out = preprocess(ecg_of(gappy, fs, V1=np.cos(np.arange(10 * fs) / 7)), PreprocessConfig(fs_hz=fs, **RAW))
    ii = out[CANONICAL_LEADS.index("II")]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(ii[5:], ramp[5:], atol=1e-6)  # a straight line is filled exactly
    np.testing.assert_allclose(ii[:5], ramp[5], atol=1e-6)  # leading gap holds the first real value


def test_long_signals_are_centre_cropped():
    fs = 100
    x = np.arange(15 * fs, dtype=float)
    out = preprocess(ecg_of(x, fs), PreprocessConfig(fs_hz=fs, **RAW))[1]
    np.testing.assert_array_equal(out, x[250:1250].astype(np.float32))


def test_short_signals_are_zero_padded_after_normalising_the_real_part():
    fs = 100
    x = np.sin(2 * np.pi * 1.3 * np.arange(4 * fs) / fs) + 2.0
    out = preprocess(ecg_of(x, fs), PreprocessConfig(fs_hz=fs, highpass_hz=0.0, lowpass_hz=0.0))[1]
    assert out.shape == (1000,)
    assert not out[400:].any()
    assert out[:400].mean() == pytest.approx(0.0, abs=1e-5) and out[:400].std() == pytest.approx(1.0, abs=1e-4)


def test_masked_leads_stay_zero():
    fs = 500
    t = np.arange(10 * fs) / fs
    ecg = ecg_of(np.sin(2 * np.pi * 1.1 * t), fs, V5=np.cos(2 * np.pi * 0.9 * t), V3=np.full(t.size, 0.4))
    assert ecg.present_leads == ("II", "V5")  # the flat V3 is masked by the reader
    out = preprocess(ecg, PreprocessConfig())
    present = [CANONICAL_LEADS.index(n) for n in ("II", "V5")]
    assert not np.delete(out, present, axis=0).any()
    assert (out[present].std(axis=1) > 0.9).all()


def test_ptbxl_100_hz_and_500_hz_versions_agree_after_preprocessing(shared_data):
    """PTB-XL ships each ECG at 500 Hz and downsampled to 100 Hz; both must give nearly the same model input."""
    root = shared_data / "ptb-xl" / "1.0.3"
    cfg = PreprocessConfig()
    low = preprocess(read_ecg(root / "records100/00000/00001_lr"), cfg)
    high = preprocess(read_ecg(root / "records500/00000/00001_hr"), cfg)
    # PTB-XL made its 100 Hz version with its own decimator, so edges (filter transients) differ slightly;
    # inside the outer second both agree closely.
    core = [np.corrcoef(low[i, 100:900], high[i, 100:900])[0, 1] for i in range(12)]
    whole = [np.corrcoef(low[i], high[i])[0, 1] for i in range(12)]
    assert min(core) > 0.98 and np.median(whole) > 0.95, (core, whole)


# --- PreprocessConfig ---------------------------------------------------------------------------------------------


def test_config_round_trips_through_json():
    cfg = PreprocessConfig(fs_hz=250, duration_s=5, highpass_hz=0.67, lowpass_hz=100, filter_order=2, normalize="none")
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["lead_order"] == list(CANONICAL_LEADS) and data["units"] == "mV"
    assert PreprocessConfig.from_dict(data) == cfg
    assert hash(PreprocessConfig.from_dict(data)) == hash(cfg)
    assert cfg.n_samples == 1250


def test_config_from_an_older_dict_takes_defaults_and_rejects_unknown_keys():
    old = {
        "fs_hz": 100,
        "duration_s": 10,
        "highpass_hz": 0.5,
        "lowpass_hz": 40,
        "filter_order": 4,
        "normalize": "zscore",
    }
    assert PreprocessConfig.from_dict(old) == PreprocessConfig()
    with pytest.raises(ValueError, match=r"unknown preprocessing option\(s\) \['notch_hz'\]"):
        PreprocessConfig.from_dict({**old, "notch_hz": 50})


@pytest.mark.parametrize(
    "changes, words",
    [
        (dict(lowpass_hz=50), "lowpass_hz=50 must be below the Nyquist frequency 50 Hz of fs_hz=100"),
        (dict(fs_hz=500, highpass_hz=40, lowpass_hz=30), "highpass_hz=40 must be below lowpass_hz=30"),
        (dict(highpass_hz=-1), "must be >= 0"),
        (dict(fs_hz=5), "fs_hz=5 must be within"),
        (dict(duration_s=0), "duration_s=0 must be positive"),
        (dict(filter_order=0), "filter_order=0 must be within 1-10"),
        (dict(filter_order=2.5), "filter_order must be an integer"),
        (dict(normalize="minmax"), "normalize='minmax' must be one of"),
        (dict(fs_hz="fast"), "fs_hz must be a number"),
        (dict(lowpass_hz=float("nan")), "lowpass_hz must be finite"),
        (dict(lead_order=["II", "I"]), "must be the canonical order"),
        (dict(units="uV"), "units='uV' must be 'mV'"),
    ],
)
def test_invalid_config_values_are_refused_with_a_clear_message(changes, words):
    with pytest.raises(ValueError, match=words):
        PreprocessConfig(**changes)


def test_bandpass_uses_scipys_butterworth_design():
    # The design is cached (core.data.filters); the filtered signal must be exactly scipy's own.
    cfg = PreprocessConfig()
    x = np.random.default_rng(3).normal(size=(12, int(cfg.fs_hz * cfg.duration_s)))
    sos = sps.butter(cfg.filter_order, [cfg.highpass_hz, cfg.lowpass_hz], btype="bandpass", fs=cfg.fs_hz, output="sos")
    expected = sps.sosfiltfilt(sos, x, axis=1, padtype="odd", padlen=int(cfg.fs_hz))
    np.testing.assert_array_equal(bandpass(x, cfg), expected)
