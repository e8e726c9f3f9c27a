"""ECGTextDataset: items, the sharded float16 cache (build once, keyed by records and preprocessing), labels."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from core.data.catalogs import Catalog, load_catalog
from core.data.dataset import ECGTextDataset, cache_key
from core.data.preprocess import PreprocessConfig, preprocess


@pytest.fixture(scope="module")
def ludb(shared_data: Path) -> Catalog:
    return load_catalog("ludb", root=shared_data / "ludb" / "1.0.1")


@pytest.fixture(scope="module")
def cinc(shared_data: Path) -> Catalog:
    return load_catalog("cinc2021", root=shared_data / "cinc2021" / "torch_ecg_sample")


def test_items_and_cache_file(ludb: Catalog, tmp_path: Path):
    records = ludb.records[:12]
    calls = []
    ds = ECGTextDataset(records, ludb, PreprocessConfig(), tmp_path, progress=lambda p, desc=None: calls.append(p))
    assert len(ds) == 12 and ds.is_cached()
    assert calls[-1] == (12, 12)

    item = ds[5]
    assert set(item) == {"signal", "lead_mask", "text", "record_id", "index"}
    assert item["signal"].shape == (12, 1000) and item["signal"].dtype == torch.float32
    assert item["lead_mask"].dtype == torch.bool and item["lead_mask"].all()
    assert item["record_id"] == "ludb/6" and item["index"] == 5
    assert item["text"] == records[5].text_en and item["text"].startswith("Rhythm:")

    stored = np.load(ds.cache_path / "shard-00000.npy", mmap_mode="r")
    assert stored.dtype == np.float16 and stored.shape == (12, 12, 1000)
    assert isinstance(stored, np.memmap)
    assert ds.signals.shape == (12, 12, 1000) and ds.lead_masks.shape == (12, 12) and ds.lead_masks.all()
    np.testing.assert_array_equal(np.asarray(ds.signals), stored)
    # The cache holds the preprocessing output, to float16 precision.
    direct = preprocess(ludb.read(records[5]), PreprocessConfig())
    np.testing.assert_allclose(item["signal"].numpy(), direct, atol=5e-3, rtol=1e-3)


def test_cache_is_built_once_and_reused(ludb: Catalog, tmp_path: Path):
    records = ludb.records[:6]
    ECGTextDataset(records, ludb, PreprocessConfig(), tmp_path)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    mtime = next(tmp_path.glob("shards-*/shard-00000.npy")).stat().st_mtime_ns

    calls = []
    again = ECGTextDataset(records, ludb, PreprocessConfig(), tmp_path, progress=lambda p, desc=None: calls.append(p))
    assert calls == []  # nothing rebuilt
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == files
    assert next(tmp_path.glob("shards-*/shard-00000.npy")).stat().st_mtime_ns == mtime
    assert again[0]["record_id"] == "ludb/1"
    # the shard folder and its lock; in the folder one shard (signals, masks, skip list, manifest) and the index,
    # no temporary files
    names = sorted(Path(f).name for f in files)
    assert names == sorted(
        [
            f"shards-{again.key}",
            f"shards-{again.key}.lock",
            "index.json",
            "shard-00000.json",
            "shard-00000.mask.npy",
            "shard-00000.npy",
            "shard-00000.skipped.json",
        ]
    )


def test_cache_key_depends_on_records_preprocessing_and_catalog_version(ludb: Catalog):
    records = ludb.records[:4]
    base = cache_key(records, PreprocessConfig(), ludb.cache_tag)
    assert base == cache_key(list(records), PreprocessConfig(), ludb.cache_tag)
    assert base != cache_key(records[:3], PreprocessConfig(), ludb.cache_tag)
    assert base != cache_key(records[::-1], PreprocessConfig(), ludb.cache_tag)
    assert base != cache_key(records, PreprocessConfig(fs_hz=250), ludb.cache_tag)
    assert base != cache_key(records, PreprocessConfig(normalize="none"), ludb.cache_tag)
    assert ludb.cache_tag == "ludb@2"
    assert base != cache_key(records, PreprocessConfig(), "ludb@3")
    assert base != cache_key(records, PreprocessConfig(), ludb.cache_tag, shard_size=2)


def test_uncached_path_matches_the_cache(ludb: Catalog, tmp_path: Path):
    records = ludb.records[10:14]
    cfg = PreprocessConfig(fs_hz=250, duration_s=8)
    cached = ECGTextDataset(records, ludb, cfg, tmp_path)
    live = ECGTextDataset(records, ludb, cfg, cache=False)
    assert not list(Path(live.cache_dir).glob(f"shards-{live.key}*"))
    for i in range(len(records)):
        a, b = cached[i], live[i]
        assert a["signal"].shape == (12, 2000)
        np.testing.assert_allclose(a["signal"].numpy(), b["signal"].numpy(), atol=5e-3, rtol=1e-3)
        assert torch.equal(a["lead_mask"], b["lead_mask"]) and a["text"] == b["text"]


def test_default_cache_dir_is_under_data_dir(ludb: Catalog, data_dir: Path):
    ds = ECGTextDataset(ludb.records[:2], ludb, PreprocessConfig())
    assert ds.cache_path.parent == data_dir / "cache" and (ds.cache_path / "index.json").is_file()


def test_labels_multi_hot_and_batches(cinc: Catalog, tmp_path: Path):
    records = cinc.records[:8]
    ds = ECGTextDataset(records, cinc, PreprocessConfig(), tmp_path, label_set="scored")
    vocab = cinc.label_sets["scored"]
    for i, record in enumerate(records):
        labels = ds[i]["labels"]
        assert labels.shape == (len(vocab),)
        assert sorted(vocab[j] for j in torch.nonzero(labels).flatten().tolist()) == record.labels["scored"]
    batch = next(iter(DataLoader(ds, batch_size=4)))
    assert batch["signal"].shape == (4, 12, 1000) and batch["lead_mask"].shape == (4, 12)
    assert batch["labels"].shape == (4, len(vocab)) and len(batch["text"]) == 4
    assert batch["record_id"] == [r.record_id for r in records[:4]]
    # Workers get a pickled copy: the memmap is re-opened there, not pickled.
    clone = pickle.loads(pickle.dumps(ds))
    assert torch.equal(clone[3]["signal"], ds[3]["signal"])


def test_missing_leads_are_masked(shared_data: Path, tmp_path: Path):
    folder = load_catalog("folder", root=shared_data / "wfdb_sample_data")
    ds = ECGTextDataset([folder["folder/100"]], folder, PreprocessConfig(), tmp_path)  # MIT-BIH: MLII and V5 only
    item = ds[0]
    assert item["lead_mask"].tolist() == [
        name in ("II", "V5") for name in ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    ]
    assert float(item["signal"][0].abs().max()) == 0.0 and float(item["signal"][1].std()) > 0.5


def test_records_from_several_catalogs(ludb: Catalog, cinc: Catalog, tmp_path: Path):
    records = ludb.records[:2] + cinc.records[:2]
    ds = ECGTextDataset(records, [ludb, cinc], PreprocessConfig(), tmp_path, text_fn=lambda r: r.dataset.upper())
    assert [ds[i]["record_id"] for i in range(4)] == ["ludb/1", "ludb/2", "cinc2021/E07500", "cinc2021/E07501"]
    assert ds[3]["text"] == "CINC2021"
    with pytest.raises(KeyError, match="no catalog"):
        ECGTextDataset(records, [ludb], PreprocessConfig(), tmp_path)
    with pytest.raises(TypeError):
        ECGTextDataset(records, None)
