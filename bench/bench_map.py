"""The map at scale (core/atlas.py): UMAP fitted on a sample and the rest placed, by sample size.

    python -m bench.bench_map [--n 100000] [--samples 5000,20000,50000] [--full]   (from the repository root)

Points are :class:`bench.synthetic_embeddings.ClusteredEmbeddings` (256-d, calibrated on the demo's ECG embeddings).
For each sample size it prints the fit time, the time to place the other points with UMAP's ``transform`` (what
:func:`core.atlas.fit_coords` does) and, for comparison, with the similarity-weighted neighbours :class:`Atlas` uses
for new ECGs, and how well each map keeps neighbourhoods:

- trustworthiness (sklearn, k = 10) on a random subset of 3,000 points;
- kNN overlap: for 2,000 random points, the share of their 10 nearest neighbours in embedding space (cosine, over
  all N points) that are also among their 10 nearest on the map.

Finally the time to place one new ECG (p50/p95 over 200): :meth:`Atlas.place` through the corpus index, and
``transform`` of one point. ``--full`` also fits UMAP on all N points (slow on 2 cores) as the reference.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import faiss
import numpy as np
from sklearn.manifold import trustworthiness

from bench.synthetic_embeddings import ClusteredEmbeddings
from core.atlas import Atlas, _umap, fit_coords
from core.index import EmbeddingIndex


def knn_overlap(x: np.ndarray, coords: np.ndarray, n_eval: int = 2000, k: int = 10, seed: int = 0) -> float:
    """Mean share of each evaluated point's k nearest embedding-space neighbours kept among its k nearest on the map."""
    rows = np.random.default_rng(seed).choice(len(x), size=n_eval, replace=False)
    high = faiss.IndexFlatIP(x.shape[1])
    high.add(x)
    low = faiss.IndexFlatL2(2)
    low.add(np.ascontiguousarray(coords, np.float32))
    a = high.search(x[rows], k + 1)[1][:, 1:]
    b = low.search(np.ascontiguousarray(coords[rows], np.float32), k + 1)[1][:, 1:]
    return float(np.mean([len(set(p) & set(q)) / k for p, q in zip(a, b, strict=True)]))


def quality(x: np.ndarray, coords: np.ndarray) -> str:
    rows = np.random.default_rng(1).choice(len(x), size=3000, replace=False)
    trust = trustworthiness(x[rows], coords[rows], n_neighbors=10, metric="cosine")
    return f"trustworthiness {trust:.3f}  kNN overlap {knn_overlap(x, coords):.3f}"


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--samples", default="5000,20000,50000")
    parser.add_argument("--full", action="store_true", help="also fit UMAP on all points (reference)")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()}; {args.n:,} points", flush=True)
    x = ClusteredEmbeddings().sample(args.n, seed=1)
    _, compile_s = timed(lambda: fit_coords(x[:300], method="umap", use_gpu=False))
    print(f"first UMAP fit in this process (300 points, numba compilation): {compile_s:.1f} s", flush=True)
    index = EmbeddingIndex(x, use_gpu=False)
    new = ClusteredEmbeddings().sample(200, seed=7)
    for size in (int(s) for s in args.samples.split(",")):
        rng = np.random.default_rng(0)
        sample = np.sort(rng.choice(args.n, size=size, replace=False))
        reducer = _umap(size, 15, 0, False)
        sample_xy, fit_s = timed(lambda: np.asarray(reducer.fit_transform(x[sample]), np.float32))  # noqa: B023
        rest = np.setdiff1d(np.arange(args.n), sample)
        coords = np.empty((args.n, 2), np.float32)
        coords[sample] = sample_xy
        coords[rest], transform_s = timed(lambda: reducer.transform(x[rest]))  # noqa: B023
        print(f"sample {size:>7,}: fit {fit_s:6.1f} s  transform {len(rest):,} {transform_s:6.1f} s  "
              f"{quality(x, coords)}", flush=True)  # fmt: skip
        sample_atlas = Atlas(sample_xy, EmbeddingIndex(x[sample], use_gpu=False), "umap")
        coords[rest], place_s = timed(lambda: sample_atlas.place(x[rest]))  # noqa: B023
        print(f"{'':>16}  neighbours-placed rest instead: {place_s:6.1f} s  {quality(x, coords)}", flush=True)
        atlas = Atlas(coords, index, "umap")
        one = []
        for q in new:
            one.append(timed(lambda: atlas.place(q[None]))[1] * 1000)  # noqa: B023
        tr = [timed(lambda: reducer.transform(q[None]))[1] * 1000 for q in new[:50]]  # noqa: B023
        print(
            f"{'':>16}  one new ECG: Atlas.place p50 {np.percentile(one, 50):.2f} ms p95 {np.percentile(one, 95):.2f}"
            f" ms; UMAP transform p50 {np.percentile(tr, 50):.0f} ms p95 {np.percentile(tr, 95):.0f} ms",
            flush=True,
        )
    if args.full:
        coords, full_s = timed(lambda: fit_coords(x, method="umap", sample_size=args.n, use_gpu=False))
        print(f"full fit {args.n:>7,}: {full_s:6.1f} s  {quality(x, coords)}", flush=True)
    print(
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MB; load average {os.getloadavg()}",
        flush=True,
    )


if __name__ == "__main__":
    main()
