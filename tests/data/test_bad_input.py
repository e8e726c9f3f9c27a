"""Every kind of bad input gives one typed ECGReadError naming the file and the problem (never a bare traceback).

Fixtures are written into tmp_path from a synthetic signal with wfdb / numpy / h5py / plain text.
"""

from __future__ import annotations

import pickle
import struct
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import wfdb

from core.data.readers import read_ecg, read_windows
from core.errors import (
    ECGCorruptError,
    ECGFileMissingError,
    ECGFormatError,
    ECGLeadError,
    ECGReadError,
    ECGSignalError,
    ECGTooLargeError,
)
from core.leads import CANONICAL_LEADS

FS = 500


def synthetic(n: int = 2000, n_leads: int = 12) -> np.ndarray:
    """(samples, leads) in mV: a 1.2 Hz sine per lead with a lead-specific phase and offset."""
    t = np.arange(n) / FS
    return np.stack([0.5 * np.sin(2 * np.pi * 1.2 * t + i) + 0.05 * i for i in range(n_leads)], axis=1)


def write_wfdb(folder: Path, name: str = "rec", signal: np.ndarray | None = None, names=CANONICAL_LEADS) -> Path:
    signal = synthetic() if signal is None else signal
    k = signal.shape[1]
    wfdb.wrsamp(name, fs=FS, units=["mV"] * k, sig_name=list(names), p_signal=signal, fmt=["16"] * k,
                write_dir=str(folder))  # fmt: skip
    return folder / name


def edit_header(record: Path, old: str, new: str) -> None:
    hea = Path(f"{record}.hea")
    text = hea.read_text()
    assert old in text
    hea.write_text(text.replace(old, new, 1))


def raises(error: type[ECGReadError], path: Path, words: str, **kwargs) -> ECGReadError:
    """Read ``path`` and check the typed error, its words, and that the message names the file."""
    with pytest.raises(error, match=words) as info:
        read_ecg(path, **kwargs)
    assert Path(info.value.source).stem.startswith(Path(path).stem.split(".")[0]), info.value
    return info.value


# --- WFDB / CinC ------------------------------------------------------------------------------------------------


def test_missing_dat_names_the_missing_file(tmp_path):
    record = write_wfdb(tmp_path)
    Path(f"{record}.dat").unlink()
    err = raises(ECGFileMissingError, Path(f"{record}.hea"), "does not exist")
    assert err.source.endswith("rec.dat")


def test_truncated_dat(tmp_path):
    record = write_wfdb(tmp_path)
    dat = Path(f"{record}.dat")
    dat.write_bytes(dat.read_bytes()[:10_001])
    raises(ECGCorruptError, record, "truncated: the header declares 2000 samples")


@pytest.mark.parametrize(
    ("old", "new", "error", "words"),
    [
        ("rec 12 500 2000", "rec 12 500 1500", ECGCorruptError, "header/sample-count mismatch"),
        ("rec 12 500", "rec 13 500", ECGFormatError, "declares 13 signals but describes 12"),
        ("rec 12 500 2000", "rec 12 5000000 2000", ECGSignalError, "sampling rate 5000000.0 Hz is outside"),
    ],
    ids=["undercounted-samples-are-a-mismatch-not-a-silent-cut", "more-signals-declared-than-listed", "absurd-rate"],
)
def test_bad_record_line_is_refused(tmp_path, old, new, error, words):
    record = write_wfdb(tmp_path)
    edit_header(record, old, new)
    raises(error, record, words)


def test_garbage_header_chains_the_wfdb_error(tmp_path):
    hea = tmp_path / "junk.hea"
    hea.write_text("this is not\na wfdb header\n")
    err = raises(ECGFormatError, hea, "not a valid WFDB header")
    assert err.__cause__ is not None


def test_binary_garbage_header(tmp_path):
    hea = tmp_path / "noise.hea"
    hea.write_bytes(np.random.default_rng(0).integers(0, 256, 400, dtype=np.uint8).tobytes())
    raises(ECGFormatError, hea, "not a valid WFDB header")


def test_header_pointing_outside_its_folder_is_refused(tmp_path):
    record = write_wfdb(tmp_path)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(Path(f"{record}.dat").read_bytes())
    (tmp_path / "inner").mkdir()
    text = Path(f"{record}.hea").read_text().replace("rec.dat", "../secret.bin")
    Path(tmp_path / "inner" / "rec.hea").write_text(text)
    # wfdb's own header grammar already rejects "/" in a file name; either way the read is refused.
    raises(ECGFormatError, tmp_path / "inner" / "rec.hea", "not a valid WFDB header|must be a plain file name")


def test_multi_segment_record_is_refused(tmp_path):
    hea = tmp_path / "multi.hea"
    hea.write_text("multi/2 2 360 1000\nseg1 500\nseg2 500\n")
    raises(ECGFormatError, hea, "multi-segment WFDB records are not supported")


def test_unsupported_wfdb_storage_format(tmp_path):
    record = write_wfdb(tmp_path)
    text = Path(f"{record}.hea").read_text().replace("rec.dat 16 ", "rec.dat 999 ")
    Path(f"{record}.hea").write_text(text)
    raises(ECGFormatError, record, "unsupported WFDB storage format '999'")


def test_wrong_lead_names(tmp_path):
    names = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "chest7"]
    record = write_wfdb(tmp_path, names=names)
    raises(ECGLeadError, record, r"unknown lead name\(s\) \['chest7'\]")


def test_zero_length_signal(tmp_path):
    record = write_wfdb(tmp_path)
    edit_header(record, "rec 12 500 2000", "rec 12 500 0")
    Path(f"{record}.dat").write_bytes(b"")
    raises(ECGSignalError, record, "zero samples")


def test_mat_without_its_header(tmp_path):
    mat = tmp_path / "A0001.mat"
    mat.write_bytes(b"\x00" * 64)
    raises(ECGFileMissingError, mat, "needs its .hea header")


def test_flat_single_lead_is_masked_not_an_error(tmp_path):
    signal = synthetic()
    signal[:, CANONICAL_LEADS.index("V3")] = 0.25
    ecg = read_ecg(write_wfdb(tmp_path, signal=signal))
    assert ecg.lead_mask.sum() == 11 and not ecg.lead_mask[CANONICAL_LEADS.index("V3")]
    assert ecg.meta["unusable_leads"] == {"V3": "flat"}
    assert not ecg.lead("V3").any()


def test_all_nan_lead_is_masked_and_all_nan_record_is_an_error(tmp_path):
    digital = (synthetic(n=1000, n_leads=2) * 1000).astype(np.int16)
    digital[:, 1] = -32768  # WFDB's "no sample" value for format 16
    kwargs = dict(fs=FS, units=["mV"] * 2, sig_name=["I", "II"], adc_gain=[1000.0] * 2, baseline=[0, 0], fmt=["16"] * 2)
    wfdb.wrsamp("half", d_signal=digital, write_dir=str(tmp_path), **kwargs)
    ecg = read_ecg(tmp_path / "half")
    assert ecg.present_leads == ("I",) and ecg.meta["unusable_leads"] == {"II": "all NaN"}

    digital[:, 0] = -32768
    wfdb.wrsamp("empty", d_signal=digital, write_dir=str(tmp_path), **kwargs)
    raises(ECGSignalError, tmp_path / "empty", "no usable lead: I all NaN, II all NaN")


def test_given_rate_that_contradicts_the_header(tmp_path):
    raises(ECGSignalError, write_wfdb(tmp_path), "given as 250 Hz but the file says 500 Hz", fs_hz=250)


# --- size limit -------------------------------------------------------------------------------------------------


def test_file_over_the_size_limit(tmp_path):
    raises(ECGTooLargeError, write_wfdb(tmp_path), "exceeds the limit of 10,000 bytes", max_bytes=10_000)


def _forbid(*args, **kwargs):
    raise AssertionError("the file was read before its size was checked")


@pytest.mark.parametrize("suffix", [".hea", ".csv", ".npy", ".npz", ".h5"])
def test_size_limit_is_checked_before_reading(tmp_path, monkeypatch, suffix):
    if suffix == ".hea":
        path = Path(f"{write_wfdb(tmp_path)}.hea")
    else:
        path = tmp_path / f"big{suffix}"
        path.write_bytes(b"\x00" * 5000)
    for target in ("wfdb.rdrecord", "wfdb.rdheader", "numpy.load", "pandas.read_csv", "h5py.File"):
        monkeypatch.setattr(target, _forbid)
    monkeypatch.setattr(Path, "open", _forbid)
    monkeypatch.setattr(Path, "read_bytes", _forbid)
    with pytest.raises(ECGTooLargeError, match="exceeds the limit"):
        read_ecg(path, fs_hz=FS, max_bytes=1000)


# --- dispatch ---------------------------------------------------------------------------------------------------


def test_nonexistent_path(tmp_path):
    raises(ECGFileMissingError, tmp_path / "nothing.csv", "does not exist")


def test_unknown_format(tmp_path):
    edf = tmp_path / "holter.edf"
    edf.write_bytes(b"0       some EDF header")
    raises(ECGFormatError, edf, "unsupported file type '.edf'")


def test_directory_instead_of_a_file(tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    raises(ECGFormatError, folder, "not a regular file")


# --- CSV --------------------------------------------------------------------------------------------------------


def test_csv_without_lead_header(tmp_path):
    path = tmp_path / "nohead.csv"
    np.savetxt(path, synthetic(n=50), delimiter=",")
    raises(ECGLeadError, path, "no header row naming the leads", fs_hz=FS)


def test_binary_garbage_named_csv(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    raises(ECGFormatError, path, "not a text CSV")


def test_headerless_csv_with_the_wrong_number_of_lead_names(tmp_path):
    path = tmp_path / "bare.csv"
    np.savetxt(path, synthetic(n=50, n_leads=3), delimiter=",")
    raises(ECGLeadError, path, "2 lead names given for 3 columns", fs_hz=FS, lead_names=["I", "II"])


@pytest.mark.parametrize(
    ("text", "error", "words", "fs_hz"),
    [
        ("I,II\n0.1,0.2\n0.3,oops\n0.5,0.6\n", ECGCorruptError, "data row 2, column 'II': 'oops' is not a number", FS),
        ("I,II\n0.1,0.2\n0.3\n0.5,0.6\n", ECGCorruptError, "data row 2 has 1 fields but there are 2 columns", FS),
        ("time,I,II\n", ECGSignalError, "zero data rows", None),
        ("I,II\n0.1,0.2\n0.3,0.4\n", ECGSignalError, "no time column", None),
        ("t,II\n0.0,0.1\n0.002,0.2\n0.010,0.3\n0.012,0.1\n", ECGSignalError, "not uniformly increasing", None),
    ],
    ids=["non-numeric-cell", "ragged-row", "header-only-is-zero-length", "no-rate-or-time-column", "irregular-time"],
)
def test_bad_csv_is_refused(tmp_path, text, error, words, fs_hz):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    raises(error, path, words, fs_hz=fs_hz)


def test_csv_time_in_ms_labelled_as_seconds_gives_an_absurd_rate(tmp_path):
    path = tmp_path / "units.csv"
    rows = [f"{2 * k},{np.sin(k / 10):.4f}" for k in range(200)]  # milliseconds, header says seconds
    path.write_text("time_s,II\n" + "\n".join(rows) + "\n")
    raises(ECGSignalError, path, "sampling rate 0.5 Hz is outside")


# --- NumPy ------------------------------------------------------------------------------------------------------


def test_garbage_npy(tmp_path):
    path = tmp_path / "junk.npy"
    path.write_bytes(b"definitely not numpy" * 20)
    raises(ECGFormatError, path, "not a NumPy .npy file", fs_hz=FS)


def test_truncated_npy(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, synthetic().T)
    path.write_bytes(path.read_bytes()[:1000])
    err = raises(ECGCorruptError, path, "damaged .npy file", fs_hz=FS)
    assert isinstance(err.__cause__, ValueError)


def test_pickled_npy_is_refused(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    raises(ECGFormatError, path, "pickled data", fs_hz=FS)


def test_npy_without_rate(tmp_path):
    path = tmp_path / "norate.npy"
    np.save(path, synthetic().T)
    raises(ECGSignalError, path, "pass fs_hz")


def test_npy_ambiguous_orientation(tmp_path):
    path = tmp_path / "square.npy"
    np.save(path, synthetic(n=12))
    raises(ECGLeadError, path, "ambiguous", fs_hz=FS)


def test_npy_shape_not_matching_lead_names(tmp_path):
    path = tmp_path / "three.npy"
    np.save(path, synthetic(n_leads=3))
    raises(ECGLeadError, path, "no axis of length 12", fs_hz=FS)


def test_npy_zero_length(tmp_path):
    path = tmp_path / "zero.npy"
    np.save(path, np.zeros((12, 0)))
    raises(ECGSignalError, path, "zero samples", fs_hz=FS)


def test_npz_with_several_unnamed_arrays(tmp_path):
    path = tmp_path / "many.npz"
    np.savez(path, a=synthetic().T, b=synthetic().T)
    raises(ECGFormatError, path, "cannot tell which array is the signal", fs_hz=FS)


def test_npz_with_a_corrupt_compressed_stream(tmp_path):
    path = tmp_path / "broken.npz"
    np.savez_compressed(path, signal=synthetic().T, fs_hz=np.float64(FS))
    with zipfile.ZipFile(path) as zf:
        offset = zf.getinfo("signal.npy").header_offset
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[offset + 26 : offset + 30])
    data[offset + 30 + name_len + extra_len] = 0xFF  # deflate block type 3 does not exist
    path.write_bytes(bytes(data))
    err = raises(ECGCorruptError, path, "damaged .npz file")
    assert isinstance(err.__cause__, zlib.error)


def test_npz_that_is_not_a_zip(tmp_path):
    path = tmp_path / "fake.npz"
    path.write_bytes(pickle.dumps({"signal": [1, 2, 3]}))
    raises(ECGFormatError, path, "not a zip archive", fs_hz=FS)


# --- HDF5 -------------------------------------------------------------------------------------------------------


def test_h5_without_ecg_dataset(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5["signal"] = synthetic().T
    raises(ECGFormatError, path, "no 'ecg' dataset in the HDF5 file \\(found: \\['signal'\\]\\)")


def test_h5_that_is_not_hdf5(tmp_path):
    path = tmp_path / "text.h5"
    path.write_text("ecg = [1, 2, 3]\n")
    raises(ECGFormatError, path, "not an HDF5 file")


# --- fuzzing ----------------------------------------------------------------------------------------------------


def _write_format(folder: Path, kind: str) -> tuple[Path, Path]:
    """Write a small valid file of one format; return (file to damage, path to read)."""
    signal = synthetic(n=600)
    if kind in ("dat", "hea"):
        record = write_wfdb(folder, signal=signal)
        return Path(f"{record}.{kind}"), Path(f"{record}.hea")
    path = folder / f"x.{kind}"
    if kind == "npy":
        np.save(path, signal.T)
    elif kind == "npz":
        np.savez_compressed(path, signal=signal.T, fs_hz=np.float64(FS))
    elif kind == "h5":
        with h5py.File(path, "w") as h5:
            h5.create_dataset("ecg", data=signal.T.astype(np.float16), compression="gzip")
    else:
        rows = [f"{k / FS:.4f}," + ",".join(f"{v:.4f}" for v in row) for k, row in enumerate(signal)]
        path.write_text("time," + ",".join(CANONICAL_LEADS) + "\n" + "\n".join(rows) + "\n")
    return path, path


@pytest.mark.filterwarnings("ignore:.* encountered in cast:RuntimeWarning")  # flipped float64 bits overflow float32
@pytest.mark.parametrize("kind", ["dat", "hea", "npy", "npz", "h5", "csv"])
def test_truncated_or_bit_flipped_files_only_raise_typed_errors(tmp_path, kind):
    """Seeded mutations (cuts, flipped bytes, inserted junk): each read either succeeds or raises an ECGReadError."""
    victim, entry = _write_format(tmp_path, kind)
    original = victim.read_bytes()
    rng = np.random.default_rng(len(kind))
    failures = 0
    for trial in range(24):
        data = bytearray(original)
        if trial % 3 == 0:
            data = data[: int(len(data) * rng.random())]
        elif trial % 3 == 1:
            for i in rng.integers(0, len(data), size=8):
                data[i] ^= int(rng.integers(1, 256))
        else:
            i = int(rng.integers(0, len(data)))
            data[i:i] = rng.integers(0, 256, size=int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        victim.write_bytes(bytes(data))
        try:
            read_ecg(entry, fs_hz=FS if kind == "npy" else None)
        except ECGReadError:
            failures += 1
    assert failures >= 8  # a third of the trials cut the file; most of those must be refused


# --- windows ----------------------------------------------------------------------------------------------------


def test_record_shorter_than_one_window(tmp_path):
    record = write_wfdb(tmp_path)  # 4 s
    with pytest.raises(ECGSignalError, match="no usable 10 s window in a 4.00 s record"):
        read_windows(record, window_s=10.0)
    (window,) = read_windows(record, window_s=10.0, keep_partial=True)
    assert window.n_samples == 2000 and window.meta["window_duration_s"] == 4.0
