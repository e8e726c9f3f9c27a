"""Metrics shared by the evaluation tasks: per-class and macro AUC with bootstrap intervals, retrieval ranks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import roc_auc_score

# A class needs this many positives (and at least one negative) to enter the macro average: AUCs on 1-4 positives
# swing by tens of points and would dominate the mean on the small test sets available here.
MIN_POSITIVES = 5


@dataclass(frozen=True)
class AUCReport:
    """Per-class and macro ROC AUC over a multi-label task."""

    macro_auc: float | None
    ci95: tuple[float, float] | None
    per_class: dict[str, float]
    positives: dict[str, int]
    n: int
    classes_in_macro: list[str]

    def to_dict(self) -> dict:
        return {
            "macro_auc": self.macro_auc,
            "ci95": list(self.ci95) if self.ci95 else None,
            "per_class_auc": self.per_class,
            "positives": self.positives,
            "n": self.n,
            "classes_in_macro": self.classes_in_macro,
            "min_positives": MIN_POSITIVES,
        }


def auc_report(
    y_true: np.ndarray,
    scores: np.ndarray,
    class_names: Sequence[str],
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> AUCReport:
    """Per-class AUC, macro AUC over classes with enough positives, and a percentile bootstrap 95 % interval.

    Args:
        y_true: (n, classes) 0/1 matrix.
        scores: (n, classes) real scores (higher = more likely).
        class_names: names of the columns.
        n_bootstrap: resamples of the records (with replacement) for the interval.
        seed: RNG seed, so the interval is reproducible.
    """
    y_true = np.asarray(y_true, dtype=int)
    scores = np.asarray(scores, dtype=float)
    if y_true.shape != scores.shape or y_true.shape[1] != len(class_names):
        raise ValueError(f"shapes differ: labels {y_true.shape}, scores {scores.shape}, {len(class_names)} names")
    n = y_true.shape[0]
    positives = {name: int(y_true[:, j].sum()) for j, name in enumerate(class_names)}
    usable = [j for j in range(len(class_names)) if MIN_POSITIVES <= y_true[:, j].sum() < n]
    per_class = {
        class_names[j]: float(roc_auc_score(y_true[:, j], scores[:, j]))
        for j in range(len(class_names))
        if 0 < y_true[:, j].sum() < n
    }
    if not usable:
        return AUCReport(None, None, per_class, positives, n, [])
    macro = float(np.mean([per_class[class_names[j]] for j in usable]))

    def resampled_macro(idx: np.ndarray) -> float | None:
        aucs = [roc_auc_score(y_true[idx, j], scores[idx, j]) for j in usable if 0 < y_true[idx, j].sum() < n]
        return float(np.mean(aucs)) if aucs else None

    ci = bootstrap_ci(resampled_macro, n, n_bootstrap=n_bootstrap, seed=seed)
    return AUCReport(macro, ci, per_class, positives, n, [class_names[j] for j in usable])


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float | None], n: int, *, n_bootstrap: int = 1000, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile bootstrap 95 % interval of ``statistic`` over resamples (with replacement) of ``n`` items.

    Args:
        statistic: maps an index array (a resample of ``range(n)``) to a number, or ``None`` where the resample
            cannot be scored (e.g. it drew no positive); such resamples are skipped.
        n: number of items (records) resampled.
        n_bootstrap: resamples.
        seed: RNG seed, so the interval is reproducible.

    Returns:
        ``(low, high)``, or ``None`` when no resample could be scored.
    """
    rng = np.random.default_rng(seed)
    samples = [s for s in (statistic(rng.integers(0, n, size=n)) for _ in range(n_bootstrap)) if s is not None]
    if not samples:
        return None
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)


def binary_auc(positive: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC of ``scores`` for a 0/1 ``positive`` vector, ``None`` if either outcome is missing."""
    positive = np.asarray(positive, dtype=bool)
    if positive.all() or not positive.any():
        return None
    return float(roc_auc_score(positive, scores))


def retrieval_ranks(similarity: np.ndarray) -> np.ndarray:
    """Rank (1 = best) of the true partner for each query, where row i's true partner is column i."""
    similarity = np.asarray(similarity)
    true_scores = np.diag(similarity)[:, None]
    # Ties count against the query: a model that gives every candidate the same score must not look perfect.
    return (similarity >= true_scores).sum(axis=1)


def recall_at_k(ranks: np.ndarray, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Share of queries whose true partner is within the top k, for each k."""
    return {f"R@{k}": float(np.mean(ranks <= k)) for k in ks}


def chance_recall_at_k(n_candidates: int, ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Recall@k of a random ranking over ``n_candidates`` items (k / n)."""
    return {f"R@{k}": min(1.0, k / n_candidates) for k in ks}
