"""Exact vs approximate cosine index (core/index.py) from 10 k to 1 M clustered 256-d embeddings.

    python -m bench.bench_index [--sizes 10000,100000,1000000] [--queries 500] [--threads 2]   (from the repo root)
    python -m bench.bench_index --compare 100000      # the candidate structures side by side at one size

The corpus and the queries come from :class:`bench.synthetic_embeddings.ClusteredEmbeddings` (a mixture calibrated on
the demo's real ECG embeddings); queries are fresh draws from the same mixture, i.e. new ECGs that are not indexed.
For each size it prints, for the exact flat index and for the approximate index ``EmbeddingIndex`` builds above its
threshold: build time, single-query latency p50/p95 on ``--threads`` FAISS threads, recall@10 against exact search on
the fresh queries (and the recall the build measured and stored on held-out rows), and index RAM: the bytes FAISS
holds for the index (its serialised size) and the resident growth after memory-mapping the saved index and querying.

``--compare N`` builds the candidates for the approximate index at one size: IVF-Flat, IVF-SQ8 (what
``EmbeddingIndex`` uses), IVF-PQ (32 bytes a vector) re-ranked from SQ8 codes, and HNSW over SQ8 codes; for each, the
smallest search parameter (nprobe or efSearch) whose recall@10 on the fresh queries reaches 0.95, its latency and the
bytes it holds.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from bench.synthetic_embeddings import ClusteredEmbeddings
from core.index import EXACT_MAX, EmbeddingIndex, default_nlist, exact_knn, recall_at_k


def rss_mb() -> float:
    """Current resident set size (MB), from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def latencies_ms(search, queries: np.ndarray) -> np.ndarray:
    """One query at a time, as the app asks them."""
    out = []
    for q in queries:
        t0 = time.perf_counter()
        search(q[None], 10)
        out.append((time.perf_counter() - t0) * 1000)
    return np.asarray(out)


def row(name: str, n: int, build_s: float, lat: np.ndarray, recall: float, ram_mb: float, extra: str = "") -> None:
    print(
        f"{name:<10} {n:>9,} build {build_s:7.1f} s  p50 {np.percentile(lat, 50):7.2f} ms  "
        f"p95 {np.percentile(lat, 95):7.2f} ms  recall@10 {recall:.3f}  RAM {ram_mb:7.0f} MB  {extra}",
        flush=True,
    )


def bench_size(gen: ClusteredEmbeddings, n: int, n_queries: int, flat_queries: int) -> None:
    corpus = gen.sample(n, seed=1)
    queries = gen.sample(n_queries, seed=2)
    truth = exact_knn(corpus, queries, 10)

    t0 = time.perf_counter()
    flat = faiss.IndexFlatIP(corpus.shape[1])
    flat.add(corpus)
    flat_build = time.perf_counter() - t0
    lat = latencies_ms(flat.search, queries[:flat_queries])
    row("exact", n, flat_build, lat, 1.0, corpus.nbytes / 2**20)
    del flat
    gc.collect()

    approx = EmbeddingIndex(corpus, use_gpu=False, exact_max=0)
    found = approx.search(queries, 10)[1]
    lat = latencies_ms(approx.search, queries)
    p = approx.params
    with tempfile.TemporaryDirectory() as tmp:
        approx.save(Path(tmp))
        size_mb = (Path(tmp) / "index.faiss").stat().st_size / 2**20
        del approx
        gc.collect()
        before = rss_mb()
        loaded = EmbeddingIndex.load(Path(tmp), mmap=True, use_gpu=False)
        lat_mmap = latencies_ms(loaded.search, queries)
        mapped_growth = rss_mb() - before
        same = np.array_equal(loaded.search(queries, 10)[1], found)
        del loaded
    row(
        "ivf_sq8",
        n,
        p["build_s"],
        lat,
        recall_at_k(found, truth),
        size_mb,
        f"nlist {p['nlist']} nprobe {p['nprobe']} train {p['train_size']:,} (k-means {p['train_s']:.1f} s) "
        f"build-time recall {p['recall_at_10']:.3f}",
    )
    print(
        f"{'  mmap':<10} {n:>9,} load+query RSS growth {mapped_growth:6.0f} MB  "
        f"p50 {np.percentile(lat_mmap, 50):.2f} ms p95 {np.percentile(lat_mmap, 95):.2f} ms  "
        f"same answers as in memory: {same}",
        flush=True,
    )


def compare(gen: ClusteredEmbeddings, n: int, n_queries: int) -> None:
    """Candidate approximate indexes at one size, each at the cheapest setting reaching recall@10 >= 0.95."""
    corpus = gen.sample(n, seed=1)
    queries = gen.sample(n_queries, seed=2)
    truth = exact_knn(corpus, queries, 10)
    nlist = default_nlist(n)
    train = corpus[np.random.default_rng(0).choice(n, size=min(n, 40 * nlist), replace=False)]
    ladder = (4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
    for factory in (f"IVF{nlist},Flat", f"IVF{nlist},SQ8", f"IVF{nlist},PQ32x8,Refine(SQ8)", "HNSW32,SQ8"):
        t0 = time.perf_counter()
        index = faiss.index_factory(corpus.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
        index.train(train)
        index.add(corpus)
        build_s = time.perf_counter() - t0
        for value in ladder:
            if factory.startswith("HNSW"):
                faiss.ParameterSpace().set_index_parameter(index, "efSearch", value)
            else:
                faiss.extract_index_ivf(index).nprobe = value
                if "Refine" in factory:
                    faiss.downcast_index(index).k_factor = 4  # re-rank 4 x k PQ candidates with the SQ8 codes
            recall = recall_at_k(index.search(queries, 10)[1], truth)
            if recall >= 0.95:
                break
        lat = latencies_ms(index.search, queries)
        size_mb = faiss.serialize_index(index).nbytes / 2**20
        param = "efSearch" if factory.startswith("HNSW") else "nprobe"
        row(factory[:10], n, build_s, lat, recall, size_mb, f"{factory} {param} {value}")
        del index
        gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--flat-queries", type=int, default=100, help="queries timed on the exact index")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--compare", type=int, default=None, help="compare candidate structures at this size")
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.threads)
    print(
        f"load average {os.getloadavg()}; FAISS {faiss.__version__}, {args.threads} threads; "
        f"EmbeddingIndex is exact up to {EXACT_MAX:,} vectors",
        flush=True,
    )
    gen = ClusteredEmbeddings()
    if args.compare:
        compare(gen, args.compare, args.queries)
        return
    for n in (int(s) for s in args.sizes.split(",")):
        bench_size(gen, n, args.queries, args.flat_queries)
    print(
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MB; load average {os.getloadavg()}",
        flush=True,
    )


if __name__ == "__main__":
    main()
