"""Clustered unit vectors shaped like real ECG embeddings, for the index and map benchmarks.

Calibrated on the 700 demo ECG embeddings of the METS checkpoint (256-d): their mean direction has norm ≈ 0.50,
the mean pairwise cosine is ≈ 0.25, 14 principal components hold 90 % of the variance, and the median cosine to the
nearest neighbour is ≈ 0.87. The generator reproduces that shape: a shared mean direction, a low-rank subspace with
decaying variance, a mixture of a few thousand centres in it (sizes Zipf-distributed, as diagnoses are), within-centre
spread, and a small isotropic residual in all dimensions.
"""

from __future__ import annotations

import numpy as np


class ClusteredEmbeddings:
    """A fixed random mixture; :meth:`sample` draws points from it (same mixture for corpus and fresh queries).

    Args:
        dim: embedding dimension.
        n_centres: mixture components.
        rank: dimension of the subspace the centres and most of the spread live in.
        seed: fixes the mixture.
    """

    def __init__(self, dim: int = 256, n_centres: int = 4000, rank: int = 32, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.dim, self.rank = dim, rank
        self.mean = rng.normal(size=dim)
        self.mean *= 0.62 / np.linalg.norm(self.mean)
        basis, _ = np.linalg.qr(rng.normal(size=(dim, rank)))
        self.scales = 0.55 * np.exp(-np.arange(rank) / 6.0)  # decaying variance, a handful of dominant directions
        self.basis = basis.T  # (rank, dim)
        self.centres = rng.normal(size=(n_centres, rank)) * self.scales
        weights = 1.0 / np.arange(1, n_centres + 1) ** 0.8
        self.weights = weights / weights.sum()
        self.spread = 0.35  # within-centre spread relative to the subspace scales
        self.residual = 0.02  # isotropic noise per dimension

    def sample(self, n: int, seed: int) -> np.ndarray:
        """(n, dim) float32 unit vectors."""
        rng = np.random.default_rng(seed)
        which = rng.choice(len(self.centres), size=n, p=self.weights)
        z = self.centres[which] + rng.normal(size=(n, self.rank)) * self.scales * self.spread
        x = self.mean + z @ self.basis + rng.normal(scale=self.residual, size=(n, self.dim))
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)


def embedding_stats(x: np.ndarray) -> dict[str, float]:
    """The statistics the generator is calibrated on (use a few hundred to a few thousand rows)."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = x @ x.T
    np.fill_diagonal(s, -2)
    ev = np.linalg.svd(x - x.mean(0), compute_uv=False) ** 2
    ev /= ev.sum()
    return {
        "mean_norm": float(np.linalg.norm(x.mean(0))),
        "mean_pairwise_cos": float(s[s > -2].mean()),
        "pcs_for_90pct": int((ev.cumsum() < 0.9).sum() + 1),
        "nn_cos_median": float(np.median(s.max(1))),
    }
