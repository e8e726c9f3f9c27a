"""Zero-shot probabilities: softmax for contrastive (InfoNCE) models, independent sigmoids for sigmoid-loss models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core import zeroshot

REPO_ROOT = Path(__file__).resolve().parents[1]


def _case():
    rng = np.random.default_rng(0)
    return rng.normal(size=16), rng.normal(size=(5, 16)), ["A", "B", "C", "D", "E"]


def test_sigmoid_scores_do_not_depend_on_the_other_classes():
    ecg, classes, names = _case()
    full = zeroshot.score_classes(ecg, names, classes, kind="sigmoid", logit_scale=10.0, logit_bias=-5.0)
    fewer = zeroshot.score_classes(ecg, names[:3], classes[:3], kind="sigmoid", logit_scale=10.0, logit_bias=-5.0)
    p_full = dict(zip(full.names, full.probability, strict=True))
    for name, p in zip(fewer.names, fewer.probability, strict=True):
        assert p == pytest.approx(p_full[name], abs=1e-7)
    # Exactly sigmoid(scale * cos + bias), and not a distribution over the classes.
    cos = dict(zip(full.names, full.similarity, strict=True))
    assert p_full["A"] == pytest.approx(1 / (1 + np.exp(-(10.0 * cos["A"] - 5.0))), rel=1e-5)
    assert abs(sum(full.probability) - 1) > 1e-3
    assert full.label == "independent probabilities (sigmoid)"


def test_softmax_scores_sum_to_one_and_shift_when_a_class_is_removed():
    ecg, classes, names = _case()
    full = zeroshot.score_classes(ecg, names, classes, kind="softmax", logit_scale=20.0)
    fewer = zeroshot.score_classes(ecg, names[:3], classes[:3], kind="softmax", logit_scale=20.0)
    assert sum(full.probability) == pytest.approx(1, abs=1e-5) and sum(fewer.probability) == pytest.approx(1, abs=1e-5)
    assert full.similarity == sorted(full.similarity, reverse=True)
    p_full = dict(zip(full.names, full.probability, strict=True))
    assert any(abs(p - p_full[n]) > 1e-4 for n, p in zip(fewer.names, fewer.probability, strict=True))
    with pytest.raises(ValueError, match="logit bias"):
        zeroshot.probabilities(np.zeros(3), "sigmoid", 10.0, None)


def test_score_kind_follows_the_training_loss_of_the_shipped_checkpoints():
    kinds = {}
    for name in ("mets", "dbeta", "fgclep"):
        path = REPO_ROOT / "checkpoints" / name / "config.json"
        if path.is_file():
            kinds[name] = zeroshot.score_kind(json.loads(path.read_text()))
    if not kinds:
        pytest.skip("no shipped checkpoint")
    assert kinds == {"mets": "softmax", "dbeta": "sigmoid", "fgclep": "sigmoid"}
    # FG-CLEP's softmax variant keeps a bias parameter but is scored as a softmax.
    softmax_fgclep = {"model_cfg": {"init_logit_bias": -10.0}, "recipe_config": {"loss": "softmax"}}
    assert zeroshot.score_kind(softmax_fgclep) == "softmax"
