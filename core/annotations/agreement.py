"""Agreement between reviewers, per label: Cohen's kappa for each pair of reviewers and Fleiss' kappa over all of
them (``sklearn.metrics.cohen_kappa_score``, ``statsmodels.stats.inter_rater.fleiss_kappa``; nothing hand-written).

Each reviewer's current review of a record (:mod:`core.annotations.reviews`) rates every label as present (1) or
absent (0) in their label set. For a pair, kappa is computed over the records both reviewed; Fleiss' kappa needs
the same raters on every record, so it is computed over the records that *every* reviewer reviewed. When kappa is
not defined (fewer than two reviewers or two shared records, or every rating the same, so that chance agreement is
1) the result has ``kappa=None`` and a ``reason``.

Usage::

    for row in agreement(store.reviewer_states()):
        print(row.label, row.fleiss.kappa, [(p.pair, p.kappa, p.n) for p in row.pairs])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from core.annotations.reviews import ReviewerState


@dataclass(frozen=True)
class PairKappa:
    """Cohen's kappa of two reviewers for one label over the ``n`` records both reviewed (``None``: see reason)."""

    label: str
    pair: tuple[str, str]
    kappa: float | None
    n: int
    reason: str = ""

    def to_dict(self) -> dict:
        return {"label": self.label, "pair": list(self.pair), "kappa": self.kappa, "n": self.n, "reason": self.reason}


@dataclass(frozen=True)
class FleissKappa:
    """Fleiss' kappa of ``reviewers`` for one label over the ``n`` records all of them reviewed."""

    label: str
    reviewers: tuple[str, ...]
    kappa: float | None
    n: int
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "reviewers": list(self.reviewers),
            "kappa": self.kappa,
            "n": self.n,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class LabelAgreement:
    """Agreement on one label: every pair of reviewers, and all reviewers together."""

    label: str
    fleiss: FleissKappa
    pairs: list[PairKappa] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"label": self.label, "fleiss": self.fleiss.to_dict(), "pairs": [p.to_dict() for p in self.pairs]}


def _ratings(states: Mapping[tuple[str, str], ReviewerState]) -> dict[str, dict[str, frozenset[str]]]:
    """reviewer -> record id -> labels."""
    out: dict[str, dict[str, frozenset[str]]] = {}
    for (record_id, reviewer), state in states.items():
        out.setdefault(reviewer, {})[record_id] = frozenset(state.labels)
    return out


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def cohen(label: str, a: Mapping[str, frozenset[str]], b: Mapping[str, frozenset[str]], pair: tuple[str, str]):
    """:class:`PairKappa` of two reviewers' ratings (record id -> labels) for ``label``."""
    from sklearn.metrics import cohen_kappa_score

    shared = sorted(set(a) & set(b))
    if len(shared) < 2:
        return PairKappa(label, pair, None, len(shared), f"{len(shared)} record(s) reviewed by both; need 2")
    ya = [int(label in a[r]) for r in shared]
    yb = [int(label in b[r]) for r in shared]
    if len(set(ya) | set(yb)) < 2:
        return PairKappa(label, pair, None, len(shared), "every rating is the same: kappa is undefined")
    return PairKappa(label, pair, _finite(cohen_kappa_score(ya, yb, labels=[0, 1])), len(shared))


def fleiss(label: str, ratings: Mapping[str, Mapping[str, frozenset[str]]]) -> FleissKappa:
    """:class:`FleissKappa` of every reviewer in ``ratings`` (reviewer -> record id -> labels) for ``label``."""
    reviewers = tuple(sorted(ratings))
    if len(reviewers) < 2:
        return FleissKappa(label, reviewers, None, 0, f"{len(reviewers)} reviewer(s); need 2")
    common = sorted(set.intersection(*(set(ratings[r]) for r in reviewers)))
    if len(common) < 2:
        return FleissKappa(label, reviewers, None, len(common), f"{len(common)} record(s) reviewed by all; need 2")
    import numpy as np
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    data = np.array([[int(label in ratings[rv][rec]) for rv in reviewers] for rec in common])
    if len(np.unique(data)) < 2:
        return FleissKappa(label, reviewers, None, len(common), "every rating is the same: kappa is undefined")
    table, _ = aggregate_raters(data, n_cat=2)
    return FleissKappa(label, reviewers, _finite(fleiss_kappa(table, method="fleiss")), len(common))


def agreement(states: Mapping[tuple[str, str], ReviewerState]) -> list[LabelAgreement]:
    """Per label (every label any reviewer gave, sorted): Cohen's kappa per pair and Fleiss' kappa overall.

    Args:
        states: ``(record_id, reviewer)`` -> current review (``AnnotationStore.reviewer_states()``).
    """
    ratings = _ratings(states)
    labels = sorted({lab for s in states.values() for lab in s.labels})
    out = []
    for label in labels:
        pairs = [cohen(label, ratings[a], ratings[b], (a, b)) for a, b in itertools.combinations(sorted(ratings), 2)]
        out.append(LabelAgreement(label, fleiss(label, ratings), pairs))
    return out
