"""Hybrid text -> report search: BM25 over clinical tokens fused with the checkpoint's dense report embeddings.

Fusion rule (a convex combination of normalised scores, "relative score fusion")::

    fused = alpha * bm25 / max(bm25) + (1 - alpha) * (cos - min(cos)) / (max(cos) - min(cos))

with the maxima and minima taken over all distinct reports for this query, and ``alpha = 0.6`` by default; a report
whose best match states the finding only hedged ("possible ...", :mod:`core.search.hedges`) has its ``bm25`` term
multiplied by :data:`HEDGE_FACTOR`, and one that states the opposite finding ("right bundle branch block" for
"LBBB", :mod:`core.search.twins`) its dense term by :data:`TWIN_FACTOR`. Lexical evidence leads: the general-purpose
language model embeds "left" and "right bundle branch block" almost alike, so a report that says the query's words
in the query's order must beat one that is merely near in embedding space. The dense part orders reports the words
do not separate and carries queries whose words occur in no report (then ``max(bm25) = 0`` and the ranking is the
dense one). Without a dense part the ranking is BM25 alone.

Identical report texts collapse into one row (a :class:`Hit`) that lists every record behind it.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from core.search.filters import parse_query
from core.search.hedges import only_hedged, query_words
from core.search.lexical import LexicalIndex, contains_phrase
from core.search.twins import contrast_pairs, states_twin

QueryEncoder = Callable[[list[str]], np.ndarray]
DEFAULT_ALPHA = 0.6
# The lexical part of a report that states the query's finding only hedged keeps this share. Chosen on the training
# reports (README, "Hedged findings rank after definite ones"; 16 queries, lexical search): definite statements of the
# query's phrase in the top 10 105 -> 124, while reports stating the phrase at all went 153 -> 151 (0.7: 130 / 149).
HEDGE_FACTOR = 0.8
# The dense part of a report that states the opposite of the query's finding (:mod:`core.search.twins`) keeps this
# share: the embedding cannot tell twins apart, the words can. Chosen on the training reports (README, "Opposite
# findings"; `by_example_dev`'s text -> report over the contrast set, mean pair AUC METS / D-BETA / FG-CLEP):
# 0.755 / 0.743 / 0.721 at 1 (no lowering), 0.796 / 0.799 / 0.773 at 0.5, 0.806 / 0.810 / 0.784 at 0.25,
# 0.809 / 0.813 / 0.787 at 0.
TWIN_FACTOR = 0.0


@dataclass(frozen=True)
class Hit:
    """One distinct report text and the records that carry it.

    Attributes:
        text: the report text.
        score: fused score in [0, 1] (higher is better).
        lexical: BM25 part, normalised by the best BM25 score of the query (0 when no word matched), times
            :data:`HEDGE_FACTOR` when ``hedged``.
        dense: dense part, the cosine similarity min-max normalised over the reports (0 without a dense part), times
            :data:`TWIN_FACTOR` when ``twin``.
        cosine: raw cosine similarity of the query and report embeddings (``nan`` without a dense part).
        indices: positions (in the ``texts`` given to the search) of the records with this text.
        hedged: the report states the query's finding only hedged (its lexical part is lowered by
            :data:`HEDGE_FACTOR`).
        twin: the report states the opposite finding (its dense part is lowered by :data:`TWIN_FACTOR`).
    """

    text: str
    score: float
    lexical: float
    dense: float
    cosine: float
    indices: tuple[int, ...]
    hedged: bool = False
    twin: bool = False

    @property
    def count(self) -> int:
        """How many records carry this text."""
        return len(self.indices)


def _minmax(x: np.ndarray) -> np.ndarray:
    lo, hi = float(x.min()), float(x.max())
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


class HybridReportSearch:
    """Search the reports of a set of records by free text.

    Args:
        texts: report text of each record (duplicates allowed; they collapse into one hit).
        dense: (n_records, D) report embeddings aligned with ``texts`` (normalised or not), or None for lexical only.
        encode_query: maps ``[query]`` to a (1, D) embedding in the same space as ``dense``; None for lexical only.
        alpha: weight of the lexical part in the fusion (module docstring).
    """

    def __init__(
        self,
        texts: Sequence[str],
        dense: np.ndarray | None = None,
        encode_query: QueryEncoder | None = None,
        *,
        alpha: float = DEFAULT_ALPHA,
    ):
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha is a weight in [0, 1], not {alpha}")
        self.alpha = alpha
        groups: dict[str, list[int]] = {}
        for i, text in enumerate(texts):
            groups.setdefault(str(text).strip(), []).append(i)
        self.texts = list(groups)
        self.members = [tuple(v) for v in groups.values()]
        self.lexical = LexicalIndex(self.texts)
        self.encode_query = encode_query
        self.dense: np.ndarray | None = None
        if dense is not None and encode_query is not None:
            dense = np.asarray(dense, dtype=np.float32)
            if len(dense) != len(texts):
                raise ValueError(f"{len(dense)} embeddings for {len(texts)} texts")
            first = np.array([m[0] for m in self.members], dtype=np.int64)
            # Identical texts have identical embeddings; the first record stands for its group.
            rows = dense[first] if len(first) else np.zeros((0, dense.shape[-1]), np.float32)
            self.dense = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)

    def __len__(self) -> int:
        """Number of distinct report texts."""
        return len(self.texts)

    def _cosines(self, query: str) -> np.ndarray | None:
        if self.dense is None or not len(self.texts):
            return None
        q = np.asarray(self.encode_query([query]), dtype=np.float32).reshape(-1)
        return self.dense @ (q / max(float(np.linalg.norm(q)), 1e-12))

    def search(
        self,
        query: str,
        k: int = 10,
        *,
        exclude: Sequence[str] = (),
        allowed: np.ndarray | None = None,
    ) -> list[Hit]:
        """The ``k`` best distinct reports for a query, best first.

        Args:
            query: free text; "..., not X" / "without X" in it adds X to ``exclude`` (:func:`parse_query`).
            k: number of distinct reports returned.
            exclude: phrases (or abbreviations such as "RBBB") whose presence in a report drops it.
            allowed: optional (n_records,) bool mask (dataset/label filters, :func:`record_mask`); records outside
                it are left out of a hit, and a hit with none left is dropped.

        Returns:
            Up to ``k`` hits with fused, lexical and dense scores and the records behind each.
        """
        positive, in_query = parse_query(query)
        excluded = [*in_query, *(t.strip() for t in exclude if t.strip())]
        if not positive:
            raise ValueError("the query has nothing to look for (only exclusions)")
        lexical = self.lexical.scores(positive)
        best = float(lexical.max()) if len(lexical) else 0.0
        lex_part = lexical / best if best > 0 else np.zeros_like(lexical)
        cos = self._cosines(positive)
        if cos is None:
            fused, dense_part, cos = lex_part, np.zeros_like(lex_part), np.full_like(lex_part, np.nan)
            lex_weight = 1.0
        else:
            dense_part = _minmax(cos)
            fused = self.alpha * lex_part + (1 - self.alpha) * dense_part if best > 0 else dense_part
            lex_weight = self.alpha
        wanted = query_words(positive) if best > 0 else frozenset()
        hedge_cut = lex_weight * (1.0 - HEDGE_FACTOR) * lex_part
        pairs = contrast_pairs(positive)
        twin_cut = (1.0 - lex_weight) * (1.0 - TWIN_FACTOR) * dense_part

        def lowering(g: int) -> tuple[float, bool, bool]:
            hedged = bool(hedge_cut[g] > 0) and only_hedged(self.texts[g], wanted)
            twin = bool(twin_cut[g] > 0) and states_twin(self.texts[g], pairs)
            return hedge_cut[g] * hedged + twin_cut[g] * twin, hedged, twin

        hits: list[Hit] = []
        for g, score, (_, hedged, twin) in self._ranked(fused, lowering if wanted or pairs else None):
            if len(hits) >= k:
                break
            text = self.texts[g]
            if any(contains_phrase(text, term) for term in excluded):
                continue
            members = self.members[g]
            if allowed is not None:
                members = tuple(i for i in members if allowed[i])
                if not members:
                    continue
            lex = float(lex_part[g]) * (HEDGE_FACTOR if hedged else 1.0)
            dense = float(dense_part[g]) * (TWIN_FACTOR if twin else 1.0)
            hits.append(Hit(text, score, lex, dense, float(cos[g]), members, hedged, twin))
        return hits

    @staticmethod
    def _ranked(
        fused: np.ndarray, lowering: Callable[[int], tuple[float, bool, bool]] | None
    ) -> Iterator[tuple[int, float, tuple[float, bool, bool]]]:
        """Distinct reports best first, as ``(index, score, lowering(index))``: a report's score is its ``fused``
        score less the first element of ``lowering(index)`` (a cut of zero or more; ``None``: no report is lowered).

        Lazy: a report is read only when its unlowered score could still place it (lowering never raises a score, so
        the next unread report's ``fused`` bounds every report not read yet). Ties keep corpus order.
        """
        order = np.argsort(-fused, kind="stable")
        if lowering is None:
            yield from ((int(g), float(fused[g]), (0.0, False, False)) for g in order)
            return
        waiting: list[tuple[float, int, int, tuple[float, bool, bool]]] = []  # (-score, rank in order, index, ...)
        for rank, g in enumerate(order):
            while waiting and -waiting[0][0] >= fused[g]:
                score, _, done, why = heapq.heappop(waiting)
                yield done, -score, why
            why = lowering(int(g))
            heapq.heappush(waiting, (-float(fused[g] - why[0]), rank, int(g), why))
        while waiting:
            score, _, done, why = heapq.heappop(waiting)
            yield done, -score, why
