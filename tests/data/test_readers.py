"""Readers on synthetic files of every format (written in tmp_path) and on the real records in shared/data."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.io
import wfdb
from wfdb.io.header import HeaderSyntaxError

from core.data.readers import iter_windows, read_ecg, read_windows
from core.ecg import ECG
from core.errors import ECGFormatError

FS = 500
# MIMIC-IV-ECG's order: aVF before aVL. A reader that trusted positions would swap them.
MIMIC_ORDER = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]


def synthetic(n: int = 2000, n_leads: int = 12, fs: float = FS) -> np.ndarray:
    """(samples, leads) in mV: a sine per lead with a lead-specific frequency and offset, so rows are distinct."""
    t = np.arange(n) / fs
    return np.stack([0.5 * np.sin(2 * np.pi * (1.0 + 0.1 * i) * t) + 0.05 * i for i in range(n_leads)], axis=1)


def by_name(signal: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    return {name: signal[:, i] for i, name in enumerate(names)}


# --- synthetic: one test per format -------------------------------------------------------------------------------


def test_wfdb_round_trip_matches_by_name(tmp_path):
    signal = synthetic()
    wfdb.wrsamp("rec", fs=FS, units=["mV"] * 12, sig_name=MIMIC_ORDER, p_signal=signal, fmt=["16"] * 12,
                write_dir=str(tmp_path))  # fmt: skip
    ecg = read_ecg(tmp_path / "rec.hea")
    assert ecg.signal_mv.shape == (12, 2000) and ecg.signal_mv.dtype == np.float32
    assert ecg.fs_hz == FS and ecg.lead_mask.all() and ecg.record_id == "rec"
    for name, column in by_name(signal, MIMIC_ORDER).items():
        np.testing.assert_allclose(ecg.lead(name), column, atol=1e-3)
    # Same record whichever of its paths is given.
    np.testing.assert_array_equal(read_ecg(tmp_path / "rec").signal_mv, ecg.signal_mv)
    np.testing.assert_array_equal(read_ecg(tmp_path / "rec.dat").signal_mv, ecg.signal_mv)


def test_wfdb_microvolts_are_converted_to_millivolts(tmp_path):
    signal = synthetic(n_leads=2)
    wfdb.wrsamp("uv", fs=FS, units=["uV"] * 2, sig_name=["II", "V5"], p_signal=signal * 1000, fmt=["16"] * 2,
                write_dir=str(tmp_path))  # fmt: skip
    ecg = read_ecg(tmp_path / "uv")
    assert ecg.present_leads == ("II", "V5")
    np.testing.assert_allclose(ecg.lead("V5"), signal[:, 1], atol=1e-3)
    assert not ecg.lead("V1").any()


def test_csv_with_time_column_in_ms_and_units(tmp_path):
    signal = synthetic(n=1000, n_leads=3)
    path = tmp_path / "export.csv"
    lines = ["time_ms;Lead V1;II (uV);avr"]
    lines += [f"{2.0 * k:.1f};{a:.6f};{b * 1000:.3f};{c:.6f}" for k, (a, b, c) in enumerate(signal)]
    path.write_text("\n".join(lines) + "\n")
    ecg = read_ecg(path)
    assert ecg.fs_hz == pytest.approx(500.0) and ecg.present_leads == ("II", "aVR", "V1")
    np.testing.assert_allclose(ecg.lead("V1"), signal[:, 0], atol=1e-5)
    np.testing.assert_allclose(ecg.lead("II"), signal[:, 1], atol=1e-5)
    np.testing.assert_allclose(ecg.lead("aVR"), signal[:, 2], atol=1e-5)
    assert ecg.meta["stored_lead_names"] == ["Lead V1", "II (uV)", "avr"]


def test_csv_without_time_column_takes_the_given_rate_and_keeps_gaps_as_nan(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("sample,I,V6\n0,0.1,0.2\n1,,0.4\n2,0.3,0.1\n3,0.2,0.3\n")
    ecg = read_ecg(path, fs_hz=250)
    assert ecg.fs_hz == 250 and ecg.present_leads == ("I", "V6") and ecg.n_samples == 4
    assert np.isnan(ecg.lead("I")[1]) and ecg.lead("V6")[1] == pytest.approx(0.4)


def test_headerless_csv_with_given_lead_names(tmp_path):
    path = tmp_path / "bare.csv"
    np.savetxt(path, synthetic(n=300, n_leads=2), delimiter=",")
    ecg = read_ecg(path, fs_hz=FS, lead_names=["V2", "I"])
    np.testing.assert_allclose(ecg.lead("V2"), synthetic(n=300, n_leads=2)[:, 0], atol=1e-6)


@pytest.mark.parametrize("transpose", [False, True])
def test_npy_orientation_is_detected_from_the_lead_count(tmp_path, transpose):
    signal = synthetic()  # (samples, leads)
    path = tmp_path / "x.npy"
    np.save(path, signal.T if transpose else signal)
    ecg = read_ecg(path, fs_hz=FS)
    np.testing.assert_allclose(ecg.signal_mv, signal.T.astype(np.float32))


def test_npy_with_two_named_leads(tmp_path):
    path = tmp_path / "holter.npy"
    np.save(path, synthetic(n_leads=2).astype(np.float32))
    ecg = read_ecg(path, fs_hz=360, lead_names=["MLII", "V5"])
    assert ecg.present_leads == ("II", "V5") and ecg.lead_mask.sum() == 2 and ecg.fs_hz == 360


def test_npz_carries_its_rate_and_lead_names(tmp_path):
    signal = synthetic(n_leads=12)
    path = tmp_path / "bundle.npz"
    np.savez_compressed(path, signal=signal, fs_hz=np.float64(FS), lead_names=np.array(MIMIC_ORDER))
    ecg = read_ecg(path)
    assert ecg.fs_hz == FS
    np.testing.assert_allclose(ecg.lead("aVL"), signal[:, MIMIC_ORDER.index("aVL")], rtol=1e-6)


def test_sph_style_hdf5_defaults_and_overrides(tmp_path):
    signal = synthetic().T.astype(np.float16)
    path = tmp_path / "SPH99999.h5"
    with h5py.File(path, "w") as h5:
        h5["ecg"] = signal
    ecg = read_ecg(path)
    assert ecg.fs_hz == 500 and ecg.record_id == "SPH99999" and ecg.lead_mask.all()
    np.testing.assert_array_equal(ecg.signal_mv, signal.astype(np.float32))
    other = read_ecg(path, fs_hz=250, lead_names=MIMIC_ORDER)
    np.testing.assert_array_equal(other.lead("aVL"), signal[MIMIC_ORDER.index("aVL")].astype(np.float32))
    assert other.fs_hz == 250


def test_windows_ids_starts_and_per_window_masking(tmp_path):
    fs = 250
    signal = synthetic(n=35 * fs, n_leads=2, fs=fs)
    signal[10 * fs : 20 * fs, 1] = 0.0  # lead V5 off during window 1 only
    ecg = ECG.from_leads(signal, fs, ["II", "V5"], record_id="long", channel_axis=1)
    windows = list(iter_windows(ecg, 10.0))
    assert [w.record_id for w in windows] == ["long_w0000", "long_w0001", "long_w0002"]
    assert [w.meta["window_start_s"] for w in windows] == [0.0, 10.0, 20.0]
    assert all(w.n_samples == 10 * fs and w.meta["parent_record_id"] == "long" for w in windows)
    assert [w.present_leads for w in windows] == [("II", "V5"), ("II",), ("II", "V5")]
    np.testing.assert_array_equal(windows[2].lead("II"), ecg.lead("II")[20 * fs : 30 * fs])
    assert len(list(iter_windows(ecg, 10.0, hop_s=5.0))) == 6
    assert [w.n_samples for w in iter_windows(ecg, 10.0, keep_partial=True)][-1] == 5 * fs


# --- real data ------------------------------------------------------------------------------------------------


def _reference(record: Path) -> tuple[np.ndarray, list[str]]:
    """wfdb's own reading, for comparing values by lead name."""
    rec = wfdb.rdrecord(str(record))
    return rec.p_signal, list(rec.sig_name)


@pytest.mark.parametrize(
    "rel, fs, n, first_i, first_iii",
    [("records100/00000/00001_lr", 100, 1000, -0.119, 0.064), ("records500/00000/00001_hr", 500, 5000, -0.115, 0.065)],
)
def test_ptbxl_record_1(shared_data, rel, fs, n, first_i, first_iii):
    record = shared_data / "ptb-xl" / "1.0.3" / rel
    ecg = read_ecg(record, record_id="ptbxl/00001")
    assert ecg.signal_mv.shape == (12, n) and ecg.fs_hz == fs and ecg.lead_mask.all()
    assert ecg.record_id == "ptbxl/00001" and ecg.meta["stored_lead_names"][3:5] == ["AVR", "AVL"]
    # First samples as stated in the header ("initial value" column, gain 1000/mV).
    assert ecg.lead("I")[0] == pytest.approx(first_i) and ecg.lead("III")[0] == pytest.approx(first_iii)
    reference, names = _reference(record)
    np.testing.assert_allclose(ecg.lead("aVR"), reference[:, names.index("AVR")], atol=1e-6)


def test_ludb_lowercase_lead_names(shared_data):
    record = shared_data / "ludb" / "1.0.1" / "data" / "1"
    ecg = read_ecg(record)
    assert ecg.signal_mv.shape == (12, 5000) and ecg.fs_hz == 500 and ecg.lead_mask.all()
    assert ecg.meta["stored_lead_names"][:4] == ["i", "ii", "iii", "avr"]
    reference, names = _reference(record)
    # LUDB's gains make every lead span 1 mV; each lead is read with one shared gain instead (core.data.lead_scaling),
    # i.e. wfdb's values times the lead's gain over the gains' geometric mean.
    gains = dict(zip(names, wfdb.rdheader(str(record)).adc_gain, strict=True))
    shared = np.exp(np.mean(np.log(list(gains.values()))))
    for name in ("avl", "avf", "v6"):
        expected = reference[:, names.index(name)] * gains[name] / shared
        np.testing.assert_allclose(ecg.lead(name), expected, rtol=1e-5, atol=1e-6)
    assert "amplitudes not calibrated" in ecg.meta["amplitudes_uncalibrated"]
    assert any("Rhythm" in line for line in ecg.meta["comments"])


@pytest.mark.parametrize("name", ["E07500", "HR06000", "JS20000"])
def test_cinc_mat_records_equal_the_raw_matlab_values(shared_data, name):
    folder = shared_data / "cinc2021" / "torch_ecg_sample"
    ecg = read_ecg(folder / f"{name}.mat")
    assert ecg.signal_mv.shape == (12, 5000) and ecg.fs_hz == 500 and ecg.lead_mask.all()
    assert ecg.meta["format"] == "wfdb-mat" and any(c.startswith("Dx:") for c in ecg.meta["comments"])
    # Independent of wfdb: the .mat holds int16 "val" (leads x samples) at 1000 units per mV, baseline 0,
    # rows in the header's order I..V6.
    raw = scipy.io.loadmat(folder / f"{name}.mat")["val"]
    np.testing.assert_allclose(ecg.signal_mv, raw / 1000.0, atol=1e-6)


def test_cinc_hr_records_equal_ptbxl_where_both_are_present(shared_data):
    """The CinC 'HR' records are PTB-XL 500 Hz records (HRnnnnn = ecg_id nnnnn), sample for sample.

    shared/data holds HR06000-HR06009 but PTB-XL only up to ecg_id 500, so no pair is present there (checked:
    none of the 10 HR records equals any of the 500 PTB-XL records); this runs where both are (full PTB-XL).
    """
    folder = shared_data / "cinc2021" / "torch_ecg_sample"
    pairs = []
    for hea in sorted(folder.glob("HR*.hea")):
        ecg_id = int(hea.stem[2:])
        ptbxl = shared_data / "ptb-xl" / "1.0.3" / "records500" / f"{ecg_id // 1000 * 1000:05d}" / f"{ecg_id:05d}_hr"
        if Path(f"{ptbxl}.hea").is_file():
            pairs.append((hea, ptbxl))
    if not pairs:
        pytest.skip("no HR record has its PTB-XL counterpart in this data folder")
    for hea, ptbxl in pairs:
        np.testing.assert_array_equal(read_ecg(hea).signal_mv, read_ecg(ptbxl).signal_mv)


def test_sph_record(shared_data):
    path = shared_data / "sph" / "SPH" / "SPH00001.h5"
    ecg = read_ecg(path)
    assert ecg.signal_mv.shape == (12, 5000) and ecg.fs_hz == 500 and ecg.lead_mask.all()
    assert ecg.meta["stored_dtype"] == "float16"
    with h5py.File(path, "r") as h5:
        np.testing.assert_array_equal(ecg.signal_mv, h5["ecg"][()].astype(np.float32))


def test_mitbih_100_as_ten_second_windows(shared_data):
    record = shared_data / "wfdb_sample_data" / "100"
    windows = read_windows(record, window_s=10.0)
    assert len(windows) == 180  # 650,000 samples at 360 Hz = 1805.6 s; the 5.6 s tail is dropped
    first, second = windows[0], windows[1]
    assert first.signal_mv.shape == (12, 3600) and first.fs_hz == 360
    assert first.present_leads == ("II", "V5") and first.meta["stored_lead_names"] == ["MLII", "V5"]
    assert (first.record_id, second.record_id, second.meta["window_start_s"]) == ("100_w0000", "100_w0001", 10.0)
    reference, _ = _reference(record)
    np.testing.assert_allclose(second.lead("II"), reference[3600:7200, 0], atol=1e-6)
    np.testing.assert_allclose(windows[-1].lead("V5"), reference[179 * 3600 : 180 * 3600, 1], atol=1e-6)


def test_ptb_s0010_keeps_12_leads_and_drops_frank_leads(shared_data):
    ecg = read_ecg(shared_data / "wfdb_sample_data" / "s0010_re")
    assert ecg.signal_mv.shape == (12, 38400) and ecg.fs_hz == 1000 and ecg.lead_mask.all()
    assert ecg.meta["dropped_leads"] == ["vx", "vy", "vz"]
    reference, names = _reference(shared_data / "wfdb_sample_data" / "s0010_re")
    np.testing.assert_allclose(ecg.lead("V6"), reference[:, names.index("v6")], atol=1e-6)


def test_every_cinc_and_sph_sample_and_a_ptbxl_stride_read_cleanly(shared_data):
    paths = sorted((shared_data / "cinc2021" / "torch_ecg_sample").glob("*.hea"))
    paths += sorted((shared_data / "sph" / "SPH").glob("*.h5"))
    paths += sorted((shared_data / "ptb-xl" / "1.0.3" / "records100").glob("*/*.hea"))[::25]
    assert len(paths) == 50 + 10 + 20
    masked = {}
    for path in paths:
        ecg = read_ecg(path)
        assert np.isfinite(ecg.signal_mv).all() and ecg.duration_s >= 10.0, path
        if not ecg.lead_mask.all():
            masked[path.stem] = ecg.meta["unusable_leads"]
    # Two Ningbo records store V2, V4 and V6 as all zeros; they are masked, everything else is complete.
    flat = {"V2": "flat", "V4": "flat", "V6": "flat"}
    assert masked == {"JS20004": flat, "JS20008": flat}


# The 43 Georgia records of cinc2021_more have Challenge 2020 headers ("E00015.mat 12 500 5000 ..."), which
# wfdb.rdheader rejects; two of them, from the two source repositories.
GEORGIA_2020 = [
    "awwong1_physionet-challenge-2020/tests/data/E00015",
    "DeepPSP_cinc2021/docker_test_dir/training_data/E00271",
]


def _gain_per_mv(header: Path) -> list[float]:
    """The ADC gain of each signal line (``4880/mV`` -> 4880), read without wfdb."""
    lines = [line.split() for line in header.read_text().splitlines()[1:] if line and not line.startswith("#")]
    return [float(fields[2].split("/")[0].split("(")[0]) for fields in lines]


@pytest.mark.parametrize("rel", GEORGIA_2020)
def test_challenge_2020_header_equals_the_raw_matlab_values_times_gain(shared_data, rel):
    record = shared_data / "cinc2021_more" / rel
    assert Path(f"{record}.hea").read_text().split()[0] == f"{record.name}.mat"
    with pytest.raises(HeaderSyntaxError):
        wfdb.rdheader(str(record))
    ecg = read_ecg(f"{record}.hea")
    raw = scipy.io.loadmat(f"{record}.mat")["val"]  # int16, leads x samples, baseline 0
    gain = np.asarray(_gain_per_mv(Path(f"{record}.hea")))[:, None]
    assert raw.shape == (12, 5000) and ecg.fs_hz == 500 and ecg.lead_mask.all()
    assert ecg.meta["header_style"] == "challenge-2020" and any(c.startswith("Dx:") for c in ecg.meta["comments"])
    np.testing.assert_allclose(ecg.signal_mv, raw / gain, atol=1e-9)


def test_challenge_2020_header_honours_gain_baseline_and_units_like_wfdb(shared_data, tmp_path):
    """Same conversion as wfdb.rdrecord on the 2021 form of the same header, with a baseline and uV units."""
    source = shared_data / "cinc2021_more" / GEORGIA_2020[0]
    lines = Path(f"{source}.hea").read_text().splitlines()
    signal_lines = [line.replace("4880/mV", "2440(100)/uV", 1) for line in lines[1:13]]
    for folder, record_line in (("y2020", lines[0]), ("y2021", lines[0].replace("E00015.mat", "E00015", 1))):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "E00015.hea").write_text("\n".join([record_line, *signal_lines, *lines[13:]]) + "\n")
        shutil.copyfile(f"{source}.mat", tmp_path / folder / "E00015.mat")
    old, new = read_ecg(tmp_path / "y2020" / "E00015.hea"), read_ecg(tmp_path / "y2021" / "E00015.hea")
    assert (old.meta["header_style"], new.meta["header_style"]) == ("challenge-2020", "wfdb")
    np.testing.assert_array_equal(old.signal_mv, new.signal_mv)
    raw = scipy.io.loadmat(f"{source}.mat")["val"].astype(float)
    np.testing.assert_allclose(old.signal_mv, (raw - 100) / 2440 / 1000, atol=1e-12)  # uV -> mV


def test_a_header_naming_another_mat_file_is_refused(shared_data, tmp_path):
    source = shared_data / "cinc2021_more" / GEORGIA_2020[0]
    text = Path(f"{source}.hea").read_text().replace("E00015.mat", "OTHER.mat")
    (tmp_path / "E00015.hea").write_text(text)
    shutil.copyfile(f"{source}.mat", tmp_path / "E00015.mat")
    with pytest.raises(ECGFormatError, match="not a valid WFDB header"):
        read_ecg(tmp_path / "E00015.hea")
