"""The explorer's cache folder (core/explorer/store.py, records.py): columnar records, memory-mapped load."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from core.explorer.errors import RecordNotFoundError
from core.explorer.records import RecordInfo, RecordTable
from core.explorer.store import Explorer
from core.index import EmbeddingIndex


def make_records(n: int) -> list[RecordInfo]:
    return [
        RecordInfo(
            record_id=f"{'ptbxl' if i % 3 else 'ludb'}/{n - i:05d}",  # ids not in row order
            dataset="ptbxl" if i % 3 else "ludb",
            text=f"Sinusrhythmus {i} — ü",
            text_en=f"sinus rhythm {i}.",
            labels={"superclass": ["NORM"] if i % 2 else ["MI", "STTC"], "rhythm": []},
            split=("train", "val", "test")[i % 3],
            path=f"ptb-xl/records500/{i:05d}_hr",
        )
        for i in range(n)
    ]


def make_explorer(n: int, dim: int = 16, **kwargs) -> Explorer:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(12, dim))
    emb = centres[rng.integers(0, 12, n)] + rng.normal(scale=0.3, size=(n, dim))
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    return Explorer(make_records(n), emb, emb[:, ::-1].copy(), rng.normal(size=(n, 2)), key="k", **kwargs)


def test_record_table_is_a_sequence_of_the_same_records(tmp_path: Path):
    records = make_records(50)
    table = RecordTable.from_records(records)
    assert len(table) == 50 and list(table) == records and table[-1] == records[-1] and table[3:6] == records[3:6]
    assert table.categories("dataset") == ["ludb", "ptbxl"]
    np.testing.assert_array_equal(table.codes("dataset") == 0, [r.dataset == "ludb" for r in records])
    assert table.strings("text_en") == [r.text_en for r in records]
    for i in (0, 17, 49):
        assert table.row_of(records[i].record_id) == i
    assert table.row_of("ptbxl/99999") is None and table.row_of("") is None
    with pytest.raises(IndexError):
        table[50]
    table.save(tmp_path)
    loaded = RecordTable.load(tmp_path, mmap=True)
    assert list(loaded) == records and loaded.row_of(records[17].record_id) == 17
    assert isinstance(loaded.codes("dataset"), np.memmap)
    assert len(RecordTable.from_records([])) == 0


def test_saved_explorer_loads_memory_mapped_with_the_same_answers(tmp_path: Path):
    ex = make_explorer(300, thumbs=np.zeros((300, 8), np.float16))
    ex.save(tmp_path / "cache", {"n_records": 300})
    loaded = Explorer.load(tmp_path / "cache")
    for array in (loaded.ecg_emb, loaded.text_emb, loaded.thumbs):
        assert isinstance(array.base, np.memmap) or isinstance(array, np.memmap)
    assert list(loaded.records) == list(ex.records)
    rid = ex.records[123].record_id
    assert loaded.row(rid) == 123 and rid in loaded and "nope/1" not in loaded
    with pytest.raises(RecordNotFoundError):
        loaded.row("nope/1")
    q = ex.ecg_emb[5] + 0.01
    assert loaded.nearest_ecgs(q, 5) == ex.nearest_ecgs(q, 5)
    assert loaded.nearest_reports(q, 5) == ex.nearest_reports(q, 5)
    np.testing.assert_allclose(loaded.place(q), ex.place(q))
    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert manifest["indexes"]["ecg_index"]["kind"] == "flat" and manifest["n_records"] == 300


def test_an_approximate_index_is_saved_and_memory_mapped_back(tmp_path: Path):
    ex = make_explorer(3000)
    ex_index = EmbeddingIndex(ex.ecg_emb, use_gpu=False, exact_max=500)
    ex = Explorer(ex.records, ex.ecg_emb, ex.text_emb, ex.map_xy, key="k", ecg_index=ex_index)
    ex.save(tmp_path / "cache", {})
    loaded = Explorer.load(tmp_path / "cache")
    assert loaded.ecg_index.params == ex_index.params and not loaded.ecg_index.exact
    assert loaded.text_index.exact
    manifest = json.loads((tmp_path / "cache" / "manifest.json").read_text())
    assert manifest["indexes"]["ecg_index"]["recall_at_10"] == ex_index.params["recall_at_10"]
    q = ex.ecg_emb[:20] + 0.01
    np.testing.assert_array_equal(loaded.ecg_index.search(q, 10)[1], ex_index.search(q, 10)[1])


def test_a_cache_from_before_the_record_table_still_loads(tmp_path: Path):
    """Build version 3 folders hold records.json and no index files; they load as before."""
    ex = make_explorer(40)
    folder = tmp_path / "old"
    folder.mkdir()
    for name in ("ecg_emb", "text_emb", "map_xy"):
        np.save(folder / f"{name}.npy", getattr(ex, name))
    (folder / "records.json").write_text(json.dumps([asdict(r) for r in ex.records]))
    (folder / "manifest.json").write_text(json.dumps({"map_method": "pca"}))
    loaded = Explorer.load(folder)
    assert list(loaded.records) == list(ex.records) and loaded.map_method == "pca" and loaded.ecg_index.exact
    assert loaded.nearest_ecgs(ex.ecg_emb[3], 3)[0][0].record_id == ex.records[3].record_id


def test_index_corpus_builds_indexes_map_and_cache_from_embeddings(tmp_path: Path):
    """The script entry point for large corpora: embeddings in, a memory-mappable cache folder out."""
    from core.explorer.build import index_corpus

    ex = make_explorer(400)
    steps = []
    built = index_corpus(
        ex.records, ex.ecg_emb, ex.text_emb, key="k", folder=tmp_path / "c", map_method="pca", map_sample=100,
        manifest={"source": "test"}, progress=lambda p, desc=None: steps.append(desc),
    )  # fmt: skip
    assert built.map_xy.shape == (400, 2) and "fitting the PCA map" in steps
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert manifest["source"] == "test" and manifest["map_sample"] == 100 and manifest["n_records"] == 400
    assert manifest["indexes"]["ecg_index"]["recall_at_10"] == 1.0
    loaded = Explorer.load(tmp_path / "c")
    np.testing.assert_array_equal(loaded.map_xy, built.map_xy)
    assert loaded.nearest_ecgs(ex.ecg_emb[9], 1)[0][0].record_id == ex.records[9].record_id
