"""The sharded preprocessing cache (core/data/shards.py): workers, resume after a failure or a kill, byte-identical
shards, skip lists for unreadable records, and the dataset reading through the shards."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from core.data.catalogs import Catalog, load_catalog
from core.data.dataset import ECGTextDataset
from core.data.preprocess import PreprocessConfig, preprocess
from core.data.shards import ShardedSignals, ShardFiles, build_shards, read_index

REPO_ROOT = Path(__file__).resolve().parents[2]
CFG = PreprocessConfig()


@pytest.fixture(scope="module")
def ptbxl_more(shared_data: Path) -> Catalog:
    return load_catalog("ptbxl", root=shared_data / "ptbxl_more")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


class FailAt:
    """A reader that raises a non-skippable error (a stand-in for a crash) at one record."""

    def __init__(self, catalog: Catalog, record_id: str):
        self.catalog, self.record_id = catalog, record_id

    def __call__(self, record):
        if record.record_id == self.record_id:
            raise RuntimeError("simulated crash")
        return self.catalog.read(record)


def test_two_workers_write_the_same_bytes_as_one_process(ptbxl_more: Catalog, tmp_path: Path):
    records = ptbxl_more.records[:10]
    kwargs = {"key": "k", "tag": "ptbxl@test", "shard_size": 4}
    index = build_shards(records, ptbxl_more.read, CFG, tmp_path / "one", workers=0, **kwargs)
    build_shards(records, ptbxl_more.read, CFG, tmp_path / "two", workers=2, **kwargs)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert index["n_records"] == index["n_kept"] == 10 and [s["n_kept"] for s in index["shards"]] == [4, 4, 2]
    manifest = json.loads(ShardFiles(tmp_path / "one", 2).manifest.read_text())
    assert manifest["record_ids"] == [r.record_id for r in records[8:]]
    assert manifest["preprocess"] == CFG.to_dict() and len(manifest["preprocess_hash"]) == 16
    assert np.load(ShardFiles(tmp_path / "one", 1).signals).shape == (4, 12, 1000)


def test_a_failed_run_resumes_and_matches_an_uninterrupted_one(ptbxl_more: Catalog, tmp_path: Path):
    records = ptbxl_more.records[:12]
    kwargs = {"key": "k", "tag": "ptbxl@test", "shard_size": 3}
    build_shards(records, ptbxl_more.read, CFG, tmp_path / "clean", workers=0, **kwargs)

    # The crash hits shard 2 (records 6-8); with two workers, shards 0 and 1 are finished or in flight.
    with pytest.raises(RuntimeError, match="simulated crash"):
        build_shards(records, FailAt(ptbxl_more, records[7].record_id), CFG, tmp_path / "run", workers=2, **kwargs)
    resumed = tmp_path / "run"
    assert read_index(resumed, "k") is None  # incomplete: no index
    assert not ShardFiles(resumed, 2).manifest.exists()
    finished = {p.name: p.stat().st_mtime_ns for p in resumed.glob("shard-*.json")}
    assert finished and "shard-00000.json" in finished

    seen: list[str] = []

    def counting_read(record):
        seen.append(record.record_id)
        return ptbxl_more.read(record)

    build_shards(records, counting_read, CFG, resumed, workers=0, **kwargs)
    done_before = {int(name[6:11]) for name in finished}
    assert not set(seen) & {records[i].record_id for s in done_before for i in range(3 * s, 3 * s + 3)}
    assert {p.name: p.stat().st_mtime_ns for p in resumed.glob("shard-*.json") if p.name in finished} == finished
    assert _files(resumed) == _files(tmp_path / "clean")


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from core.data.catalogs import load_catalog
from core.data.preprocess import PreprocessConfig
from core.data.shards import build_shards

catalog = load_catalog("ptbxl", root=Path(sys.argv[1]))
def slow_read(record):
    time.sleep(0.25)  # slow enough to be killed between shards
    return catalog.read(record)
build_shards(catalog.records[:8], slow_read, PreprocessConfig(), Path(sys.argv[2]), key="k", tag="t", shard_size=2,
             workers=1)
"""


def test_a_killed_run_resumes_to_byte_identical_shards(ptbxl_more: Catalog, shared_data: Path, tmp_path: Path):
    folder = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, str(shared_data / "ptbxl_more"), str(folder)],
        env=env,
        start_new_session=True,  # its own process group: the kill reaches the worker process too
    )
    try:
        deadline = time.monotonic() + 120
        while not ShardFiles(folder, 0).manifest.exists():
            assert proc.poll() is None, "the build ended before it could be killed"
            assert time.monotonic() < deadline, "no shard finished within 120 s"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert read_index(folder, "k") is None and not ShardFiles(folder, 3).manifest.exists()
    first = ShardFiles(folder, 0).signals.stat().st_mtime_ns

    records = ptbxl_more.records[:8]
    build_shards(records, ptbxl_more.read, CFG, folder, key="k", tag="t", shard_size=2, workers=0)
    build_shards(records, ptbxl_more.read, CFG, tmp_path / "clean", key="k", tag="t", shard_size=2, workers=0)
    assert ShardFiles(folder, 0).signals.stat().st_mtime_ns == first  # kept, not rebuilt
    leftovers = [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]
    for name in leftovers:  # a temporary file of the killed write may remain; it is never read
        (folder / name).unlink()
    assert _files(folder) == _files(tmp_path / "clean")


def test_a_corrupt_file_is_skipped_with_its_reason(shared_data: Path, tmp_path: Path, caplog, monkeypatch):
    folder = tmp_path / "records"
    folder.mkdir()
    source = shared_data / "ptbxl_more" / "records100" / "00000"
    names = sorted(p.stem for p in source.glob("*.hea"))[:3]
    for name in names:
        for suffix in (".hea", ".dat"):
            shutil.copy(source / f"{name}{suffix}", folder / f"{name}{suffix}")
    # A truncated signal file: the header promises 1000 samples x 12 leads, the file holds 100 bytes.
    broken = names[1]
    (folder / f"{broken}.dat").write_bytes((source / f"{broken}.dat").read_bytes()[:100])
    catalog = load_catalog("folder", root=folder)
    assert len(catalog) == 3

    with caplog.at_level(logging.WARNING, logger="core.data.shards"):
        ds = ECGTextDataset(catalog, cache_dir=tmp_path / "cache", shard_size=2, workers=0)
    assert len(ds) == 2 and [r.record_id for r in ds.records] == [f"folder/{names[0]}", f"folder/{names[2]}"]
    assert [s["record_id"] for s in ds.skipped] == [f"folder/{broken}"]
    assert ds.skipped[0]["position"] == 1 and ds.skipped[0]["reason"].startswith("ECGCorruptError")
    on_disk = json.loads(ShardFiles(ds.cache_path, 0).skipped.read_text())
    assert on_disk == ds.skipped and json.loads(ShardFiles(ds.cache_path, 1).skipped.read_text()) == []
    assert any(f"folder/{broken}" in m and "ECGCorruptError" in m for m in caplog.messages)
    # The rows line up with the records kept.
    for i, record in enumerate(ds.records):
        assert ds[i]["record_id"] == record.record_id
        expected = preprocess(catalog.read(record), CFG).astype(np.float16).astype(np.float32)
        assert torch.equal(ds[i]["signal"], torch.from_numpy(expected))
    # A second dataset over the same cache reads the same skip list, without re-reading anything.
    monkeypatch.setattr("core.data.shards.read_record_file", lambda record, **kw: pytest.fail(f"{record} read again"))
    same = ECGTextDataset(catalog, cache_dir=tmp_path / "cache", shard_size=2)
    assert same.key == ds.key and same.skipped == ds.skipped and len(same) == 2


def test_dataset_items_equal_the_float16_preprocessing_across_shards(ptbxl_more: Catalog, tmp_path: Path):
    records = ptbxl_more.records[20:31]
    ds = ECGTextDataset(records, ptbxl_more, CFG, tmp_path, shard_size=4, workers=2)
    assert len(ds) == 11 and len(list(ds.cache_path.glob("shard-*.npy"))) - 3 == 3  # 3 shards (+3 mask files)
    whole = np.asarray(ds.signals)
    assert whole.shape == (11, 12, 1000) and whole.dtype == np.float16
    for i, record in enumerate(records):
        item = ds[i]
        # exactly what the single-file float16 cache held: the preprocessing output rounded to float16
        expected = preprocess(ptbxl_more.read(record), CFG).astype(np.float16).astype(np.float32)
        assert torch.equal(item["signal"], torch.from_numpy(expected)), i
        assert item["record_id"] == record.record_id and item["text"] == (record.text_en or record.text)
        np.testing.assert_array_equal(whole[i], ds.signals[i])
    np.testing.assert_array_equal(ds.signals[3:6], whole[3:6])
    np.testing.assert_array_equal(ds.signals[[10, 0, 4]], whole[[10, 0, 4]])


def test_sharded_signals_open_few_maps_and_pickle_without_them(ptbxl_more: Catalog, tmp_path: Path, monkeypatch):
    import core.data.shards as shards

    monkeypatch.setattr(shards, "MAX_OPEN_SHARDS", 2)
    records = ptbxl_more.records[:6]
    index = build_shards(records, ptbxl_more.read, CFG, tmp_path, key="k", tag="t", shard_size=1, workers=0)
    view = ShardedSignals(tmp_path, index, CFG.n_samples)
    rows = [np.array(view[i]) for i in range(6)]
    assert len(view._maps) == 2 and sorted(view._maps) == [4, 5]
    import pickle

    clone = pickle.loads(pickle.dumps(view))
    assert clone._maps == {} and np.array_equal(clone[2], rows[2])
    with pytest.raises(IndexError):
        view.row(6)


def test_catalog_readers_pickle_small_and_run_in_fork_server_workers(ptbxl_more: Catalog):
    import pickle

    from core.data.dataset import make_reader
    from core.data.shards import CatalogReader, _pool_context

    read, tag = make_reader(ptbxl_more)
    assert isinstance(read, CatalogReader) and tag == ptbxl_more.cache_tag
    assert len(pickle.dumps(read)) < 500 < len(pickle.dumps(ptbxl_more))  # no records travel to the workers
    record = ptbxl_more.records[0]
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(read))(record).signal_mv, ptbxl_more.read(record).signal_mv)
    assert _pool_context(read).get_start_method() == "forkserver"
    assert _pool_context(lambda record: ptbxl_more.read(record)).get_start_method() == "fork"
