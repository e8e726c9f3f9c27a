"""The three evaluations over precomputed embeddings: zero-shot, linear probe and retrieval."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import comb
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from core.evaluate.data import EvalTask
from core.evaluate.metrics import auc_report, recall_at_k
from core.zeroshot import TextEncoder, class_embeddings, scores

KS = (1, 5, 10)


def zero_shot(
    ecg_emb: np.ndarray, truth: np.ndarray, task: EvalTask, encode_text: TextEncoder, *, n_bootstrap: int = 1000
) -> dict:
    """Per-class and macro AUC of prompt similarities on held-out ECGs."""
    names, class_emb = class_embeddings(task.prompts.classes, encode_text)
    return auc_report(truth, scores(ecg_emb, class_emb), names, n_bootstrap=n_bootstrap).to_dict()


def linear_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    class_names: Sequence[str],
    *,
    fraction: float = 1.0,
    seed: int = 0,
    n_bootstrap: int = 1000,
) -> dict:
    """One-vs-rest logistic regression on frozen features; classes without both outcomes in training are skipped.

    Args:
        fraction: share of the training records used (drawn with ``seed``), e.g. 0.1 for the low-label regime.
    """
    rng = np.random.default_rng(seed)
    n_train = max(2, int(round(fraction * len(train_x))))
    idx = np.sort(rng.choice(len(train_x), size=n_train, replace=False))
    x_tr, y_tr = train_x[idx], train_y[idx]
    scaler = StandardScaler().fit(x_tr)
    x_tr, x_te = scaler.transform(x_tr), scaler.transform(test_x)
    test_scores = np.zeros(test_y.shape, dtype=float)
    fitted = []
    for j in range(train_y.shape[1]):
        if 0 < y_tr[:, j].sum() < len(y_tr):
            clf = LogisticRegression(C=0.1, max_iter=2000).fit(x_tr, y_tr[:, j])
            test_scores[:, j] = clf.decision_function(x_te)
            fitted.append(j)
    keep = [j for j in fitted]
    report = auc_report(
        test_y[:, keep], test_scores[:, keep], [class_names[j] for j in keep], n_bootstrap=n_bootstrap, seed=seed
    ).to_dict()
    report["n_train"] = int(n_train)
    report["fraction"] = fraction
    return report


def retrieval(ecg_emb: np.ndarray, text_emb_by_text: dict[str, np.ndarray], texts: Sequence[str]) -> dict:
    """ECG->report and report->ECG retrieval on held-out pairs.

    Identical report texts are merged into one candidate (PTB-XL has many "sinus rhythm. normal ECG." reports), so
    a hit means "retrieved the right text", and report->ECG counts a hit when any ECG with that text is ranked.

    Returns:
        ``ecg_to_report`` and ``report_to_ecg``: Recall@1/5/10, median rank, number of queries and candidates, and
        the same recalls for a random ranking (``chance``).
    """
    unique = sorted(set(texts))
    text_index = {t: i for i, t in enumerate(unique)}
    partner = np.array([text_index[t] for t in texts])
    text_emb = np.stack([text_emb_by_text[t] for t in unique])
    sim = ecg_emb @ text_emb.T  # (n_ecg, n_unique)

    # ECG -> report: rank of the true text among the unique texts (ties count against the query).
    true = sim[np.arange(len(texts)), partner][:, None]
    e2r_ranks = (sim >= true).sum(axis=1)
    e2r = {
        **recall_at_k(e2r_ranks, KS),
        "median_rank": float(np.median(e2r_ranks)),
        "n_queries": len(texts),
        "n_candidates": len(unique),
        "chance": {f"R@{k}": min(1.0, k / len(unique)) for k in KS},
        "chance_median_rank": (len(unique) + 1) / 2,
    }

    # report -> ECG: best rank among the ECGs that carry the text.
    r2e_ranks, chance = [], {k: [] for k in KS}
    n = len(texts)
    for i in range(len(unique)):
        col = sim[:, i]
        relevant = partner == i
        best = col[relevant].max()
        r2e_ranks.append(int((col[~relevant] >= best).sum()) + 1)
        m = int(relevant.sum())
        for k in KS:  # P(at least one of m relevant items in a random top k of n)
            chance[k].append(1.0 - comb(n - m, k, exact=False) / comb(n, k, exact=False) if k < n else 1.0)
    r2e_ranks = np.asarray(r2e_ranks)
    r2e = {
        **recall_at_k(r2e_ranks, KS),
        "median_rank": float(np.median(r2e_ranks)),
        "n_queries": len(unique),
        "n_candidates": n,
        "chance": {f"R@{k}": float(np.mean(chance[k])) for k in KS},
    }
    return {"ecg_to_report": e2r, "report_to_ecg": r2e}
