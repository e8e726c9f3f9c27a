import numpy as np
import pytest

from core.evaluate.tasks import linear_probe, retrieval


def test_retrieval_merges_identical_reports_and_reports_chance():
    texts = ["normal", "normal", "afib", "lbbb"]
    emb = {"normal": np.array([1.0, 0, 0]), "afib": np.array([0, 1.0, 0]), "lbbb": np.array([0, 0, 1.0])}
    ecg = np.array([[1.0, 0, 0], [0.9, 0.1, 0], [0, 1.0, 0], [0, 0.2, 0.8]])
    out = retrieval(ecg, emb, texts)
    assert out["ecg_to_report"]["R@1"] == 1.0
    assert out["ecg_to_report"]["n_candidates"] == 3
    assert out["ecg_to_report"]["chance"]["R@1"] == pytest.approx(1 / 3)
    assert out["report_to_ecg"]["R@1"] == 1.0
    # "normal" has 2 relevant ECGs of 4: a random top-1 hits with probability 1/2.
    assert out["report_to_ecg"]["chance"]["R@1"] == pytest.approx((0.5 + 0.25 + 0.25) / 3)


def test_retrieval_with_wrong_embeddings_ranks_low():
    texts = ["a", "b", "c"]
    emb = {"a": np.array([1.0, 0]), "b": np.array([0, 1.0]), "c": np.array([0.7, 0.7])}
    ecg = np.array([[0, 1.0], [1.0, 0], [-1.0, -1.0]])
    out = retrieval(ecg, emb, texts)
    assert out["ecg_to_report"]["R@1"] == 0.0
    assert out["ecg_to_report"]["median_rank"] >= 2


def test_linear_probe_learns_separable_features_and_not_noise():
    rng = np.random.default_rng(0)
    y = (rng.random((300, 2)) < 0.4).astype(int)
    informative = y * 2.0 + rng.normal(scale=0.5, size=y.shape)
    x = np.c_[informative, rng.normal(size=(300, 6))]
    good = linear_probe(x[:200], y[:200], x[200:], y[200:], ["a", "b"], n_bootstrap=50)
    assert good["macro_auc"] > 0.95
    noise = linear_probe(
        rng.normal(size=(200, 8)), y[:200], rng.normal(size=(100, 8)), y[200:], ["a", "b"], n_bootstrap=50
    )
    assert noise["macro_auc"] < 0.7
    low = linear_probe(x[:200], y[:200], x[200:], y[200:], ["a", "b"], fraction=0.1, n_bootstrap=20)
    assert low["n_train"] == 20
