"""Several folders per dataset, the PTB-XL / hash split rules, and ECGs shared by PTB-XL and CinC-2021 (real data)."""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.signal import resample_poly

from core.__main__ import main
from core.data.catalogs import Catalog, load_catalog
from core.data.catalogs.base import merge_catalogs, split_roots
from core.data.catalogs.overlap import find_ptbxl_metadata, ptbxl_twin_id, reconcile
from core.data.catalogs.ptbxl import ptbxl_split, split_table
from core.evaluate.data import HELD_OUT_SPLITS, load_eval_data
from core.recipes.data import parse_roots

TWIN = 17691  # PTB-XL ecg_id 17691 (ptbxl_more, strat_fold 8) is CinC-2021 record HR17691 (cinc2021_more)


@pytest.fixture(scope="module")
def ptbxl_roots(shared_data: Path) -> list[Path]:
    return [shared_data / "ptb-xl" / "1.0.3", shared_data / "ptbxl_more"]


@pytest.fixture(scope="module")
def cinc_roots(shared_data: Path) -> list[Path]:
    return [shared_data / "cinc2021", shared_data / "cinc2021_more"]


@pytest.fixture(scope="module")
def ptbxl(ptbxl_roots: list[Path]) -> Catalog:
    return load_catalog("ptbxl", root="+".join(map(str, ptbxl_roots)))


@pytest.fixture(scope="module")
def cinc(cinc_roots: list[Path]) -> Catalog:
    return load_catalog("cinc2021", root=cinc_roots)


# ------------------------------------------------------------------------------------------------- several roots


def test_merged_ptbxl_has_every_ecg_id_of_both_folders_once(ptbxl: Catalog, ptbxl_roots: list[Path]):
    ids = [set(pd.read_csv(root / "ptbxl_database.csv")["ecg_id"]) for root in ptbxl_roots]
    assert [len(i) for i in ids] == [500, 2230]
    expected = ids[0] | ids[1]
    assert len(expected) == 2730  # the folders do not overlap
    assert len(ptbxl) == 2730 and {r.meta["ecg_id"] for r in ptbxl} == expected
    assert [r.record_id for r in ptbxl][:1] == ["ptbxl/00001"] and len({r.record_id for r in ptbxl}) == 2730
    assert ptbxl.roots == tuple(ptbxl_roots) and ptbxl.root == ptbxl_roots[0]
    # ptbxl_more has 100 Hz files only (its filename_hr points nowhere); the first folder has both rates.
    more = ptbxl[f"ptbxl/{TWIN:05d}"]
    assert more.meta["fs_hz"] == 100 and more.path == ptbxl_roots[1] / "records100" / "17000" / "17691_lr"
    assert ptbxl["ptbxl/00001"].meta["fs_hz"] == 500
    assert ptbxl.read(more).signal_mv.shape == (12, 1000)


def test_identical_ids_are_kept_once(ptbxl_roots: list[Path], caplog):
    caplog.set_level(logging.INFO, logger="core.data.catalogs.base")
    first = load_catalog("ptbxl", root=ptbxl_roots[0])
    again = load_catalog("ptbxl", root=ptbxl_roots[0], rate_hz=100)
    merged = merge_catalogs([first, again])
    assert len(merged) == 500 and merged["ptbxl/00001"].meta["fs_hz"] == 500  # the first folder's copy wins
    assert "500 records found in more than one folder" in caplog.text
    with pytest.raises(ValueError, match="cannot merge"):
        merge_catalogs([first, load_catalog("ludb", root=ptbxl_roots[0].parents[1] / "ludb" / "1.0.1")])


def test_root_syntax(shared_data: Path, tmp_path: Path):
    assert split_roots(None) == []
    assert split_roots("a+b+a") == [Path("a"), Path("b")]
    plus = tmp_path / "x+y"
    plus.mkdir()
    assert split_roots(str(plus)) == [plus]  # an existing folder whose name has a '+' is one folder
    roots = parse_roots("ptbxl=A+B,cinc2021=C", ["ptbxl", "ludb", "cinc2021"])
    assert roots == {"ptbxl": [Path("A"), Path("B")], "ludb": None, "cinc2021": [Path("C")]}
    assert parse_roots("D,ptbxl=A+B", ["ptbxl", "ludb"]) == {"ptbxl": [Path("A"), Path("B")], "ludb": [Path("D")]}
    assert parse_roots(str(shared_data), ["ludb"]) == {"ludb": [shared_data]}
    with pytest.raises(ValueError, match="not in --data"):
        parse_roots("sph=A", ["ptbxl"])


def test_evaluation_spec_takes_several_folders(ptbxl_roots: list[Path]):
    data = load_eval_data("ptbxl=" + "+".join(map(str, ptbxl_roots)))
    assert HELD_OUT_SPLITS == ("test",)
    assert len(data.catalog) == 2730
    assert {r.meta["strat_fold"] for r in data.held_out} == {9, 10}
    assert len(data.held_out) == sum(r.meta["strat_fold"] >= 9 for r in data.catalog)
    assert all(r.split == "train" for r in data.train)


# ------------------------------------------------------------------------------------------------------ splits


def test_ptbxl_split_rule_on_both_folders(ptbxl: Catalog):
    by_split = {s: [r for r in ptbxl if r.split == s] for s in ("train", "val", "test")}
    assert {r.meta["strat_fold"] for r in by_split["test"]} == {9, 10}
    assert all(r.meta["strat_fold"] <= 8 for r in by_split["train"] + by_split["val"])
    patients = {s: {r.patient_id for r in records} for s, records in by_split.items()}
    assert not patients["val"] & patients["train"] and not patients["val"] & patients["test"]
    assert not patients["train"] & patients["test"]
    share = len(by_split["val"]) / (len(by_split["val"]) + len(by_split["train"]))
    assert 0.06 < share < 0.14, share  # ~10 % of folds 1-8, by patient
    assert all(r.split == ptbxl_split(r.meta["strat_fold"], r.patient_id) for r in ptbxl)


def test_split_table_applies_the_same_rule(ptbxl: Catalog, ptbxl_roots: list[Path]):
    table = split_table([root / "ptbxl_database.csv" for root in ptbxl_roots])
    assert len(table) == 2730 and all(table[r.meta["ecg_id"]] == r.split for r in ptbxl)


# ------------------------------------------------------------------------------------------- the same ECG twice


def test_hr17691_is_the_same_ecg_as_ptbxl_17691(ptbxl: Catalog, cinc: Catalog):
    """ptbxl_more's records were made from 500 Hz arrays by resample_poly(x, 1, 5) and rounding to 1 uV
    (shared/data/README.md); the CinC copy at 500 Hz, resampled the same way, matches to that rounding."""
    copy, twin = cinc.read(f"cinc2021/HR{TWIN}"), ptbxl.read(f"ptbxl/{TWIN:05d}")
    assert copy.lead_names == twin.lead_names and copy.fs_hz == 500 and twin.fs_hz == 100
    np.testing.assert_allclose(resample_poly(copy.signal_mv, 1, 5, axis=1), twin.signal_mv, atol=5.01e-4)


def test_hr_record_takes_its_ptbxl_split(ptbxl: Catalog, cinc: Catalog, shared_data: Path):
    twin, copy = ptbxl[f"ptbxl/{TWIN:05d}"], cinc[f"cinc2021/HR{TWIN}"]
    assert twin.meta["strat_fold"] == 8 and twin.split in ("train", "val")
    assert ptbxl_twin_id(copy) == TWIN and copy.split == twin.split and copy.meta["ptbxl_ecg_id"] == TWIN
    # No HR record can be trained on unless PTB-XL metadata puts its ecg_id in folds 1-8.
    table = split_table(find_ptbxl_metadata(shared_data / "cinc2021_more"))
    for record in cinc:
        ecg_id = ptbxl_twin_id(record)
        if ecg_id is not None:
            assert record.split == table.get(ecg_id, "test")
    hr = [r for r in cinc if ptbxl_twin_id(r) is not None]
    assert len(hr) == 29 and Counter(r.split for r in hr)["test"] >= 20  # most ecg_ids are in no metadata here


def test_hr_record_without_ptbxl_metadata_is_held_out(shared_data: Path, tmp_path: Path):
    lonely = tmp_path / "records"
    lonely.mkdir()
    folder = next((shared_data / "cinc2021_more").rglob(f"HR{TWIN}.hea")).parent
    for ext in ("hea", "mat"):
        shutil.copyfile(folder / f"HR{TWIN}.{ext}", lonely / f"HR{TWIN}.{ext}")
    mapping = shared_data / "cinc2021"
    assert load_catalog("cinc2021", root=lonely, dx_mapping=mapping)[0].split == "test"
    given = load_catalog(
        "cinc2021", root=lonely, dx_mapping=mapping, ptbxl_metadata=[shared_data / "ptbxl_more" / "ptbxl_database.csv"]
    )
    assert given[0].split == load_catalog("ptbxl", root=shared_data / "ptbxl_more")[f"ptbxl/{TWIN:05d}"].split


def test_reconcile_keeps_one_copy_on_one_side(ptbxl: Catalog, cinc: Catalog, shared_data: Path):
    ludb = load_catalog("ludb", root=shared_data / "ludb" / "1.0.1")
    together = reconcile({"ptbxl": ptbxl, "ludb": ludb, "cinc2021": cinc})
    assert together["ptbxl"] is ptbxl and together["ludb"] is ludb
    assert f"cinc2021/HR{TWIN}" not in {r.record_id for r in together["cinc2021"]}
    assert len(together["cinc2021"]) == len(cinc) - 1  # HR17691 is the only HR record whose PTB-XL file is here

    def ecg_ids(split: str) -> Counter:
        return Counter(
            r.meta["ecg_id"] if r.dataset == "ptbxl" else ptbxl_twin_id(r)
            for c in together.values()
            for r in c.split(split)
            if r.dataset == "ptbxl" or ptbxl_twin_id(r) is not None
        )

    trained = ecg_ids("train") + ecg_ids("val")
    assert trained[TWIN] == 1 and max(trained.values()) == 1  # no PTB-XL ECG twice in training
    assert not set(trained) & set(ecg_ids("test"))  # and none on both sides
    # CinC alone (no PTB-XL loaded): nothing is dropped.
    assert reconcile({"cinc2021": cinc})["cinc2021"] is cinc


# ------------------------------------------------------------------------------------------------------------ CLI


def test_cli_catalog_with_two_folders(ptbxl_roots: list[Path], cinc_roots: list[Path], capsys):
    root = "+".join(map(str, ptbxl_roots))
    assert main(["catalog", "ptbxl", "--root", root, "--limit", "0", "--no-download"]) == 0
    out = capsys.readouterr().out
    assert "ptbxl: 2730 records in" in out
    assert "per split: train 2131, val 200, test 399" in out  # test: folds 9-10 (147 + 252)
    assert "superclass: NORM 1319, STTC 635, MI 594, CD 544, HYP 315 (no label: 56)" in out
