"""Catalogs on the real data (PTB-XL subset, LUDB, CinC-2021, SPH, WFDB samples) and a MIMIC-IV-ECG fixture."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from core.__main__ import main
from core.data.catalogs import SPLITS, Catalog, hash_split, list_catalogs, load_catalog, multi_hot
from core.data.catalogs.ludb import delineation
from core.data.catalogs.ptbxl import ptbxl_split
from core.errors import DatasetNotFoundError


@pytest.fixture(scope="module")
def ptbxl(shared_data: Path) -> Catalog:
    return load_catalog("ptbxl", root=shared_data)


@pytest.fixture(scope="module")
def ludb(shared_data: Path) -> Catalog:
    return load_catalog("ludb", root=shared_data / "ludb" / "1.0.1")


def test_registry_lists_all_catalogs():
    assert set(list_catalogs()) >= {"ptbxl", "ludb", "cinc2021", "sph", "mimic_iv_ecg", "folder"}
    with pytest.raises(ValueError, match="unknown catalog"):
        load_catalog("nope")


# ---------------------------------------------------------------------------------------------------------- PTB-XL


def test_ptbxl_records_text_and_superclasses(ptbxl: Catalog, shared_data: Path):
    assert len(ptbxl) == 500
    assert ptbxl.label_sets["superclass"] == ["CD", "HYP", "MI", "NORM", "STTC"]
    counts = Counter(label for r in ptbxl for label in r.labels["superclass"])
    # The superclass counts published with the data (shared/data/README.md).
    assert counts == {"NORM": 297, "STTC": 96, "CD": 78, "MI": 73, "HYP": 40}
    assert sum(1 for r in ptbxl if not r.labels["superclass"]) == 12

    first = ptbxl["ptbxl/00001"]
    assert first.text == "sinusrhythmus periphere niederspannung"
    assert first.labels == {
        "superclass": ["NORM"], "subclass": ["NORM"], "diagnostic": ["NORM"], "form": ["LVOLT"], "rhythm": ["SR"],
    }  # fmt: skip
    assert first.meta["scp_codes"] == {"NORM": 100.0, "LVOLT": 0.0, "SR": 0.0}  # likelihoods kept
    assert first.patient_id == "15709" and first.path.name == "00001_hr" and first.meta["fs_hz"] == 500
    # Every record has English-side text, including the one with a blank report (ecg_id 443).
    blank = ptbxl["ptbxl/00443"]
    assert blank.text == "" and blank.text_en
    assert all(r.text_en for r in ptbxl)


def test_ptbxl_text_en_is_english(ptbxl: Catalog):
    from core.text.english import to_english

    first = ptbxl["ptbxl/00001"]
    assert first.text_en == to_english(first.text)
    assert "sinusrhythmus" not in first.text_en.lower()


def test_ptbxl_label_rule_uses_every_listed_code(ptbxl: Catalog, shared_data: Path):
    statements = pd.read_csv(shared_data / "ptb-xl/1.0.3/scp_statements.csv", index_col=0)
    rhythm_codes = set(statements.index[statements["rhythm"] == 1])
    for record in ptbxl:
        expected = sorted(set(record.meta["scp_codes"]) & rhythm_codes)  # likelihood 0 included (e.g. SR: 0.0)
        assert record.labels["rhythm"] == expected
    strict = load_catalog("ptbxl", root=shared_data, min_likelihood=100)
    assert sum(bool(r.labels["superclass"]) for r in strict) < sum(bool(r.labels["superclass"]) for r in ptbxl)


def test_ptbxl_splits_follow_strat_fold_and_are_patient_disjoint(ptbxl: Catalog):
    assert [ptbxl_split(f, "15709") for f in (9, 10)] == ["test", "test"]
    assert {ptbxl_split(f, "15709") for f in range(1, 9)} <= {"train", "val"}
    for record in ptbxl:
        assert record.split == ptbxl_split(record.meta["strat_fold"], record.patient_id)
        # Folds 9-10 and only they are the held-out test set.
        assert (record.split == "test") == (record.meta["strat_fold"] >= 9)
    patients = {split: {r.patient_id for r in ptbxl.split(split)} for split in SPLITS}
    assert all(patients.values())
    assert not patients["train"] & patients["test"]
    assert not patients["train"] & patients["val"]
    assert not patients["val"] & patients["test"]
    # Some patients have several ECGs; they must all be on one side.
    repeated = [p for p, n in Counter(r.patient_id for r in ptbxl).items() if n > 1]
    assert repeated


def test_ptbxl_rate_choice_and_reading(ptbxl: Catalog, shared_data: Path):
    low = load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", rate_hz=100)
    assert low[0].path.name == "00001_lr" and low[0].meta["fs_hz"] == 100
    ecg = low.read("ptbxl/00002")
    assert ecg.signal_mv.shape == (12, 1000) and ecg.record_id == "ptbxl/00002" and ecg.lead_mask.all()


def test_multi_hot(ptbxl: Catalog):
    matrix = ptbxl.multi_hot("superclass")
    assert matrix.shape == (500, 5) and matrix.dtype == np.float32
    assert matrix[:, ptbxl.label_sets["superclass"].index("NORM")].sum() == 297
    assert (matrix.sum(axis=1) == [len(r.labels["superclass"]) for r in ptbxl]).all()
    assert multi_hot(ptbxl.records[:2], "rhythm", ["SBRAD", "SR"]).tolist() == [[0, 1], [1, 0]]
    with pytest.raises(KeyError):
        ptbxl.multi_hot("no-such-set")


# ------------------------------------------------------------------------------------------------------------ LUDB


def test_ludb_text_labels_and_split(ludb: Catalog):
    assert len(ludb) == 200
    first = ludb["ludb/1"]
    assert first.text.startswith("Rhythm: Sinus bradycardia. Electric axis of the heart: left axis deviation.")
    assert first.labels["rhythm"] == ["sinus bradycardia"]
    assert first.labels["axis"] == ["left axis deviation"]
    assert first.labels["hypertrophy"] == ["left ventricular hypertrophy", "left ventricular overload"]
    assert first.meta["sex"] == "female" and first.meta["age"] == 51
    assert set(ludb.label_sets) >= {"rhythm", "axis", "hypertrophy", "conduction", "ischemia"}
    axes = ["horizontal", "left axis deviation", "normal", "right axis deviation", "vertical"]
    assert ludb.label_sets["axis"] == axes
    assert Counter(label for r in ludb for label in r.labels["rhythm"])["atrial fibrillation"] == 15
    splits = Counter(r.split for r in ludb)
    assert set(splits) == set(SPLITS) and 0.45 < splits["train"] / 200 < 0.75


def test_ludb_delineation_matches_the_annotation_files(ludb: Catalog):
    waves = delineation(ludb["ludb/1"])
    assert list(waves) == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
    ann = wfdb.rdann(str(ludb["ludb/1"].path), "ii")
    qrs = waves["II"]["QRS"]
    assert qrs.peak.tolist() == [int(s) for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym == "N"]
    for wave in waves["II"].values():
        ok = (wave.onset >= 0) & (wave.offset >= 0)
        assert ((wave.onset[ok] < wave.peak[ok]) & (wave.peak[ok] < wave.offset[ok])).all()
    assert len(waves["II"]["P"]) > 0 and len(waves["II"]["T"]) > 0
    assert list(delineation(ludb["ludb/1"].path, leads=["v1"])) == ["V1"]


# --------------------------------------------------------------------------------------------------- CinC-2021 / SPH


def test_cinc2021_plain_folder(shared_data: Path, tmp_path: Path):
    catalog = load_catalog("cinc2021", root=shared_data / "cinc2021" / "torch_ecg_sample")
    assert len(catalog) == 50
    first = catalog["cinc2021/E07500"]
    assert first.meta["snomed_codes"] == ["67741000119109", "426177001"]
    assert first.text == "left atrial enlargement, sinus bradycardia"
    assert first.labels == {"dx": ["left atrial enlargement", "sinus bradycardia"], "scored": ["sinus bradycardia"]}
    assert Counter(r.meta["source"] for r in catalog) == {"georgia": 20, "ptb-xl": 10, "chapman_shaoxing/ningbo": 20}
    assert len(catalog.label_sets["scored"]) == 30
    assert catalog.read(first).signal_mv.shape == (12, 5000)

    # Without the mapping CSVs nearby: a clear error, fixed by passing their folder.
    lonely = tmp_path / "records"
    lonely.mkdir()
    for ext in ("hea", "mat"):
        shutil.copyfile(shared_data / "cinc2021" / "torch_ecg_sample" / f"E07500.{ext}", lonely / f"E07500.{ext}")
    with pytest.raises(DatasetNotFoundError, match="dx_mapping"):
        load_catalog("cinc2021", root=lonely)
    assert load_catalog("cinc2021", root=lonely, dx_mapping=shared_data / "cinc2021")[0].text == first.text


def test_sph(shared_data: Path):
    catalog = load_catalog("sph", root=shared_data / "sph")
    assert len(catalog) == 10
    assert catalog["sph/SPH00001"].text == "sinus bradycardia, sinus arrhythmia"
    assert catalog["sph/SPH00001"].meta["aha_codes"] == ["22", "23"]
    missing = catalog["sph/SPH00005"]
    assert missing.labels == {"dx": []} and missing.text == "" and missing.patient_id is None
    assert catalog["sph/SPH00007"].labels["dx"] == ["right bundle branch block"]
    ecg = catalog.read("sph/SPH00002")
    assert ecg.signal_mv.shape == (12, 6000) and ecg.fs_hz == 500


# ------------------------------------------------------------------------------------------------- MIMIC-IV-ECG


MIMIC_FILE_ORDER = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]


def _write_mimic_fixture(root: Path) -> dict[str, np.ndarray]:
    """Three studies of two subjects in MIMIC-IV-ECG's layout; leads stored with aVF before aVL, as MIMIC does."""
    rows, reports, signals = [], [], {}
    rng = np.random.default_rng(0)
    for subject, study in (("10000032", "40689238"), ("10000032", "40689239"), ("10000117", "45090959")):
        rel = f"files/p{subject[:4]}/p{subject}/s{study}"
        folder = root / rel
        folder.mkdir(parents=True)
        t = np.arange(5000) / 500
        # Each lead gets its own frequency, so a swapped lead is detectable.
        sig = np.stack([np.sin(2 * np.pi * (1 + k) * t) * (0.5 + 0.1 * k) for k in range(12)], axis=1)
        sig += 0.01 * rng.standard_normal(sig.shape)
        wfdb.wrsamp(study, fs=500, units=["mV"] * 12, sig_name=MIMIC_FILE_ORDER, p_signal=sig, fmt=["16"] * 12,
                    write_dir=str(folder))  # fmt: skip
        signals[study] = sig
        rows.append({"subject_id": subject, "study_id": study, "file_name": study, "ecg_time": "2180-07-23 08:44:00",
                     "path": f"{rel}/{study}"})  # fmt: skip
        report = {f"report_{i}": None for i in range(18)}
        report.update(report_0="Sinus rhythm", report_1="Possible left atrial abnormality", report_2="Borderline ECG")
        reports.append({"subject_id": subject, "study_id": study, "cart_id": 6848296, **report, "rr_interval": 659})
    pd.DataFrame(rows).to_csv(root / "record_list.csv", index=False)
    pd.DataFrame(reports).to_csv(root / "machine_measurements.csv", index=False)
    return signals


def test_mimic_iv_ecg_layout_orders_leads_by_name(tmp_path: Path):
    root = tmp_path / "mimic-iv-ecg" / "1.0"
    signals = _write_mimic_fixture(root)
    catalog = load_catalog("mimic_iv_ecg", root=tmp_path)  # a PhysioNet files/ root is accepted too
    assert [r.record_id for r in catalog] == [
        "mimic_iv_ecg/40689238", "mimic_iv_ecg/40689239", "mimic_iv_ecg/45090959",
    ]  # fmt: skip
    first = catalog[0]
    assert first.text == "Sinus rhythm. Possible left atrial abnormality. Borderline ECG."
    assert first.patient_id == "10000032" and first.meta["measurements"]["rr_interval"] == 659
    assert catalog[0].split == catalog[1].split  # same subject -> same split

    ecg = catalog.read(first)
    written = signals["40689238"]
    np.testing.assert_allclose(ecg.lead("aVL"), written[:, MIMIC_FILE_ORDER.index("aVL")], atol=2e-3)
    np.testing.assert_allclose(ecg.lead("aVF"), written[:, MIMIC_FILE_ORDER.index("aVF")], atol=2e-3)
    assert ecg.signal_mv[4] == pytest.approx(written[:, 5], abs=2e-3)  # canonical row 4 is aVL = file column 5


# ---------------------------------------------------------------------------------------------------------- folder


def test_folder_of_wfdb_records(shared_data: Path):
    catalog = load_catalog("folder", root=shared_data / "wfdb_sample_data")
    assert [r.record_id for r in catalog] == ["folder/100", "folder/s0010_re"]
    assert "Aldomet, Inderal" in catalog[0].text
    assert "Myocardial infarction" in catalog[1].text
    ecg = catalog.read("folder/s0010_re")
    assert ecg.lead_mask.all() and ecg.signal_mv.shape[0] == 12
    with pytest.raises(DatasetNotFoundError):
        load_catalog("folder")


# ----------------------------------------------------------------------------------------------------------- splits


def test_hash_split_is_deterministic_and_proportional():
    keys = [f"patient-{i}" for i in range(5000)]
    first = [hash_split(k) for k in keys]
    assert first == [hash_split(k) for k in keys]
    shares = Counter(first)
    assert abs(shares["train"] / 5000 - 0.55) < 0.03
    assert abs(shares["val"] / 5000 - 0.05) < 0.015
    assert abs(shares["test"] / 5000 - 0.40) < 0.03
    # The held-out set is unchanged by the move from 60/10/30 (val + test held out) to 55/5/40 (test held out):
    # the same keys are held out, so nothing trained on under the old split is scored under the new one.
    old = [hash_split(k, fractions=(0.6, 0.1, 0.3)) for k in keys]
    assert [s == "test" for s in first] == [s in ("val", "test") for s in old]
    assert hash_split("ludb/1") == "train" or hash_split("ludb/1") in SPLITS
    assert [hash_split(k, fractions=(0, 0, 1)) for k in keys[:10]] == ["test"] * 10
    with pytest.raises(ValueError):
        hash_split("x", fractions=(0.5, 0.5, 0.5))


# -------------------------------------------------------------------------------------------------------------- CLI


def test_cli_catalog(shared_data: Path, capsys):
    assert main(["catalog", "ptbxl", "--root", str(shared_data), "--limit", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("ptbxl/00001\ttrain\tsuperclass=NORM")
    assert "per split: train 325, val 28, test 147" in out  # folds 9-10: 147 records
    assert "superclass: NORM 297, STTC 96, CD 78, MI 73, HYP 40 (no label: 12)" in out
    assert main(["catalog", "ludb", "--root", str(shared_data), "--limit", "0", "--split", "test"]) == 0
    assert "ludb: " in capsys.readouterr().out
