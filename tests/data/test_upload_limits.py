"""Honest uploads at the data layer: refused sampling rates, decoded-size caps before decoding, unit detection, and
the 10-s window of a long record (issue 13, items 4-5)."""

from __future__ import annotations

import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.data.readers import read_ecg
from core.errors import ECGSamplingRateError, ECGTooLargeError
from core.explorer.uploads import WINDOW_S, detect_units, read_upload, upload_window
from core.leads import CANONICAL_LEADS

MITBIH = "wfdb_sample_data/100"
PTBXL = "ptb-xl/1.0.3/records500/00000/00001_hr"


def _mitbih_with_fs(shared_data: Path, tmp_path: Path, fs: str) -> Path:
    """MIT-BIH 100 with its header's sampling rate replaced by ``fs`` (the .dat is copied to tmp_path)."""
    src = shared_data / MITBIH
    (tmp_path / "r.dat").write_bytes(src.with_suffix(".dat").read_bytes())
    lines = src.with_suffix(".hea").read_text().splitlines()
    out = []
    for line in lines:
        fields = line.split()
        if fields and fields[0] == "100" and len(fields) >= 4:
            line = " ".join(["r", fields[1], fs, *fields[3:]])
        out.append(line.replace("100.dat", "r.dat"))
    (tmp_path / "r.hea").write_text("\n".join(out) + "\n")
    return tmp_path / "r.hea"


@pytest.mark.parametrize("fs", ["-1", "0", "nan", "inf", "-360"])
def test_invalid_header_sampling_rates_are_refused(shared_data, tmp_path, fs):
    # wfdb itself reads -1, nan and inf as its 250 Hz default, and 0 as 0 Hz.
    header = _mitbih_with_fs(shared_data, tmp_path, fs)
    with pytest.raises(ECGSamplingRateError, match=rf"r\.hea: the header's sampling rate '{fs}'"):
        read_ecg(header)


def test_a_valid_header_rate_is_still_read(shared_data, tmp_path):
    assert read_ecg(_mitbih_with_fs(shared_data, tmp_path, "360")).fs_hz == 360.0


@pytest.mark.parametrize("fs", [-1, 0, float("nan"), float("inf"), "abc"])
def test_invalid_given_sampling_rates_are_refused(tmp_path, fs):
    path = tmp_path / "x.npy"
    np.save(path, np.random.default_rng(0).normal(size=(12, 5000)))
    with pytest.raises(ECGSamplingRateError, match=r"x\.npy: sampling rate given as"):
        read_ecg(path, fs_hz=fs)


def _forbid(*args, **kwargs):
    raise AssertionError("decoded before the size was checked")


def test_wfdb_sample_budget_is_checked_from_the_header(shared_data, monkeypatch):
    monkeypatch.setattr("wfdb.rdrecord", _forbid)
    with pytest.raises(ECGTooLargeError, match="650,000 samples x 2 lead"):
        read_ecg(shared_data / MITBIH, max_values=1_000_000)


def test_npy_sample_budget_is_checked_from_the_header(tmp_path, monkeypatch):
    path = tmp_path / "long.npy"
    np.save(path, np.zeros((12, 20_000), np.float32))
    monkeypatch.setattr("numpy.load", _forbid)
    with pytest.raises(ECGTooLargeError, match="20,000 samples x 12 lead"):
        read_ecg(path, fs_hz=500, max_values=100_000)


def test_csv_sample_budget_stops_reading_rows(tmp_path):
    path = tmp_path / "long.csv"
    pd.DataFrame(np.zeros((20_000, 3)), columns=["I", "II", "V1"]).to_csv(path, index=False)
    with pytest.raises(ECGTooLargeError, match="more than 8,333 rows of 3 lead"):
        read_ecg(path, fs_hz=500, max_values=100_000)


def _write_zero_npz(path: Path, shape: tuple[int, int]) -> None:
    """An .npz whose one member is a float32 zero array of ``shape``, written in chunks (never held in memory)."""
    header = {"descr": "<f4", "fortran_order": False, "shape": shape}
    chunk = np.zeros(1 << 20, np.float32).tobytes()
    total = shape[0] * shape[1] * 4
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf, zf.open("signal.npy", "w") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        written = 0
        while written < total:
            part = chunk[: min(len(chunk), total - written)]
            fh.write(part)
            written += len(part)


def test_a_small_npz_that_unpacks_to_26_million_samples_is_refused_without_allocating(tmp_path):
    path = tmp_path / "bomb.npz"
    _write_zero_npz(path, (12, 2_170_000))  # 26 M samples, 104 MB unpacked
    assert path.stat().st_size < 1_500_000
    tracemalloc.start()
    try:
        with pytest.raises(ECGTooLargeError, match="2,170,000 samples x 12 lead"):
            read_ecg(path, fs_hz=500)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, f"{peak:,} bytes allocated while refusing"


def _ptbxl_csv(shared_data: Path, tmp_path: Path, scale: float, unit_in_header: str = "") -> tuple[Path, np.ndarray]:
    ecg = read_ecg(shared_data / PTBXL)
    t = np.arange(ecg.n_samples) / ecg.fs_hz
    frame = pd.DataFrame({"time": t})
    for name, row in zip(CANONICAL_LEADS, ecg.signal_mv, strict=True):
        frame[f"{name}{unit_in_header}"] = np.round(row.astype(np.float64) * scale, 3)
    path = tmp_path / "ptbxl_uv.csv"
    frame.to_csv(path, index=False)
    return path, ecg.signal_mv


def test_a_microvolt_csv_is_detected_and_reads_as_the_mv_original_with_units_uv(shared_data, tmp_path):
    path, original = _ptbxl_csv(shared_data, tmp_path, 1000.0)
    auto = read_upload([path])
    assert auto.units == "uV" and any("microvolts" in n and "Units = mV" in n for n in auto.notes)
    np.testing.assert_allclose(auto.ecg.signal_mv, original, atol=2e-3)
    chosen = read_upload([path], units="uV")
    assert chosen.units == "uV" and not chosen.notes
    np.testing.assert_allclose(chosen.ecg.signal_mv, original, atol=1e-3)  # µV rounded to 0.001 µV, float32
    as_mv = read_upload([path], units="mV")  # the user insists: kept, but the mismatch is stated
    assert as_mv.units == "mV" and any("look like microvolts" in n for n in as_mv.notes)
    assert np.abs(as_mv.ecg.signal_mv).max() > 100


def test_a_csv_that_states_its_unit_is_not_rescaled_again(shared_data, tmp_path):
    path, original = _ptbxl_csv(shared_data, tmp_path, 1000.0, " (uV)")
    record = read_upload([path], units="V")
    assert record.units == "mV" and any("was not applied" in n for n in record.notes)
    np.testing.assert_allclose(record.ecg.signal_mv, original, atol=1e-3)


def test_volts_are_detected(shared_data, tmp_path):
    ecg = read_ecg(shared_data / PTBXL)
    path = tmp_path / "volts.npy"
    np.save(path, ecg.signal_mv / 1000.0)
    assert detect_units(read_ecg(path, fs_hz=500))[0] == "V"
    record = read_upload([path], fs_hz=500)
    assert record.units == "V" and any("volts" in n for n in record.notes)
    np.testing.assert_allclose(record.ecg.signal_mv, ecg.signal_mv, atol=1e-4)
    assert not read_upload([shared_data / f"{PTBXL}.hea", shared_data / f"{PTBXL}.dat"]).notes


def test_mitbih_100_gives_180_windows_and_the_chosen_one(shared_data):
    rec = shared_data / MITBIH
    record = read_upload([rec.with_suffix(".hea"), rec.with_suffix(".dat")])
    assert record.n_windows == 180 and record.ecg.fs_hz == 360
    window = upload_window(record, 600)
    assert window.id.endswith("@600") and window.ecg.n_samples == int(WINDOW_S * 360)
    present = np.asarray(record.ecg.lead_mask)
    np.testing.assert_array_equal(window.ecg.signal_mv[present], record.ecg.signal_mv[present, 216_000:219_600])
    text = " ".join(window.warnings)
    assert "180 windows" in text and "600-610 s" in text
    assert "2 of 12 (II, V5)" in text and "less reliable" in text
    assert upload_window(record, 10**6).start_s == pytest.approx(record.ecg.duration_s - WINDOW_S, abs=1e-3)
