"""A 2-D map of ECG embeddings: UMAP fitted once (cached as coordinates), new points placed by neighbours.

UMAP (McInnes et al. 2018, arXiv:1802.03426) costs seconds to fit plus 15-60 s of numba compilation the first time,
so the map is fitted once per (checkpoint, data) and only its coordinates are cached. Above ``sample_size`` points
(:data:`MAP_SAMPLE`, measured in ``bench/bench_map.py``) UMAP is fitted on a random sample and the other points are
placed with the fitted model's ``transform``, since fitting grows faster than linearly with N while ``transform``
is linear; with a GPU and RAPIDS cuML installed, cuML's UMAP does the fitting and placing. A new ECG is placed at the
similarity-weighted mean of the map positions of its nearest indexed neighbours in embedding space: this is the
same idea UMAP's own ``transform`` uses for initialisation, takes well under a millisecond, needs no pickled
reducer, and keeps the point next to the ECGs it resembles.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from core.data.progress import ProgressCallback, report
from core.index import EmbeddingIndex, normalize_rows

logger = logging.getLogger(__name__)

METHODS = ("umap", "pca")
# Points UMAP is fitted on; the rest are placed with transform. bench/bench_map.py, 100 k clustered 256-d points on
# the loaded 2-core machine: a 20 k sample fitted in 27 s and a 50 k one in 323 s, with the same trustworthiness
# (0.924 vs 0.925); the larger sample keeps more exact neighbours (10-NN overlap 0.06 vs 0.12). README: Scale.
MAP_SAMPLE = 20_000
TRANSFORM_CHUNK = 10_000


def cuml_umap_class():
    """cuML's ``UMAP`` class when RAPIDS cuML is installed and sees a GPU, else None."""
    try:
        import cupy
        from cuml.manifold import UMAP
    except ImportError:
        return None
    try:
        return UMAP if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except cupy.cuda.runtime.CUDARuntimeError:
        return None


def fit_coords(
    embeddings: np.ndarray,
    *,
    method: str = "umap",
    seed: int = 0,
    n_neighbors: int = 15,
    sample_size: int = MAP_SAMPLE,
    use_gpu: bool | None = None,
    progress: ProgressCallback | None = None,
) -> np.ndarray:
    """2-D coordinates for (N, D) embeddings.

    Args:
        embeddings: the points (normalised here; the metric is cosine); a memory map is read in chunks when sampled.
        method: ``"umap"`` or ``"pca"`` (fast, linear; used for tiny sets where UMAP is meaningless).
        seed: random state for UMAP and for the sample.
        n_neighbors: UMAP's neighbourhood size (clipped to N - 1).
        sample_size: above this many points the map is fitted on a seeded random sample of this size and the rest
            are placed with ``transform``; at or below it every point is fitted (the demo's behaviour).
        use_gpu: ``None`` uses cuML when :func:`cuml_umap_class` finds it; ``False`` always uses umap-learn.
        progress: ``progress((done, total), desc=...)`` while fitting and placing.

    Returns:
        float32 array (N, 2).
    """
    if method not in METHODS:
        raise ValueError(f"unknown map method {method!r}; use one of {METHODS}")
    n = len(embeddings)
    if n > sample_size >= 3:
        return _fit_sample_place_rest(embeddings, method, seed, n_neighbors, sample_size, use_gpu, progress)
    x = normalize_rows(embeddings)
    if n < 3:
        return np.zeros((n, 2), dtype=np.float32) + np.arange(n, dtype=np.float32)[:, None]
    if method == "pca" or n <= 5:
        centred = x - x.mean(axis=0, keepdims=True)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        coords = centred @ vt[:2].T
        if coords.shape[1] < 2:
            coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
        return coords.astype(np.float32)
    reducer = _umap(n, n_neighbors, seed, use_gpu)
    return np.asarray(reducer.fit_transform(x), dtype=np.float32)


def _umap(n: int, n_neighbors: int, seed: int, use_gpu: bool | None):
    """An unfitted UMAP for ``n`` unit vectors: cuML's when asked for (or found), else umap-learn's."""
    gpu_class = cuml_umap_class() if use_gpu is not False else None
    if use_gpu and gpu_class is None:
        raise RuntimeError("use_gpu=True but RAPIDS cuML or a GPU is missing")
    if gpu_class is not None:
        # Unit vectors: euclidean distance orders neighbours as cosine does, and is cuML's best-supported metric.
        return gpu_class(n_neighbors=max(2, min(n_neighbors, n - 1)), n_components=2, random_state=seed)
    import umap  # imported lazily: importing umap-learn costs seconds

    return umap.UMAP(
        n_neighbors=max(2, min(n_neighbors, n - 1)),
        n_components=2,
        metric="cosine",
        random_state=seed,
        init="spectral" if n > 20 else "random",
    )


def _fit_sample_place_rest(
    embeddings: np.ndarray,
    method: str,
    seed: int,
    n_neighbors: int,
    sample_size: int,
    use_gpu: bool | None,
    progress: ProgressCallback | None,
) -> np.ndarray:
    """Fit on a seeded random sample of ``sample_size`` rows, then place every other row with the fitted map."""
    n = len(embeddings)
    sample = np.sort(np.random.default_rng(seed).choice(n, size=sample_size, replace=False))
    x_sample = normalize_rows(embeddings[sample])
    report(progress, 0, n, f"fitting the {method.upper()} map on {sample_size:,} of {n:,} ECGs")
    coords = np.empty((n, 2), np.float32)
    if method == "pca":
        mean = x_sample.mean(axis=0, keepdims=True)
        _, _, vt = np.linalg.svd(x_sample - mean, full_matrices=False)

        def place(x: np.ndarray) -> np.ndarray:
            return (x - mean) @ vt[:2].T
    else:
        reducer = _umap(sample_size, n_neighbors, seed, use_gpu)
        coords[sample] = np.asarray(reducer.fit_transform(x_sample), np.float32)

        def place(x: np.ndarray) -> np.ndarray:
            return reducer.transform(x)

    in_sample = np.zeros(n, bool)
    in_sample[sample] = method == "umap"  # PCA places the sample too (its projection is the fit)
    for start in range(0, n, TRANSFORM_CHUNK):
        report(progress, start, n, "placing the other ECGs on the map")
        rows = np.arange(start, min(start + TRANSFORM_CHUNK, n))[~in_sample[start : start + TRANSFORM_CHUNK]]
        if len(rows):
            coords[rows] = np.asarray(place(normalize_rows(embeddings[rows])), np.float32)
    report(progress, n, n, "map done")
    return coords


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
