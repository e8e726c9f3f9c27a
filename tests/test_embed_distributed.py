"""``python -m core embed`` (core/embed_corpus.py): two gloo processes under torchrun give the same embeddings as one
process, ranks take strided parts, and an interrupted run resumes after its finished parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.data.catalogs import Catalog, load_catalog
from core.data.dataset import ECGTextDataset
from core.data.preprocess import preprocess
from core.embed import Embedder
from core.embed_corpus import embed_parts, embed_reports, load_corpus_embeddings, merge_parts

REPO_ROOT = Path(__file__).resolve().parents[1]
METS = REPO_ROOT / "checkpoints" / "mets"


@pytest.fixture(scope="module")
def ptbxl_more(shared_data: Path) -> Catalog:
    return load_catalog("ptbxl", root=shared_data / "ptbxl_more")


@pytest.fixture(scope="module")
def mets(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:  # the checkpoint-hash memo goes to a temporary data folder
        patch.setenv("ECG_DATA_DIR", str(tmp_path_factory.mktemp("ecg-data")))
        yield Embedder.from_checkpoint(METS, device="cpu")


def _embed_cli(launcher: list[str], out: Path, data: Path, env: dict[str, str]) -> None:
    args = ["--checkpoint", str(METS), "--data", str(data), "--limit", "24", "--part-size", "8", "--out", str(out)]
    args.append("--reports")
    result = subprocess.run(
        [sys.executable, *launcher, "-m", "core", "embed", *args], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_two_gloo_processes_give_the_embeddings_of_one(
    shared_data: Path, ptbxl_more: Catalog, mets: Embedder, tmp_path: Path
):
    # One intra-op thread in both runs (torchrun's default per process), so the sums run in the same order.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "ECG_DATA_DIR": str(tmp_path / "data"), "OMP_NUM_THREADS": "1"}
    data = shared_data / "ptbxl_more"
    _embed_cli([], tmp_path / "one", data, env)
    _embed_cli(["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"], tmp_path / "two", data, env)

    one, two = load_corpus_embeddings(tmp_path / "one"), load_corpus_embeddings(tmp_path / "two")
    assert one.record_ids == two.record_ids == [r.record_id for r in ptbxl_more.records[:24]]
    assert one.embeddings.shape == (24, 256) and one.embeddings.dtype == np.float32
    np.testing.assert_array_equal(one.embeddings, two.embeddings)  # bitwise: same batches, same thread count
    np.testing.assert_allclose(np.linalg.norm(one.embeddings, axis=1), 1.0, atol=1e-5)
    assert len({row.tobytes() for row in one.embeddings}) == 24
    assert one.manifest["n_parts"] == 3 and one.manifest["run_key"] == two.manifest["run_key"]
    # --reports: row i of report_embeddings.npy is record i's English report through the text tower, on both runs.
    assert one.report_embeddings.shape == (24, one.manifest["report_dim"]) and one.manifest["n_without_report"] == 0
    np.testing.assert_allclose(one.report_embeddings, two.report_embeddings, atol=1e-6)
    texts = [r.text_en for r in ptbxl_more.records[:24]]
    np.testing.assert_allclose(one.report_embeddings, mets.encode_texts(texts), atol=1e-5)
    # Each ECG's own report is nearer to it than the average report (a shipped, trained model).
    sims = np.asarray(one.embeddings) @ np.asarray(one.report_embeddings).T
    assert np.diag(sims).mean() > sims.mean()
    # Both ranks wrote parts: rank 1 took part 1.
    assert json.loads((tmp_path / "two" / "parts" / "part-00001.json").read_text())["start"] == 8


def test_rank_parts_merge_to_the_single_process_result(
    mets: Embedder, ptbxl_more: Catalog, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "data"))
    ds = ECGTextDataset(ptbxl_more.records[:20], ptbxl_more, mets.preprocess_cfg, tmp_path / "cache", workers=0)
    assert embed_parts(mets, ds, tmp_path / "single", part_size=6) == [0, 1, 2, 3]
    merge_parts(mets, ds, tmp_path / "single", part_size=6)

    assert embed_parts(mets, ds, tmp_path / "ranks", part_size=6, rank=1, world_size=2) == [1, 3]
    with pytest.raises(FileNotFoundError, match=r"parts \[0, 2\]"):
        merge_parts(mets, ds, tmp_path / "ranks", part_size=6)
    assert embed_parts(mets, ds, tmp_path / "ranks", part_size=6, rank=0, world_size=2) == [0, 2]
    merge_parts(mets, ds, tmp_path / "ranks", part_size=6)

    single, ranks = load_corpus_embeddings(tmp_path / "single"), load_corpus_embeddings(tmp_path / "ranks")
    np.testing.assert_array_equal(single.embeddings, ranks.embeddings)
    assert single.record_ids == ranks.record_ids == [r.record_id for r in ptbxl_more.records[:20]]
    assert single.report_embeddings is None and not single.manifest["reports"]
    # Asking for reports recomputes parts written without them; the ECG rows stay the same.
    assert embed_parts(mets, ds, tmp_path / "single", part_size=6, reports=True) == [0, 1, 2, 3]
    assert embed_parts(mets, ds, tmp_path / "single", part_size=6, reports=True) == []
    merge_parts(mets, ds, tmp_path / "single", part_size=6, reports=True)
    with_reports = load_corpus_embeddings(tmp_path / "single")
    np.testing.assert_array_equal(with_reports.embeddings, ranks.embeddings)
    np.testing.assert_allclose(with_reports.report_embeddings[13], mets.encode_texts([ds.text(13)])[0], atol=1e-5)
    # Row 13 is record 13 embedded from its cached (float16) preprocessing.
    x = preprocess(ptbxl_more.read(ptbxl_more.records[13]), mets.preprocess_cfg).astype(np.float16)
    direct = mets.encode_signals(x[None].astype(np.float32), np.ones((1, 12), bool))
    np.testing.assert_allclose(single.embeddings[13], direct[0], atol=1e-5)


def test_a_record_without_a_report_gets_a_zero_row(mets: Embedder):
    rows = embed_reports(mets, ["sinus rhythm. normal ecg.", "  ", "sinus rhythm. normal ecg."])
    assert rows.dtype == np.float32 and not rows[1].any()
    np.testing.assert_allclose(np.linalg.norm(rows[[0, 2]], axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(rows[0], rows[2])
    assert embed_reports(mets, ["", ""]).shape == (2, rows.shape[1])


class CrashAfter:
    """An embedder that fails on its n-th batch of parts (a stand-in for a killed rank)."""

    def __init__(self, embedder: Embedder, calls: int):
        self.embedder, self.calls = embedder, calls
        self.checkpoint_hash = embedder.checkpoint_hash

    def encode_signals(self, signals, masks):
        self.calls -= 1
        if self.calls < 0:
            raise KeyboardInterrupt
        return self.embedder.encode_signals(signals, masks)


def test_an_interrupted_run_resumes_after_its_finished_parts(
    mets: Embedder, ptbxl_more: Catalog, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "data"))
    ds = ECGTextDataset(ptbxl_more.records[40:62], ptbxl_more, mets.preprocess_cfg, tmp_path / "cache", workers=0)
    embed_parts(mets, ds, tmp_path / "clean", part_size=5)
    merge_parts(mets, ds, tmp_path / "clean", part_size=5)

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        embed_parts(CrashAfter(mets, 2), ds, out, part_size=5)
    written = sorted(p.name for p in (out / "parts").iterdir())
    assert written == ["part-00000.json", "part-00000.npy", "part-00001.json", "part-00001.npy"]
    assert not (out / "manifest.json").exists()
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "parts").iterdir()}

    assert embed_parts(mets, ds, out, part_size=5) == [2, 3, 4]
    merge_parts(mets, ds, out, part_size=5)
    assert {n: (out / "parts" / n).stat().st_mtime_ns for n in stamps} == stamps  # finished parts kept
    clean, resumed = load_corpus_embeddings(tmp_path / "clean"), load_corpus_embeddings(out)
    np.testing.assert_array_equal(clean.embeddings, resumed.embeddings)
    assert clean.record_ids == resumed.record_ids and len(resumed.record_ids) == 22
    # A part written for other weights or records is stale: recomputed, not served.
    part = json.loads((out / "parts" / "part-00000.json").read_text())
    (out / "parts" / "part-00000.json").write_text(json.dumps({**part, "run_key": "other"}))
    assert embed_parts(mets, ds, out, part_size=5) == [0]
