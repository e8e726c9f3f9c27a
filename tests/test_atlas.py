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
