"""The review queue: which records a reviewer should check first. Pure functions over plain dicts.

Orderings (``method``):

- ``"disagreement"``: how far the model's probabilities are from the reference labels. Zero-shot probabilities are a
  softmax over the classes (they sum to 1), so the reference is made a distribution too (``q = y / sum(y)`` over the
  classes the model scores) and the score is the total variation distance ``1/2 * sum_c |p_c - q_c|`` in [0, 1];
  with ``multi_label=True`` (independent per-class probabilities) it is ``mean_c |p_c - y_c|``. Either way scores
  are comparable across datasets with different numbers of classes and labels. The records where the model most
  confidently contradicts the reference are the likeliest label errors (the idea behind confident learning,
  Northcutt et al. 2021, https://arxiv.org/abs/1911.00068).
- ``"max_disagreement"``: ``max_c |p_c - q_c|`` (one strongly contradicted class is enough).
- ``"uncertainty"``: entropy of the model's class distribution, normalised to [0, 1] by ``log(C)`` — records the
  model cannot place, whatever the reference says.

Records whose reference has none of the model's classes cannot be compared: they get score 0 and say so.
Every item carries a one-line reason ("reference NORM: model 0.02; model: MI 0.96 (not in reference)").

Two orderings need no model (:data:`REVIEW_METHODS`): ``"reviewer_disagreement"`` (:func:`reviewer_disagreement_queue`,
records whose reviewers gave different labels and that nobody has adjudicated) and ``"unreviewed"``
(:func:`unreviewed_first_queue`, records nobody has reviewed first, in dataset order).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

METHODS: tuple[str, ...] = ("disagreement", "max_disagreement", "uncertainty")
REVIEW_METHODS: tuple[str, ...] = ("reviewer_disagreement", "unreviewed")


@dataclass(frozen=True)
class QueueItem:
    """One record in the review queue.

    Attributes:
        record_id: the record.
        score: the ordering score (higher = review sooner).
        reason: why, in words.
    """

    record_id: str
    score: float
    reason: str


def _disagreements(
    probs: Mapping[str, float], reference: Collection[str], multi_label: bool
) -> list[tuple[str, float, float]]:
    """(class, p, target) for every class the model scores; targets sum to 1 unless ``multi_label``."""
    hits = [c for c in probs if c in reference]
    weight = 1.0 if multi_label else 1.0 / max(len(hits), 1)
    return [(c, float(p), weight if c in reference else 0.0) for c, p in probs.items()]


def _reason_disagreement(terms: list[tuple[str, float, float]], n: int = 2) -> str:
    worst = sorted(terms, key=lambda t: (-abs(t[1] - t[2]), t[0]))[:n]
    parts = []
    for c, p, y in worst:
        if abs(p - y) < 0.05:
            continue
        if y > 0:
            parts.append(f"reference {c}: model {p:.2f}")
        else:
            parts.append(f"model: {c} {p:.2f} (not in reference)")
    return "; ".join(parts) or "model agrees with the reference"


def entropy(probs: Iterable[float]) -> float:
    """Entropy of a class distribution normalised to [0, 1] (``probs`` are renormalised to sum to 1)."""
    values = [max(float(p), 0.0) for p in probs]
    total = sum(values)
    if len(values) < 2 or total <= 0:
        return 0.0
    h = -sum((p / total) * math.log(p / total) for p in values if p > 0)
    return h / math.log(len(values))


def score_record(
    probs: Mapping[str, float], reference: Collection[str], method: str = "disagreement", *, multi_label: bool = False
) -> tuple[float, str]:
    """(score, reason) of one record; see the module docstring for the methods."""
    if method == "uncertainty":
        h = entropy(probs.values())
        top = sorted(probs.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
        tops = ", ".join(f"{c} {p:.2f}" for c, p in top)
        return h, f"entropy {h:.2f} (top: {tops})"
    if method not in METHODS:
        raise ValueError(f"unknown queue method {method!r}; use one of {', '.join(METHODS)}")
    if not any(c in reference for c in probs):
        return 0.0, "no reference label among the model's classes"
    terms = _disagreements(probs, reference, multi_label)
    gaps = [abs(p - y) for _, p, y in terms]
    if method == "max_disagreement":
        score = max(gaps)
    elif multi_label:
        score = sum(gaps) / len(gaps)
    else:
        score = 0.5 * sum(gaps)
    return score, _reason_disagreement(terms)


def review_queue(
    model_probs: Mapping[str, Mapping[str, float]],
    reference: Mapping[str, Collection[str]],
    *,
    method: str = "disagreement",
    multi_label: bool = False,
    exclude: Collection[str] = (),
    limit: int | None = None,
) -> list[QueueItem]:
    """Records ordered for review, highest score first (ties by record id, so the order is deterministic).

    Args:
        model_probs: record id -> {class: model probability} (e.g. zero-shot softmax over a prompt set's classes).
        reference: record id -> the record's reference labels (records missing here have none).
        method: ``"disagreement"``, ``"max_disagreement"`` or ``"uncertainty"``.
        multi_label: the probabilities are independent per class (sigmoid), not a distribution (softmax).
        exclude: record ids to leave out (e.g. already reviewed).
        limit: keep the first ``limit`` items.
    """
    if method not in METHODS:
        raise ValueError(f"unknown queue method {method!r}; use one of {', '.join(METHODS)}")
    excluded = set(exclude)
    items = []
    for record_id, probs in model_probs.items():
        if record_id in excluded:
            continue
        score, reason = score_record(probs, set(reference.get(record_id, ())), method, multi_label=multi_label)
        items.append(QueueItem(record_id, float(score), reason))
    items.sort(key=lambda it: (-it.score, it.record_id))
    return items[:limit] if limit is not None else items


def next_in_queue(
    queue: Sequence[QueueItem] | Sequence[str], current: str | None = None, skip: Collection[str] = ()
) -> str | None:
    """The record to open next: the first after ``current`` (or from the top) that is not in ``skip``; wraps once."""
    ids = [q.record_id if isinstance(q, QueueItem) else str(q) for q in queue]
    if not ids:
        return None
    start = ids.index(current) + 1 if current in ids else 0
    for record_id in ids[start:] + ids[:start]:
        if record_id != current and record_id not in skip:
            return record_id
    return None


def reviewer_disagreement_queue(reviews: Mapping[str, Mapping[str, Collection[str]]]) -> list[QueueItem]:
    """Records whose reviewers disagree, most distinct label sets first (then by record id).

    Args:
        reviews: record id -> {reviewer: their labels}, for the open disagreements only.
    """
    items = []
    for record_id, by_reviewer in reviews.items():
        sets = {tuple(sorted(labels)) for labels in by_reviewer.values()}
        reason = "; ".join(f"{who}: {', '.join(labels) or '(none)'}" for who, labels in sorted(by_reviewer.items()))
        items.append(QueueItem(record_id, float(len(sets)), f"reviewers disagree: {reason}"))
    items.sort(key=lambda it: (-it.score, it.record_id))
    return items


def unreviewed_first_queue(record_ids: Sequence[str], reviewers: Mapping[str, Collection[str]]) -> list[QueueItem]:
    """Every record, those nobody has reviewed first, each group in the given (dataset) order.

    Args:
        record_ids: the records, in dataset order.
        reviewers: record id -> who reviewed it (records missing here have no review).
    """
    items = []
    for record_id in record_ids:
        who = sorted(reviewers.get(record_id, ()))
        reason = f"reviewed by {', '.join(who)}" if who else "not reviewed yet"
        items.append(QueueItem(record_id, 0.0 if who else 1.0, reason))
    return sorted(items, key=lambda it: -it.score)  # stable: dataset order within each group
