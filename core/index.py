"""Exact cosine-similarity search over embeddings with FAISS (on the GPU when FAISS sees one).

The indexes are small (thousands of vectors), so an exact inner-product index over unit vectors is both the fastest
to build and the most faithful; it is rebuilt from the cached ``.npy`` embeddings in milliseconds, so only the
embeddings are stored on disk.
"""

from __future__ import annotations

import logging
import threading

import faiss
import numpy as np

logger = logging.getLogger(__name__)


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """float32, C-contiguous, unit L2 rows (zero rows stay zero)."""
    x = np.ascontiguousarray(np.atleast_2d(np.asarray(x, dtype=np.float32)))
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norm, 1e-12), dtype=np.float32)


class EmbeddingIndex:
    """Cosine-similarity k-NN over a fixed set of embeddings.

    Args:
        embeddings: (N, D) array; rows are L2-normalised before indexing.
        use_gpu: ``None`` moves the index to GPU 0 when ``faiss.get_num_gpus() > 0``; ``False`` keeps it on the CPU.
    """

    def __init__(self, embeddings: np.ndarray, *, use_gpu: bool | None = None):
        self.embeddings = normalize_rows(embeddings)
        n, dim = self.embeddings.shape
        index = faiss.IndexFlatIP(dim)
        index.add(self.embeddings)
        self.on_gpu = False
        if use_gpu is None:
            use_gpu = faiss.get_num_gpus() > 0
        if use_gpu:
            index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
            self.on_gpu = True
        self._index = index
        # FAISS GPU indexes are not safe for concurrent searches; CPU flat search is, but the lock is cheap.
        self._lock = threading.Lock()
        logger.debug("built %s index over %d x %d embeddings", "GPU" if self.on_gpu else "CPU", n, dim)

    def __len__(self) -> int:
        return int(self.embeddings.shape[0])

    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` neighbours of each query.

        Args:
            queries: (Q, D) or (D,) embeddings (normalised here).
            k: neighbours per query; clipped to the index size.

        Returns:
            ``(similarities, ids)``, both (Q, k'), best first; similarities are cosines in [-1, 1].
        """
        q = normalize_rows(queries)
        if q.shape[1] != self.dim:
            raise ValueError(f"query dimension {q.shape[1]} does not match the index dimension {self.dim}")
        k = max(1, min(int(k), len(self)))
        with self._lock:
            sims, ids = self._index.search(q, k)
        return sims, ids
