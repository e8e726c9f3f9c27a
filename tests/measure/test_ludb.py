"""Real-data checks on LUDB: reference from the annotations, out-of-fold measurement, validation, CLI."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from core.measure import ludb
from core.measure.delineator import read_config

RECORDS = (1, 2, 3)


@pytest.fixture(scope="module")
def ludb_dir(shared_data: Path) -> Path:
    path = shared_data / "ludb" / "1.0.1"
    if not (path / "data" / "1.hea").is_file():
        pytest.skip("LUDB not in shared data")
    return path


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


def test_measure_cli_prints_sentence(ludb_dir: Path, capsys: pytest.CaptureFixture[str]):
    from core.measure import cli

    code = cli.run(argparse.Namespace(file=ludb_dir / "data" / "1.hea", fs=None, json=False))
    out = capsys.readouterr().out
    assert code == 0
    assert "Heart rate" in out and "bpm" in out and "hr_bpm" in out


def test_validate_cli_prints_table(ludb_dir: Path, capsys: pytest.CaptureFixture[str]):
    from core.measure import validate

    args = argparse.Namespace(ludb=ludb_dir, records=["1-2"], model="oof", method="unet", fs=500.0, json=None)
    assert validate.run(args) == 0
    out = capsys.readouterr().out
    assert "qrs_ms" in out and "median|err|" in out and "2 records" in out
