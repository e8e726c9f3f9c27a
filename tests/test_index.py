"""The FAISS index over embeddings (core/index.py): exact when small, approximate IVF above the threshold."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from core.index import (
    EXACT_MAX,
    EmbeddingIndex,
    default_nlist,
    exact_knn,
    exact_similarities,
    normalize_rows,
    recall_at_k,
)


def clustered(n: int, dim: int = 32, centres: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors around a few dozen centres (what embeddings of similar ECGs look like); the centres are fixed, the
    seed draws the points."""
    c = np.random.default_rng(100 + dim).normal(size=(centres, dim))
    rng = np.random.default_rng(seed)
    return normalize_rows(c[rng.integers(0, centres, n)] + rng.normal(scale=0.35, size=(n, dim)))


def test_index_returns_exact_cosine_neighbours():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    index = EmbeddingIndex(x, use_gpu=False)
    q = x[7] * 5 + rng.normal(scale=0.01, size=16)
    sims, ids = index.search(q, 5)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    brute = xn @ (q / np.linalg.norm(q))
    assert ids[0, 0] == 7
    np.testing.assert_array_equal(ids[0], np.argsort(-brute)[:5])
    np.testing.assert_allclose(sims[0], np.sort(brute)[::-1][:5], rtol=1e-5)
    assert index.search(q, 10_000)[1].shape == (1, 200)
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.ones(3), 1)


def test_below_the_threshold_the_index_is_the_plain_flat_one():
    """The demo-sized path answers exactly as a bare IndexFlatIP over the unit vectors (the behaviour before)."""
    x = clustered(700, dim=64)
    index = EmbeddingIndex(x, use_gpu=False)
    assert index.exact and index.params["kind"] == "flat" and index.params["recall_at_10"] == 1.0
    assert len(x) <= EXACT_MAX
    flat = faiss.IndexFlatIP(64)
    flat.add(normalize_rows(x))
    q = clustered(20, dim=64, seed=5)
    want_sims, want_ids = flat.search(normalize_rows(q), 10)
    sims, ids = index.search(q, 10)
    np.testing.assert_array_equal(ids, want_ids)
    np.testing.assert_array_equal(sims, want_sims)


def test_exact_knn_streams_chunks_like_brute_force():
    x = clustered(1000)
    q = clustered(7, seed=3)
    want = np.argsort(-(q @ x.T), axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(exact_knn(x, q, 10, chunk=128), want)
    assert recall_at_k(want, want) == 1.0
    assert recall_at_k(want[:, ::-1], want) == 1.0  # order does not matter
    assert recall_at_k(np.full_like(want, -1), want) == 0.0


@pytest.fixture(scope="module")
def approx_data():
    x = clustered(6000, seed=1)
    index = EmbeddingIndex(x, use_gpu=False, exact_max=1000, seed=0)
    return x, index


def test_above_the_threshold_the_index_is_approximate_with_recorded_recall(approx_data):
    x, index = approx_data
    p = index.params
    assert not index.exact and p["kind"] == "ivf_sq8" and p["factory"] == f"IVF{p['nlist']},SQ8"
    assert p["nlist"] == default_nlist(6000) and 1 <= p["nprobe"] <= p["nlist"]
    assert p["n"] == 6000 and p["dim"] == 32 and p["seed"] == 0 and p["train_size"] > 0
    assert p["recall_queries"] > 0 and p["recall_at_10"] >= 0.95
    # Recall on fresh queries (not indexed, not used to tune nprobe) against exact search.
    q = clustered(300, seed=9)
    found = index.search(q, 10)[1]
    assert recall_at_k(found, exact_knn(x, q, 10)) >= 0.95
    sims = index.search(q[:3], 10)[0]
    assert np.all(np.diff(sims, axis=1) <= 1e-6) and np.all(sims <= 1.01)


def test_a_fixed_nprobe_is_kept_and_lower_nprobe_loses_recall():
    x = clustered(6000, seed=1)
    one = EmbeddingIndex(x, use_gpu=False, exact_max=1000, nprobe=1, nlist=128)
    assert one.params["nprobe"] == 1
    # Visiting one list of 128 misses neighbours across list borders, and the build reports it.
    assert one.params["recall_at_10"] < 0.95


def test_save_and_mmap_load_give_the_same_answers(approx_data, tmp_path):
    x, index = approx_data
    index.save(tmp_path)
    assert EmbeddingIndex.saved_in(tmp_path)
    assert json.loads((tmp_path / "index.json").read_text())["nprobe"] == index.params["nprobe"]
    loaded = EmbeddingIndex.load(tmp_path, mmap=True, use_gpu=False)
    q = clustered(50, seed=4)
    for a, b in zip(index.search(q, 10), loaded.search(q, 10), strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(loaded) == 6000 and loaded.dim == 32 and loaded.params == index.params


def test_flat_index_round_trips_too(tmp_path):
    x = clustered(500)
    index = EmbeddingIndex(x, use_gpu=False)
    index.save(tmp_path)
    loaded = EmbeddingIndex.load(tmp_path, use_gpu=False)
    q = clustered(5, seed=2)
    np.testing.assert_array_equal(index.search(q, 10)[1], loaded.search(q, 10)[1])
    assert loaded.exact


def test_recall_counts_rows_tied_with_the_kth_neighbour_as_found():
    # 40 distinct vectors, each repeated 150 times (machine reports repeat word for word): every query has 149
    # neighbours at similarity 1, so which ten of them a search returns is arbitrary.
    distinct = clustered(40, seed=3)
    x = np.repeat(distinct, 150, axis=0)
    index = EmbeddingIndex(x, use_gpu=False, exact_max=1000, nlist=32)
    p = index.params
    assert not index.exact and p["recall_at_10"] >= 0.95 and p["nprobe"] < p["nlist"]
    q = normalize_rows(distinct[:5])
    found, truth = index.search(q, 10)[1], exact_knn(x, q, 10)
    # Counted by id, the tied rows look like misses; counted by similarity, every returned row is a true neighbour.
    assert recall_at_k(found, truth) < 0.5
    found_sims, truth_sims = exact_similarities(x, q, found), exact_similarities(x, q, truth)
    assert recall_at_k(found, truth, found_sims, truth_sims) == 1.0
