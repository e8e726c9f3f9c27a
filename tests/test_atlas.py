"""The 2-D map (core/atlas.py): fitting and placing new points."""

from __future__ import annotations

import numpy as np

from core.atlas import Atlas, fit_coords
from core.index import EmbeddingIndex


def test_atlas_places_a_new_point_next_to_its_neighbours():
    rng = np.random.default_rng(1)
    centres = np.eye(8, dtype=np.float32)[:2] * 10
    x = np.concatenate([centres[0] + rng.normal(size=(30, 8)), centres[1] + rng.normal(size=(30, 8))])
    coords = fit_coords(x, method="pca")
    atlas = Atlas(coords, EmbeddingIndex(x, use_gpu=False), "pca")
    p = atlas.place(centres[1][None] + 0.1)[0]
    d0 = np.linalg.norm(coords[:30].mean(0) - p)
    d1 = np.linalg.norm(coords[30:].mean(0) - p)
    assert d1 < d0 / 3


def two_clusters(n_per: int, dim: int = 8, seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = np.eye(dim, dtype=np.float32)[:2] * 10
    return np.concatenate([centres[0] + rng.normal(size=(n_per, dim)), centres[1] + rng.normal(size=(n_per, dim))])


def test_pca_map_above_the_sample_size_projects_everything_on_the_sample_fit():
    x = two_clusters(150)
    coords = fit_coords(x, method="pca", sample_size=100, seed=3)
    sample = np.sort(np.random.default_rng(3).choice(300, size=100, replace=False))
    np.testing.assert_allclose(coords[sample], fit_coords(x[sample], method="pca"), atol=1e-5)
    assert coords.shape == (300, 2) and np.isfinite(coords).all()


def test_umap_fitted_on_a_sample_places_the_rest_with_transform():
    """Tiny data keeps UMAP's fit cheap (its numba compilation is the cost here)."""
    x = two_clusters(120)
    done = []
    coords = fit_coords(x, method="umap", sample_size=80, n_neighbors=10, use_gpu=False,
                        progress=lambda p, desc=None: done.append((p, desc)))  # fmt: skip
    assert coords.shape == (240, 2) and coords.dtype == np.float32 and np.isfinite(coords).all()
    assert any("80 of 240" in d for _, d in done) and done[-1][0] == (240, 240)
    # Every point, sampled or transformed, lands nearer its own cluster's centre on the map than the other one's.
    sample = np.zeros(240, bool)
    sample[np.random.default_rng(0).choice(240, size=80, replace=False)] = True
    labels = np.repeat([0, 1], 120)
    centres = np.stack([np.median(coords[sample & (labels == c)], axis=0) for c in (0, 1)])
    nearest = np.argmin(np.linalg.norm(coords[:, None] - centres[None], axis=2), axis=1)
    assert (nearest == labels)[~sample].mean() == 1.0
