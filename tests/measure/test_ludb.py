"""Real-data checks on LUDB: reference from the annotations, out-of-fold measurement, validation, CLI."""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import pytest

from core.measure import ludb
from core.measure.delineator import read_config

RECORDS = (1, 2, 3)
# sha256 of (labels, spans, QRS peaks) and of the signal of LUDB records 1-3 as read by core.measure's own annotation
# parser and wfdb signal reader before both were replaced by the LUDB catalog's (core.data.catalogs.ludb); all 200
# records were compared the same way when the change was made.
EXPECTED_SHA256 = {
    1: (
        "5b93c0090b25b187ef8990ed24571a5f0f4b8edb72acf0bb5a9bf0ba584c1c2e",
        "65138a2f2063afba2eee13cf2dc854bffd71b76edd2f6d6cb75df274efb36182",
    ),
    2: (
        "12d85a104ced5ae65d96fc2ab434956306ff8a3d1668dce43b0621bdcb47b920",
        "d37f2d62306d1916bc6c2ea007508e4e0e845d91e4eeb2810c62a3db83a92ae7",
    ),
    3: (
        "960ad6a5f2c5aab56d5a7d00014b9837549c9442d52a27b384b51f42e002755a",
        "e09f911b52d276aae762c2f4ffcf391496a9ae3fd415bb26b8e1886debec7804",
    ),
}


@pytest.fixture(scope="module")
def ludb_dir(shared_data: Path) -> Path:
    path = shared_data / "ludb" / "1.0.1"
    if not (path / "data" / "1.hea").is_file():
        pytest.skip("LUDB not in shared data")
    return path


def _sha256(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(str(array.shape).encode() + str(array.dtype).encode())
    return digest.hexdigest()


@pytest.mark.parametrize("record", RECORDS)
def test_labels_and_signal_equal_the_former_reader(ludb_dir: Path, record: int):
    """Labels as the former reader read them; the signal as it read it, each lead then multiplied by its stored gain
    over the gains' geometric mean (measure v2.9, :mod:`core.data.lead_scaling`: LUDB's gains make every lead span
    exactly 1 mV), the signal hash still pinning the former reading."""
    import wfdb

    signal = ludb.read_signal(ludb_dir, record)
    ann = ludb.read_annotation(ludb_dir, record, n_samples=signal.shape[1])
    labels_sha, signal_sha = EXPECTED_SHA256[record]
    assert _sha256(ann.labels, ann.spans, *ann.qrs_peaks) == labels_sha
    stored = wfdb.rdrecord(str(ludb_dir / "data" / str(record)), physical=True)
    former = stored.p_signal.T.astype(np.float32)
    # The hash covers bytes only (no shape/dtype suffix), as it was recorded.
    assert hashlib.sha256(former.tobytes() + str(former.shape).encode() + str(former.dtype).encode()).hexdigest() == (
        signal_sha
    )
    gains = np.asarray(stored.adc_gain)
    factors = gains / np.exp(np.mean(np.log(gains)))
    np.testing.assert_allclose(signal, former * factors[:, None].astype(np.float32), rtol=1e-5, atol=1e-6)


def test_ludb_is_found_through_the_registry(ludb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECG_DATA_MIRROR", "https://example.invalid/files/")
    assert ludb.default_ludb_dir() is None  # product code never guesses a folder next to the repository
    assert ludb.default_ludb_dir([ludb_dir.parents[1]]) == ludb_dir
    monkeypatch.setenv("ECG_DATA_MIRROR", str(ludb_dir.parents[1]))  # a local PhysioNet-layout folder
    assert ludb.default_ludb_dir() == ludb_dir


def test_reference_of_record_1(ludb_dir: Path):
    ann = ludb.read_annotation(ludb_dir, 1)
    assert ann.labels.shape == (12, 5000)
    assert (ann.labels[:, :500] == ludb.IGNORE).all()  # the first second is not annotated
    ref = ludb.reference_measurements(ann)
    # Record 1: sinus bradycardia (LUDB diagnosis), left ventricular hypertrophy.
    assert ref["hr_bpm"] == pytest.approx(45.4, abs=0.5)
    assert 80 <= ref["qrs_ms"] <= 130  # 4-of-12-leads global QRS (the union of the leads gives more)
    assert 120 <= ref["pr_ms"] <= 200
    assert 450 <= ref["qt_ms"] <= 600
    assert ludb.read_axis_label(ludb_dir, 1) == "left axis deviation"


def test_out_of_fold_validation_on_three_records(ludb_dir: Path):
    from core.measure.validate import COMPARED, validate_records

    folds = read_config()["folds"]
    result = validate_records(ludb_dir, list(RECORDS), model="oof")
    assert [r["record"] for r in result.rows] == list(RECORDS)
    summary = result.summary()
    tolerance = {"hr_bpm": 2.0, "pr_ms": 40.0, "qrs_ms": 30.0, "qt_ms": 60.0}
    for name in COMPARED:
        assert summary[name]["n_measured"] >= 2, name
        assert summary[name]["median_abs_error"] <= tolerance[name], (name, summary[name], folds)
        # The signed median error keeps the direction: median of (measured - reference).
        signed = [r[f"meas_{name}"] - r[f"ref_{name}"] for r in result.rows if r[f"meas_{name}"] is not None]
        assert summary[name]["median_error"] == pytest.approx(float(np.median(signed)))
    assert summary["pr_ms"]["median_error"] < 0  # PR reads short of LUDB's earliest-lead reference (README)


def test_measure_cli_prints_sentence(ludb_dir: Path, capsys: pytest.CaptureFixture[str]):
    from core.measure import cli

    code = cli.run(argparse.Namespace(file=ludb_dir / "data" / "1.hea", fs=None, json=False))
    out = capsys.readouterr().out
    assert code == 0
    assert "Heart rate" in out and "bpm" in out and "hr_bpm" in out


def test_validate_cli_prints_table(ludb_dir: Path, capsys: pytest.CaptureFixture[str]):
    from core.measure import validate

    args = argparse.Namespace(
        ludb=ludb_dir, records=["1-2"], model="oof", method="unet", fs=500.0, json=None, plausibility=False
    )
    assert validate.run(args) == 0
    out = capsys.readouterr().out
    assert "qrs_ms" in out and "median|err|" in out and "2 records" in out
