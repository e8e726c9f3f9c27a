"""The FAISS index over embeddings (core/index.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.index import EmbeddingIndex


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
