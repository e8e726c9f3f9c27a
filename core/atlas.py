"""A 2-D map of ECG embeddings: UMAP fitted once (cached as coordinates), new points placed by neighbours.

UMAP (McInnes et al. 2018, arXiv:1802.03426) costs seconds to fit plus 15-60 s of numba compilation the first time,
so the map is fitted once per (checkpoint, data) and only its coordinates are cached. A new ECG is placed at the
similarity-weighted mean of the map positions of its nearest indexed neighbours in embedding space: this is the
same idea UMAP's own ``transform`` uses for initialisation, takes well under a millisecond, needs no pickled
reducer, and keeps the point next to the ECGs it resembles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from core.index import EmbeddingIndex, normalize_rows

logger = logging.getLogger(__name__)

METHODS = ("umap", "pca")


def fit_coords(embeddings: np.ndarray, *, method: str = "umap", seed: int = 0, n_neighbors: int = 15) -> np.ndarray:
    """2-D coordinates for (N, D) embeddings.

    Args:
        embeddings: the points (normalised here; the metric is cosine).
        method: ``"umap"`` or ``"pca"`` (fast, linear; used for tiny sets where UMAP is meaningless).
        seed: random state for UMAP.
        n_neighbors: UMAP's neighbourhood size (clipped to N - 1).

    Returns:
        float32 array (N, 2).
    """
    if method not in METHODS:
        raise ValueError(f"unknown map method {method!r}; use one of {METHODS}")
    x = normalize_rows(embeddings)
    n = x.shape[0]
    if n < 3:
        return np.zeros((n, 2), dtype=np.float32) + np.arange(n, dtype=np.float32)[:, None]
    if method == "pca" or n <= 5:
        centred = x - x.mean(axis=0, keepdims=True)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        coords = centred @ vt[:2].T
        if coords.shape[1] < 2:
            coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
        return coords.astype(np.float32)
    import umap  # imported lazily: importing umap-learn costs seconds

    reducer = umap.UMAP(
        n_neighbors=max(2, min(n_neighbors, n - 1)),
        n_components=2,
        metric="cosine",
        random_state=seed,
        init="spectral" if n > 20 else "random",
    )
    return reducer.fit_transform(x).astype(np.float32)


@dataclass
class Atlas:
    """Map coordinates of indexed ECGs, and the placement of new ones.

    Attributes:
        coords: (N, 2) positions of the indexed ECGs.
        index: the cosine index over the same N ECG embeddings (used to place new points).
        method: how the coordinates were fitted.
    """

    coords: np.ndarray
    index: EmbeddingIndex
    method: str = "umap"

    def __post_init__(self) -> None:
        if len(self.coords) != len(self.index):
            raise ValueError(f"{len(self.coords)} map points for {len(self.index)} indexed embeddings")

    def place(self, embeddings: np.ndarray, k: int = 10, temperature: float = 0.05) -> np.ndarray:
        """Map positions (Q, 2) for new embeddings (Q, D): softmax(similarity / temperature)-weighted neighbours."""
        sims, ids = self.index.search(embeddings, k)
        w = np.exp((sims - sims.max(axis=1, keepdims=True)) / temperature)
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("qk,qkc->qc", w, self.coords[ids]).astype(np.float32)
