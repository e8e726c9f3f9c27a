"""Masked reconstruction, masked LM, matching and hard-negative sampling."""

import math

import pytest
import torch

from core.losses import MaskedReconstructionLoss, MatchingLoss, MLMLoss, sample_hard_negatives


def _recon_inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    target = torch.randn(2, 5, 6, generator=g)
    pred = torch.randn(2, 5, 6, generator=g)
    mask = torch.tensor([[1, 0, 1, 0, 0], [0, 1, 1, 1, 0]], dtype=torch.float32)
    return pred, target, mask


def test_reconstruction_ignores_unmasked_patches():
    pred, target, mask = _recon_inputs()
    loss = MaskedReconstructionLoss()
    base = loss(recon_pred=pred, recon_target=target, recon_mask=mask)["reconstruction_loss"]
    changed = pred.clone()
    changed[mask == 0] = 1e3  # anything at visible patches
    assert loss(recon_pred=changed, recon_target=target, recon_mask=mask)["reconstruction_loss"] == base
    changed = pred.clone()
    changed[0, 0] += 1.0  # a masked patch
    assert loss(recon_pred=changed, recon_target=target, recon_mask=mask)["reconstruction_loss"] != base


def test_reconstruction_by_hand_with_patch_normalisation():
    target = torch.tensor([[[1.0, 3.0], [5.0, 5.0]]])  # patch 0 -> [-1, 1] after normalisation
    pred = torch.tensor([[[0.0, 0.0], [9.0, 9.0]]])
    mask = torch.tensor([[1.0, 0.0]])
    out = MaskedReconstructionLoss()(recon_pred=pred, recon_target=target, recon_mask=mask)
    assert out["reconstruction_loss"].item() == pytest.approx(1.0, rel=1e-5)
    raw = MaskedReconstructionLoss(norm_target=False)(recon_pred=pred, recon_target=target, recon_mask=mask)
    assert raw["reconstruction_loss"].item() == pytest.approx((1 + 9) / 2)


def test_reconstruction_gradient_only_on_masked():
    pred, target, mask = _recon_inputs()
    pred.requires_grad_(True)
    MaskedReconstructionLoss()(recon_pred=pred, recon_target=target, recon_mask=mask)["reconstruction_loss"].backward()
    assert torch.all(pred.grad[mask == 0] == 0) and torch.all(pred.grad[mask == 1].abs().sum(-1) > 0)


def test_mlm_loss_only_on_labelled_tokens():
    logits = torch.zeros(1, 3, 4)
    logits[0, 1, 2] = math.log(3.0)  # p(token 2) = 3 / 6 at position 1
    labels = torch.tensor([[-100, 2, -100]])
    out = MLMLoss()(mlm_logits=logits, mlm_labels=labels)
    assert out["mlm_loss"].item() == pytest.approx(math.log(2.0), abs=1e-6)
    logits2 = logits.clone()
    logits2[0, 0] = 50.0  # unlabelled position
    assert MLMLoss()(mlm_logits=logits2, mlm_labels=labels)["mlm_loss"].item() == pytest.approx(math.log(2.0), abs=1e-6)
    empty = MLMLoss()(mlm_logits=logits, mlm_labels=torch.full((1, 3), -100))["mlm_loss"]
    assert empty.item() == 0.0


def test_matching_loss_by_hand():
    logits = torch.tensor([[0.0, 0.0], [2.0, 0.0]])
    labels = torch.tensor([1, 0])
    expected = (math.log(2.0) + math.log(1 + math.exp(-2.0))) / 2
    assert MatchingLoss()(match_logits=logits, match_labels=labels)["matching_loss"].item() == pytest.approx(expected)
    single = MatchingLoss()(match_logits=torch.tensor([0.0]), match_labels=torch.tensor([1]))["matching_loss"]
    assert single.item() == pytest.approx(math.log(2.0))


def test_hard_negatives_never_self_or_same_text():
    g = torch.Generator().manual_seed(0)
    sim = torch.randn(6, 6, generator=g)
    sim.fill_diagonal_(100.0)
    sim[0, 1] = sim[1, 0] = 50.0  # 0 and 1 share a report and look alike: a false negative
    texts = ["a", "a", "b", "c", "d", "e"]
    for _ in range(50):
        picks = sample_hard_negatives(sim, texts, generator=g)
        assert all(int(p) != i for i, p in enumerate(picks))
        assert int(picks[0]) != 1 and int(picks[1]) != 0
    lone = sample_hard_negatives(torch.zeros(2, 2), ["x", "x"], generator=g)
    assert lone.tolist() == [-1, -1]


def test_hard_negatives_prefer_similar():
    g = torch.Generator().manual_seed(0)
    sim = torch.zeros(4, 4)
    sim[0, 3] = 20.0
    picks = [int(sample_hard_negatives(sim, None, generator=g)[0]) for _ in range(20)]
    assert picks.count(3) >= 19
