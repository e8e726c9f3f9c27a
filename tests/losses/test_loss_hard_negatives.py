"""Label-aware hard negatives: the sampler's choices and the extra softmax columns, checked by hand."""

import math

import numpy as np
import pytest
import torch

from core.losses import ClipLoss, HardNegativeSampler, hard_negative_logits


def _sampler(pool=8):
    texts = ["left bundle branch block", "right bundle branch block", "lbbb.", "sinus rhythm", "lbbb (other set)"]
    emb = np.array([[1.0, 0.1, 0.0], [1.0, 0.12, 0.0], [1.0, 0.09, 0.0], [0.0, 1.0, 0.0], [1.0, 0.1, 0.01]])
    labels = [frozenset({"CLBBB"}), frozenset({"CRBBB"}), frozenset({"CLBBB"}), frozenset({"SR"}), frozenset({"X"})]
    groups = ["ptbxl", "ptbxl", "ptbxl", "ptbxl", "cinc"]
    return HardNegativeSampler(texts, emb, labels, groups, pool=pool)


def test_sampler_keeps_near_label_different_reports_of_the_same_dataset_nearest_first():
    sampler = _sampler()
    # Not the paraphrase with the same label ("lbbb."), not the other dataset's text, the twin before the far report.
    assert sampler.neighbours["left bundle branch block"] == ["right bundle branch block", "sinus rhythm"]
    assert sampler.neighbours["right bundle branch block"][:2] == ["left bundle branch block", "lbbb."]
    assert "lbbb (other set)" not in sampler.neighbours  # alone in its dataset: no label-different report


def test_sampler_pool_and_draws():
    sampler = _sampler(pool=1)
    assert sampler.neighbours["left bundle branch block"] == ["right bundle branch block"]
    rng = np.random.default_rng(0)
    out = sampler.sample(["left bundle branch block", "unknown report"], rng, k=2)
    assert out == [["right bundle branch block", None], [None, None]]


def test_sampler_ignores_unlabelled_reports():
    texts, emb = ["a", "b", "c"], np.eye(3)
    sampler = HardNegativeSampler(texts, emb, [frozenset({"x"}), frozenset(), frozenset({"y"})], ["d"] * 3)
    assert sampler.neighbours == {"a": ["c"], "c": ["a"]}
    with pytest.raises(ValueError, match="same length"):
        HardNegativeSampler(texts, emb, [frozenset()], ["d"] * 3)


def test_hard_negative_logits_mask_absent_negatives():
    ecg = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    neg = torch.tensor([[[0.6, 0.8], [1.0, 0.0]], [[0.0, -1.0], [1.0, 0.0]]])
    mask = torch.tensor([[True, False], [True, True]])
    out = hard_negative_logits(ecg, neg, mask, torch.tensor(10.0))
    assert out.tolist() == [[pytest.approx(6.0), float("-inf")], [-10.0, 0.0]]


def test_clip_loss_with_hard_negatives_by_hand():
    # Two orthogonal pairs, scale 1: ECG 0's softmax gains one column with cosine 0.6, ECG 1's negative is absent.
    ecg = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    text = ecg.clone()
    neg = torch.tensor([[[0.6, 0.8]], [[1.0, 0.0]]])
    mask = torch.tensor([[True], [False]])
    loss = ClipLoss()(ecg, text, torch.tensor(1.0), negative_features=neg, negative_mask=mask)["contrastive_loss"]
    plain = math.log(1 + math.exp(-1))  # -log softmax of the positive among (1, 0)
    row0 = -(1 - math.log(math.exp(1) + math.exp(0) + math.exp(0.6)))
    expected = ((row0 + plain) / 2 + plain) / 2  # ECG->report rows averaged, then with the report->ECG direction
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    # Every negative masked out: exactly the in-batch loss.
    none = ClipLoss()(ecg, text, torch.tensor(1.0), negative_features=neg, negative_mask=torch.zeros(2, 1, dtype=bool))
    assert float(none["contrastive_loss"]) == pytest.approx(plain, rel=1e-6)


def test_clip_loss_hard_negatives_get_gradients():
    ecg = torch.nn.functional.normalize(torch.randn(3, 4), dim=-1)
    text = torch.nn.functional.normalize(torch.randn(3, 4), dim=-1)
    neg = torch.nn.functional.normalize(torch.randn(3, 2, 4), dim=-1).requires_grad_()
    ClipLoss()(ecg, text, torch.tensor(5.0), negative_features=neg)["contrastive_loss"].backward()
    assert neg.grad is not None and neg.grad.abs().sum() > 0


def test_siglip_loss_with_hard_negatives_by_hand():
    from core.losses import SigLipLoss

    # One ECG, one report (cosine 1), one hard negative (cosine 0.6); scale 2, bias -1.
    ecg = torch.tensor([[1.0, 0.0]])
    neg = torch.tensor([[[0.6, 0.8], [0.0, 1.0]]])
    mask = torch.tensor([[True, False]])
    out = SigLipLoss()(
        ecg, ecg.clone(), torch.tensor(2.0), logit_bias=torch.tensor(-1.0), negative_features=neg, negative_mask=mask
    )
    positive = math.log(1 + math.exp(-(2 * 1.0 - 1)))  # -log sigmoid(z), z = +1 * logit
    negative = math.log(1 + math.exp(2 * 0.6 - 1))  # -log sigmoid(-logit)
    assert float(out["sigmoid_loss"]) == pytest.approx(positive + negative, rel=1e-6)
    plain = SigLipLoss()(ecg, ecg.clone(), torch.tensor(2.0), logit_bias=torch.tensor(-1.0))["sigmoid_loss"]
    assert float(plain) == pytest.approx(positive, rel=1e-6)
