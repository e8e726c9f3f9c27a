import numpy as np
import pytest

from core.evaluate.metrics import auc_report, chance_recall_at_k, recall_at_k, retrieval_ranks


def test_perfect_and_random_scores():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 3)) < 0.3).astype(int)
    perfect = auc_report(y, y + 0.01 * rng.random(y.shape), ["a", "b", "c"], n_bootstrap=50)
    assert perfect.macro_auc == pytest.approx(1.0)
    assert perfect.ci95[0] > 0.99
    noise = auc_report(y, rng.random(y.shape), ["a", "b", "c"], n_bootstrap=200)
    assert 0.35 < noise.macro_auc < 0.65
    assert noise.ci95[0] < noise.macro_auc < noise.ci95[1]


def test_rare_classes_are_reported_but_left_out_of_the_macro_average():
    y = np.zeros((50, 2), dtype=int)
    y[:20, 0] = 1
    y[:3, 1] = 1  # only 3 positives
    scores = np.c_[y[:, 0] * 1.0, 1.0 - y[:, 1]]  # class b perfectly wrong
    report = auc_report(y, scores, ["a", "b"], n_bootstrap=20)
    assert report.classes_in_macro == ["a"]
    assert report.macro_auc == pytest.approx(1.0)
    assert report.per_class["b"] == pytest.approx(0.0)
    assert report.positives == {"a": 20, "b": 3}


def test_retrieval_ranks_and_recall():
    sim = np.array([[0.9, 0.1, 0.2], [0.5, 0.4, 0.1], [0.0, 0.0, 0.0]])
    ranks = retrieval_ranks(sim)
    assert ranks.tolist() == [1, 2, 3]  # the all-tie row ranks last
    assert recall_at_k(ranks, (1, 2)) == {"R@1": pytest.approx(1 / 3), "R@2": pytest.approx(2 / 3)}
    assert chance_recall_at_k(100, (1, 10)) == {"R@1": 0.01, "R@10": 0.1}
