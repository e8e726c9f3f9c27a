"""Cosine-similarity search over embeddings with FAISS: exact when small, approximate (IVF) when large.

Below :data:`EXACT_MAX` vectors the index is exact (``IndexFlatIP`` over unit vectors): a query costs about a
millisecond at 10 k vectors, so nothing is gained by approximating, and the demo's results are the exact ones. Above
it, exact search grows linearly (≈ 5 ms at 100 k and ≈ 90 ms at 1 M 256-d vectors on 2 cores) and flat storage is
4 bytes per dimension, so the index becomes an inverted file (Jégou et al. 2011, https://doi.org/10.1109/TPAMI.2010.57)
whose coarse k-means is trained on a sample and whose vectors are stored as 8-bit scalar-quantised codes
(``IVF<nlist>,SQ8``: a quarter of the float32 RAM, and almost no loss in ranking), see ``bench/bench_index.py``.
``nprobe`` is tuned at build time on held-out queries to reach :data:`TARGET_RECALL`, and recall@10 against exact
search is measured on a second held-out sample and kept in :attr:`EmbeddingIndex.params` for every build.

Saved with FAISS's own I/O (:meth:`EmbeddingIndex.save`) plus a small JSON of the parameters, and memory-mapped on
load (:meth:`EmbeddingIndex.load`), so a million-vector index opens in milliseconds without reading it into RAM.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from core.data.progress import ProgressCallback, report

logger = logging.getLogger(__name__)

# Largest corpus searched exactly. bench/bench_index.py (2 threads, load 2-5): a flat query takes ≈ 0.4 ms at 10 k,
# ≈ 0.9 ms at 20 k and ≈ 4.8 ms at 100 k 256-d vectors, so at 50 k it stays near half the 5 ms budget; an IVF index
# below that would only give up recall (and has too few vectors to train its lists well).
EXACT_MAX = 50_000
# Tuned one point above the 0.95 goal, so recall on queries other than the tuning sample stays at or above it.
TARGET_RECALL = 0.96
NPROBE_LADDER = (1, 2, 4, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
# Coarse centroids trained per list: FAISS warns below 39; 30-50 keeps k-means at 1 M under a minute on 2 cores.
TRAIN_PER_LIST = 40
RECALL_QUERIES = 500
INDEX_FILE = "index.faiss"
PARAMS_FILE = "index.json"


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """float32, C-contiguous, unit L2 rows (zero rows stay zero)."""
    x = np.ascontiguousarray(np.atleast_2d(np.asarray(x, dtype=np.float32)))
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / np.maximum(norm, 1e-12), dtype=np.float32)


def default_nlist(n: int) -> int:
    """Inverted lists for ``n`` vectors: ≈ 4·√n rounded to a power of two (FAISS's guideline is 4-16·√n), capped so
    every list gets at least 39 training vectors (below that FAISS's k-means warns and lists come out uneven)."""
    wanted = round(math.log2(max(16.0, 4 * math.sqrt(n))))
    cap = math.floor(math.log2(max(2.0, n / 39)))
    return int(2 ** max(1, min(wanted, cap)))


def exact_knn(base: np.ndarray, queries: np.ndarray, k: int, chunk: int = 65_536) -> np.ndarray:
    """(Q, k) ids of the exact inner-product neighbours, streaming ``base`` in chunks (bounded memory, mmap-friendly).

    Args:
        base: (N, D) vectors, already unit rows or normalised here chunk by chunk.
        queries: (Q, D) unit vectors.
        k: neighbours per query.
    """
    best_sims = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.full((len(queries), k), -1, dtype=np.int64)
    for start in range(0, len(base), chunk):
        block = normalize_rows(base[start : start + chunk])
        sims = queries @ block.T
        kk = min(k, block.shape[0])
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        cand_sims = np.concatenate([best_sims, np.take_along_axis(sims, top, axis=1)], axis=1)
        cand_ids = np.concatenate([best_ids, top + start], axis=1)
        order = np.argsort(-cand_sims, axis=1, kind="stable")[:, :k]
        best_sims = np.take_along_axis(cand_sims, order, axis=1)
        best_ids = np.take_along_axis(cand_ids, order, axis=1)
    return best_ids


def recall_at_k(found: np.ndarray, truth: np.ndarray, found_sims=None, truth_sims=None, tol: float = 1e-5) -> float:
    """Mean share of the true ``k`` neighbours found among the returned ``k`` (recall@k against exact search).

    With the exact similarities of both answers, a returned row counts when it is as similar as the ``k``-th true
    neighbour: corpora with repeated vectors (machine reports repeat word for word) have many rows tied at the
    ``k``-th place, and counting ids would call a tied row a miss.
    """
    k = truth.shape[1]
    if found_sims is None or truth_sims is None:
        return float(np.mean([len(set(f[:k]) & set(t)) / k for f, t in zip(found, truth, strict=True)]))
    kth = np.min(truth_sims[:, :k], axis=1, keepdims=True)
    return float(np.mean(np.minimum(np.sum(found_sims[:, :k] >= kth - tol, axis=1), k) / k))


def exact_similarities(base: np.ndarray, queries: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """(Q, k) cosine of each query with the rows ``ids`` of ``base`` (``-inf`` where an id is -1, i.e. none found)."""
    flat = ids.ravel()
    rows = normalize_rows(base[np.maximum(flat, 0)]).reshape(*ids.shape, -1)
    sims = np.einsum("qd,qkd->qk", queries, rows)
    return np.where(ids >= 0, sims, -np.inf).astype(np.float32)


class EmbeddingIndex:
    """Cosine-similarity k-NN over a fixed set of embeddings: exact below ``exact_max`` vectors, IVF-SQ8 above.

    Args:
        embeddings: (N, D) array (a memory map is fine: the approximate build reads it in chunks); rows are
            L2-normalised before indexing.
        use_gpu: ``None`` moves the index to GPU 0 when ``faiss.get_num_gpus() > 0``; ``False`` keeps it on the CPU.
        exact_max: largest N searched exactly (default :data:`EXACT_MAX`; lowered in tests).
        nlist: inverted lists of the approximate index (default :func:`default_nlist`).
        nprobe: lists visited per query; ``None`` tunes it on held-out queries to reach ``target_recall``.
        target_recall: recall@10 the tuning aims for.
        train_size: vectors the coarse quantiser is trained on (default ``TRAIN_PER_LIST * nlist``).
        seed: seeds the training and held-out query samples.
        progress: ``progress((done, total), desc=...)`` during an approximate build (:mod:`core.data.progress`).
    """

    def __init__(
        self,
        embeddings: np.ndarray,
        *,
        use_gpu: bool | None = None,
        exact_max: int = EXACT_MAX,
        nlist: int | None = None,
        nprobe: int | None = None,
        target_recall: float = TARGET_RECALL,
        train_size: int | None = None,
        seed: int = 0,
        progress: ProgressCallback | None = None,
    ):
        embeddings = np.atleast_2d(embeddings)
        n, dim = embeddings.shape
        if use_gpu is None:
            use_gpu = faiss.get_num_gpus() > 0
        t0 = time.perf_counter()
        self._n, self._dim = int(n), int(dim)
        if n <= exact_max:
            # The small-corpus path, unchanged: exact search over the normalised vectors.
            self.embeddings: np.ndarray | None = normalize_rows(embeddings)
            index = faiss.IndexFlatIP(dim)
            index.add(self.embeddings)
            self.params: dict[str, Any] = {"kind": "flat", "n": self._n, "dim": self._dim, "recall_at_10": 1.0}
        else:
            self.embeddings = None
            index, self.params = _build_ivf(
                embeddings, use_gpu, nlist or default_nlist(n), nprobe, target_recall, train_size, seed, progress
            )
        self.params["build_s"] = round(time.perf_counter() - t0, 3)
        self._set_index(index, use_gpu)
        # Approximate builds are logged with their measured recall; the exact (demo) path stays quiet as before.
        logger.log(logging.DEBUG if self.exact else logging.INFO, "built %s index: %s",
                   "GPU" if self.on_gpu else "CPU", json.dumps(self.params))  # fmt: skip

    def _set_index(self, index: faiss.Index, use_gpu: bool) -> None:
        self.on_gpu = False
        if use_gpu:
            index = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index)
            self.on_gpu = True
        self._index = index
        # FAISS GPU indexes are not safe for concurrent searches; CPU search is, but the lock is cheap.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._n

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def exact(self) -> bool:
        return self.params["kind"] == "flat"

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` neighbours of each query.

        Args:
            queries: (Q, D) or (D,) embeddings (normalised here).
            k: neighbours per query; clipped to the index size.

        Returns:
            ``(similarities, ids)``, both (Q, k'), best first; similarities are cosines in [-1, 1] (approximate ones
            are computed from 8-bit codes: at most 0.002 from the exact cosine on 60 k clustered 256-d vectors); an
            id of -1 means fewer were found.
        """
        q = normalize_rows(queries)
        if q.shape[1] != self.dim:
            raise ValueError(f"query dimension {q.shape[1]} does not match the index dimension {self.dim}")
        k = max(1, min(int(k), len(self)))
        with self._lock:
            sims, ids = self._index.search(q, k)
        return sims, ids

    # ---- disk --------------------------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """Write ``index.faiss`` (FAISS's own format) and ``index.json`` (the build parameters) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        index = faiss.index_gpu_to_cpu(self._index) if self.on_gpu else self._index
        faiss.write_index(index, str(folder / INDEX_FILE))
        (folder / PARAMS_FILE).write_text(json.dumps(self.params, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True, use_gpu: bool | None = None) -> EmbeddingIndex:
        """Open an index written by :meth:`save`; with ``mmap`` its vectors stay on disk and are paged in on use."""
        folder = Path(folder)
        params = json.loads((folder / PARAMS_FILE).read_text(encoding="utf-8"))
        # IO_FLAG_MMAP maps IVF inverted lists; IO_FLAG_MMAP_IFC maps flat code arrays (IndexFlat*); combined they fail.
        flags = (faiss.IO_FLAG_MMAP_IFC if params["kind"] == "flat" else faiss.IO_FLAG_MMAP) if mmap else 0
        index = faiss.read_index(str(folder / INDEX_FILE), flags)
        if params["kind"] != "flat":
            faiss.extract_index_ivf(index).nprobe = int(params["nprobe"])
        self = cls.__new__(cls)
        self._n, self._dim = int(index.ntotal), int(index.d)
        self.embeddings = None
        self.params = params
        if use_gpu is None:
            use_gpu = faiss.get_num_gpus() > 0
        self._set_index(index, use_gpu)
        return self

    @staticmethod
    def saved_in(folder: Path) -> bool:
        """Whether ``folder`` holds an index written by :meth:`save`."""
        return (Path(folder) / INDEX_FILE).is_file() and (Path(folder) / PARAMS_FILE).is_file()


def _without_self(ids: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(Q, 10) neighbour ids with each query's own row removed (from an 11-NN answer)."""
    return np.stack([[i for i in found if i != row][:10] for found, row in zip(ids, rows, strict=True)])


def _build_ivf(
    embeddings: np.ndarray,
    use_gpu: bool,
    nlist: int,
    nprobe: int | None,
    target_recall: float,
    train_size: int | None,
    seed: int,
    progress: ProgressCallback | None,
) -> tuple[faiss.Index, dict[str, Any]]:
    """Train IVF-SQ8 on a sample, add everything in chunks, tune ``nprobe`` and measure recall@10 on held-out rows."""
    n, dim = embeddings.shape
    rng = np.random.default_rng(seed)
    train_size = int(min(n, train_size or TRAIN_PER_LIST * nlist))
    n_queries = min(RECALL_QUERIES, n // 4)
    perm = rng.permutation(n)
    train_rows = np.sort(perm[:train_size])
    # Query rows outside the training sample when there are enough: one set tunes nprobe, the other reports recall.
    held_out = n - train_size >= 2 * n_queries
    rest = perm[train_size:] if held_out else perm
    tune_rows, eval_rows = np.sort(rest[:n_queries]), np.sort(rest[n_queries : 2 * n_queries])

    factory = f"IVF{nlist},SQ8"
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    faiss.extract_index_ivf(index).cp.seed = seed
    work = faiss.index_cpu_to_gpu(faiss.StandardGpuResources(), 0, index) if use_gpu else index
    report(progress, 0, n, f"training {factory} on {train_size} vectors")
    t0 = time.perf_counter()
    work.train(normalize_rows(embeddings[train_rows]))
    train_s = time.perf_counter() - t0
    chunk = 65_536
    for start in range(0, n, chunk):
        report(progress, start, n, "adding vectors to the index")
        work.add(normalize_rows(embeddings[start : start + chunk]))
    index = faiss.index_gpu_to_cpu(work) if use_gpu else work

    report(progress, n, n, "measuring recall against exact search")
    rows = np.concatenate([tune_rows, eval_rows])
    queries = normalize_rows(embeddings[rows])
    truth = _without_self(exact_knn(embeddings, queries, 11), rows)
    ivf = faiss.extract_index_ivf(index)

    truth_sims = exact_similarities(embeddings, queries, truth)

    def recall_of(sel: slice) -> float:
        found = _without_self(index.search(queries[sel], 11)[1], rows[sel])
        found_sims = exact_similarities(embeddings, queries[sel], found)
        return recall_at_k(found, truth[sel], found_sims, truth_sims[sel])

    tune, evaluate = slice(0, len(tune_rows)), slice(len(tune_rows), len(rows))
    if nprobe is None:
        for nprobe in (p for p in NPROBE_LADDER if p <= nlist):
            ivf.nprobe = nprobe
            if recall_of(tune) >= target_recall:
                break
    ivf.nprobe = int(nprobe)
    recall = recall_of(evaluate)
    if recall < target_recall:
        logger.warning("approximate index recall@10 %.3f is below the target %.2f", recall, target_recall)
    params = {
        "kind": "ivf_sq8",
        "factory": factory,
        "n": int(n),
        "dim": int(dim),
        "nlist": int(nlist),
        "nprobe": int(nprobe),
        "train_size": int(train_size),
        "train_s": round(train_s, 3),
        "seed": int(seed),
        "target_recall": float(target_recall),
        "recall_at_10": round(recall, 4),
        "recall_queries": int(len(eval_rows)),
        # Each query is an indexed row; its own hit is dropped, so recall is over its 10 other nearest neighbours.
        "recall_queries_held_out_of_training": bool(held_out),
    }
    return index, params
