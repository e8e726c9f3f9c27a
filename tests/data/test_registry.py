"""The dataset registry: names, PhysioNet paths, and locate() on temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.data import registry
from core.data.catalogs import list_catalogs, load_catalog
from core.data.download import RECORD_LISTERS
from core.errors import UnknownDatasetError, UserFacingError


def test_entries_name_their_physionet_path_version_and_catalog() -> None:
    ptbxl = registry.get("PTB-XL")
    assert ptbxl.name == "ptbxl" and ptbxl.physionet_path == "ptb-xl/1.0.3/" and ptbxl.version == "1.0.3"
    assert registry.get("ludb").physionet_path == "ludb/1.0.1/"
    assert registry.get("challenge-2021").name == "cinc2021"
    assert not registry.get("sph").downloadable and registry.get("sph").version is None
    # One list of datasets: the catalogs and the downloader both come from it.
    assert set(registry.DATASETS) <= set(list_catalogs())
    assert set(RECORD_LISTERS) == set(registry.list_datasets(downloadable=True))


def test_unknown_name_is_a_user_facing_value_error() -> None:
    with pytest.raises(UnknownDatasetError, match="known: cinc2021") as info:
        registry.get("nope")
    assert isinstance(info.value, ValueError) and isinstance(info.value, UserFacingError)


def test_locate_in_a_dataset_folder_or_a_physionet_root(tmp_path: Path) -> None:
    assert registry.locate("ludb", [tmp_path]) is None
    dataset = tmp_path / "files" / "ludb" / "1.0.1"
    dataset.mkdir(parents=True)
    assert registry.locate("ludb", [tmp_path / "files"]) is None  # the folder exists but lacks the marker file
    (dataset / "ludb.csv").write_text("ID\n1\n", encoding="utf-8")
    assert registry.locate("ludb", [tmp_path / "files"]) == dataset  # a PhysioNet files/ root
    assert registry.locate("ludb", dataset) == dataset  # the dataset folder itself
    assert registry.locate("ptbxl", [tmp_path / "files"]) is None


def test_locate_defaults_to_the_cache_then_a_local_mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache, mirror = tmp_path / "cache", tmp_path / "mirror"
    monkeypatch.setenv("ECG_DATA_DIR", str(cache))
    monkeypatch.setenv("ECG_DATA_MIRROR", "https://example.invalid/files/")
    assert registry.locate("ptbxl") is None
    in_mirror = mirror / "ptb-xl" / "1.0.3"
    in_mirror.mkdir(parents=True)
    (in_mirror / "ptbxl_database.csv").write_text("ecg_id\n", encoding="utf-8")
    assert registry.locate("ptbxl") is None  # an HTTP mirror is never read in place
    monkeypatch.setenv("ECG_DATA_MIRROR", str(mirror))
    assert registry.locate("ptbxl") == in_mirror
    in_cache = cache / "physionet" / "ptb-xl" / "1.0.3"
    in_cache.mkdir(parents=True)
    (in_cache / "ptbxl_database.csv").write_text("ecg_id\n", encoding="utf-8")
    assert registry.locate("ptbxl") == in_cache  # the cache comes first


def test_locate_finds_the_real_shared_data(shared_data: Path) -> None:
    assert registry.locate("ptbxl", [shared_data]) == shared_data / "ptb-xl" / "1.0.3"
    assert registry.locate("ludb", [shared_data]) == shared_data / "ludb" / "1.0.1"


def test_mirror_is_passed_explicitly_and_the_environment_stays(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ECG_DATA_MIRROR", "https://example.invalid/files/")  # would fail if used
    before = dict(os.environ)
    catalog = load_catalog("ludb", records=2, mirror=shared_data)
    assert len(catalog) == 2 and catalog.root == tmp_path / "cache" / "physionet" / "ludb" / "1.0.1"
    assert dict(os.environ) == before
