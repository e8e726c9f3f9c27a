"""Text -> ECG by example: the ECGs whose reports state the query, averaged into one query on the ECG side.

Why: METS keeps its language model frozen, and a general-purpose sentence encoder embeds "left" and "right bundle
branch block" almost alike, so ranking ECGs by the text embedding of such a query mixes the two findings (the
held-out contrast set put RBBB ECGs above LBBB ones for the LBBB query). The ECG encoder tells them apart better
(linear probes on its embeddings). So when at least :data:`MIN_EXAMPLES` reports state the query's words in its order
(as :func:`core.search.lexical.contains_phrase` reads them: one clause, not negated), the ECGs behind them are the
query: their embeddings' mean direction ranks every ECG. Otherwise the text embedding ranks them as before.

Chosen on training records only (``python -m core.evaluate.by_example_dev``: PTB-XL folds 1-6 and two thirds of the
LUDB/CinC training records give the examples, the other training records are scored on the contrast set's 14
pairs): mean pair AUC 0.724 with the text embedding; by example 0.797 with at least 1 example, 0.787 with 2, 0.767
with 3, 0.784 with 5 (a side with fewer keeps its text); after the report search unified spellings ("ischaemia",
"infarct", "atrioventricular"): 0.801, 0.796, 0.776, 0.781. It loses where the text embedding was already good
(anterior vs inferior MI 0.742 -> 0.651, flutter vs fibrillation 0.646 -> 0.510) and wins where it confused twins
(LBBB vs RBBB 0.591 -> 0.919, left vs right axis 0.574 -> 0.759, T inversion vs normal 0.753 -> 0.995). Tried in
a one-off script and not kept: examples where any of the query's words matched (the 30 best: 0.740), the 100
phrase-matched reports with the best hybrid score (0.789), the mean of the text and example scores (0.792).

The ECGs whose reports state the query's opposite ("right bundle branch block" for "left bundle branch block",
:mod:`core.search.twins`) are counter-examples: the query moves away from their mean by :data:`OPPOSITE_WEIGHT`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from core.search.phrase_index import PhraseIndex
from core.search.twins import counterpart_phrases

MIN_EXAMPLES = 1  # fewer reports stating the query: rank by its text embedding (chosen on training records)
# The query moves away from the ECGs whose reports state its opposite (:mod:`core.search.twins`): their mean direction
# is subtracted with this weight (Rocchio's negative feedback). Chosen on training records (`by_example_dev`, METS):
# contrast set by example 0.801 at 0, 0.813 at 0.1, 0.825 at 0.2, 0.832 at 0.3, 0.845 at 0.5; precision@10 by example
# over the 16 queries 0.581, 0.581, 0.581, 0.575, 0.525 (a query pushed far from its twin drifts towards normal ECGs).
OPPOSITE_WEIGHT = 0.2


@dataclass(frozen=True)
class ExampleQuery:
    """An ECG-side query made of the ECGs whose reports state a phrase.

    Attributes:
        vector: unit-length mean of their (unit) ECG embeddings, less :data:`OPPOSITE_WEIGHT` times the mean of
            the opposites'.
        indices: their rows in the embeddings given.
        phrases: the phrases looked for.
        opposites: rows whose reports state the opposite of the phrases (and not the phrases).
        counterpart: the wording of the counterpart that most of those reports state (for a heading; "" if none).
    """

    vector: np.ndarray
    indices: np.ndarray
    phrases: tuple[str, ...]
    opposites: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    counterpart: str = ""

    @property
    def count(self) -> int:
        return int(self.indices.size)


def example_query(
    phrases: str | Sequence[str],
    reports: PhraseIndex | Sequence[str],
    ecg_emb: np.ndarray,
    *,
    allowed: np.ndarray | None = None,
    min_examples: int = MIN_EXAMPLES,
) -> ExampleQuery | None:
    """The example query for ``phrases`` (one or several wordings of a finding), or None with too few examples.

    Args:
        phrases: what to look for in the reports.
        reports: the report of each row of ``ecg_emb``, or their :class:`PhraseIndex` (an index keeps one, so that
            a query reads only the reports that hold its words).
        ecg_emb: (n, D) ECG embeddings.
        allowed: (n,) rows that may serve as examples (None: all).
        min_examples: fewer reports stating it give None.
    """
    wanted = (phrases,) if isinstance(phrases, str) else tuple(phrases)
    index = reports if isinstance(reports, PhraseIndex) else PhraseIndex(reports)
    if len(index) != len(ecg_emb):
        raise ValueError(f"{len(index)} report texts for {len(ecg_emb)} ECG embeddings")
    rows = index.stating_rows(wanted, allowed)
    if rows.size < max(1, min_examples):
        return None
    opposites = np.flatnonzero(np.isin(index.text_of_row, index.opposite_texts(wanted)))
    if allowed is not None:
        opposites = opposites[np.asarray(allowed, dtype=bool)[opposites]]
    mean = _mean_direction(ecg_emb, rows)
    if opposites.size:
        mean = mean - OPPOSITE_WEIGHT * _mean_direction(ecg_emb, opposites)
    norm = float(np.linalg.norm(mean))
    if norm < 1e-9:
        return None
    counterpart = _commonest_counterpart(index, wanted, opposites) if opposites.size else ""
    return ExampleQuery((mean / norm).astype(np.float32), rows, wanted, opposites, counterpart)


def _commonest_counterpart(index: PhraseIndex, phrases: tuple[str, ...], opposites: np.ndarray) -> str:
    """The one-word swap of the phrases that the most counter-example rows state ("atrial fibrillation" for
    "atrial flutter"; "" when none states a plain swap, e.g. only "incomplete ..." ones)."""
    counts = {
        swapped: int(np.isin(index.stating_rows([swapped]), opposites).sum())
        for phrase in phrases
        for swapped in counterpart_phrases(phrase)
    }
    best = max(counts, key=counts.get, default="")
    return best if best and counts[best] else ""


def _mean_direction(ecg_emb: np.ndarray, rows: np.ndarray) -> np.ndarray:
    emb = np.asarray(ecg_emb[rows], dtype=np.float64)
    emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    return emb.mean(axis=0)


@dataclass(frozen=True)
class ExampleSource:
    """Reports and ECG embeddings that example queries are drawn from (in evaluation: the training records only,
    so that no held-out report picks held-out ECGs)."""

    texts: Sequence[str]
    ecg_emb: np.ndarray
    min_examples: int = MIN_EXAMPLES

    @cached_property
    def reports(self) -> PhraseIndex:
        return PhraseIndex(self.texts)

    def query(self, phrases: Sequence[str]) -> ExampleQuery | None:
        return example_query(phrases, self.reports, self.ecg_emb, min_examples=self.min_examples)
