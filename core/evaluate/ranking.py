"""Text -> report rankers for the contrast set: dense cosine, or the hybrid BM25 + dense search of ``core.search``.

A ranker scores every (distinct) report for a query; higher is better. The evaluation uses the hybrid search when
``core.search`` is importable (it is what the app's report search runs), and dense cosine otherwise, and records
which one in the results.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence

import numpy as np

QueryEncoder = Callable[[list[str]], np.ndarray]
ReportRanker = Callable[[str], np.ndarray]
RANKERS = ("auto", "dense", "hybrid")


def dense_ranker(text_emb: np.ndarray, encode_query: QueryEncoder) -> ReportRanker:
    """Cosine similarity of the query embedding to each report embedding ``text_emb`` (n, D)."""
    reports = text_emb / np.maximum(np.linalg.norm(text_emb, axis=1, keepdims=True), 1e-12)

    def scores(query: str) -> np.ndarray:
        q = np.asarray(encode_query([query]), dtype=np.float64).reshape(-1)
        return reports @ (q / max(float(np.linalg.norm(q)), 1e-12))

    return scores


def hybrid_ranker(texts: Sequence[str], text_emb: np.ndarray, encode_query: QueryEncoder) -> ReportRanker:
    """Fused BM25 + dense score of ``core.search.HybridReportSearch`` for each of the distinct ``texts``."""
    from core.search import HybridReportSearch

    search = HybridReportSearch(list(texts), text_emb, encode_query)
    position = {t: i for i, t in enumerate(texts)}

    def scores(query: str) -> np.ndarray:
        # Fused scores lie in [0, 1]; reports the search drops (exclusions in the query) rank below all of them.
        out = np.full(len(texts), -1.0)
        for hit in search.search(query, k=len(texts)):
            out[position[hit.text]] = hit.score
        return out

    return scores


def hybrid_available() -> bool:
    """Whether ``core.search`` (the hybrid report search) can be imported."""
    return importlib.util.find_spec("core.search") is not None


def make_report_ranker(
    texts: Sequence[str], text_emb: np.ndarray, encode_query: QueryEncoder, kind: str = "auto"
) -> tuple[ReportRanker, str]:
    """A ranker over distinct report ``texts`` and the name of the one used (``"dense"`` or ``"hybrid"``).

    Args:
        texts: distinct report texts.
        text_emb: (len(texts), D) their embeddings by the checkpoint's text encoder.
        encode_query: the same encoder, for queries.
        kind: ``"auto"`` (hybrid where ``core.search`` exists, else dense), ``"dense"`` or ``"hybrid"``.
    """
    if kind not in RANKERS:
        raise ValueError(f"unknown ranker {kind!r}; choose from {RANKERS}")
    if kind == "hybrid" or (kind == "auto" and hybrid_available()):
        return hybrid_ranker(texts, text_emb, encode_query), "hybrid"
    return dense_ranker(text_emb, encode_query), "dense"
