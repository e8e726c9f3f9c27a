"""Softmax and sigmoid contrastive losses on hand-checkable cases."""

import math

import pytest
import torch
import torch.nn.functional as F

from core.losses import ClipLoss, SigLipLoss, SoftClipLoss, SoftTargetSigLipLoss, soft_targets


def _pairs(n=8, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    ecg = F.normalize(torch.randn(n, d, generator=g), dim=1)
    text = F.normalize(ecg + 0.1 * torch.randn(n, d, generator=g), dim=1)
    return ecg, text


def test_clip_2x2_by_hand():
    ecg = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    text = torch.tensor([[0.6, 0.8], [1.0, 0.0]])
    scale = torch.tensor(2.0)
    # logits = 2 * ecg @ text.T = [[1.2, 2.0], [1.6, 0.0]]; labels are the diagonal.
    l = [[1.2, 2.0], [1.6, 0.0]]
    ce = lambda row, k: -row[k] + math.log(sum(math.exp(v) for v in row))  # noqa: E731
    per_ecg = (ce(l[0], 0) + ce(l[1], 1)) / 2
    cols = [[l[0][0], l[1][0]], [l[0][1], l[1][1]]]
    per_text = (ce(cols[0], 0) + ce(cols[1], 1)) / 2
    out = ClipLoss()(ecg, text, scale)
    assert set(out) == {"contrastive_loss"}
    assert out["contrastive_loss"].item() == pytest.approx((per_ecg + per_text) / 2, abs=1e-6)


def test_clip_identity_value():
    eye = torch.eye(2)
    assert ClipLoss()(eye, eye, torch.tensor(1.0))["contrastive_loss"].item() == pytest.approx(
        math.log(1 + math.exp(-1)), abs=1e-6
    )


@pytest.mark.parametrize("loss_cls", [ClipLoss, SigLipLoss])
def test_aligned_pairs_beat_shuffled(loss_cls):
    ecg, text = _pairs()
    scale = torch.tensor(10.0)
    aligned = next(iter(loss_cls()(ecg, text, scale).values()))
    shuffled = next(iter(loss_cls()(ecg, text.roll(1, dims=0), scale).values()))
    assert aligned < shuffled


def test_clip_local_and_global_agree_on_one_process():
    ecg, text = _pairs()
    a = ClipLoss(local_loss=True)(ecg, text, torch.tensor(5.0))["contrastive_loss"]
    b = ClipLoss(local_loss=False)(ecg, text, torch.tensor(5.0))["contrastive_loss"]
    assert a.item() == pytest.approx(b.item(), abs=1e-6)


def test_siglip_2x2_by_hand():
    eye = torch.eye(2)
    out = SigLipLoss()(eye, eye, torch.tensor(1.0), logit_bias=torch.tensor(-1.0))
    # logits = I - 1: positives 0, negatives -1; loss = sum_ij -log sigmoid(z_ij * l_ij) / 2.
    softplus = lambda x: math.log1p(math.exp(x))  # noqa: E731
    expected = (2 * softplus(-0.0) + 2 * softplus(-1.0)) / 2
    assert out["sigmoid_loss"].item() == pytest.approx(expected, abs=1e-6)


def test_soft_targets_identity_is_one_hot():
    t = soft_targets(torch.eye(3), torch.arange(3), threshold=0.5)
    assert torch.equal(t, torch.eye(3))
    sim = torch.tensor([[1.0, 0.95, 0.2], [0.95, 1.0, 0.1], [0.2, 0.1, 1.0]])
    t = soft_targets(sim, torch.arange(3), threshold=0.9)
    assert t[0, 1].item() == pytest.approx(0.95) and t[0, 2] == 0 and t[2, 2] == 1


@pytest.mark.parametrize("hard_cls,soft_cls", [(ClipLoss, SoftClipLoss), (SigLipLoss, SoftTargetSigLipLoss)])
def test_soft_reduces_exactly_to_hard_with_identity_similarity(hard_cls, soft_cls):
    ecg, text = _pairs(n=6)
    ecg.requires_grad_(True)
    scale = torch.tensor(7.0)
    hard = next(iter(hard_cls()(ecg, text, scale).values()))
    (g_hard,) = torch.autograd.grad(hard, ecg)
    soft = next(iter(soft_cls(threshold=0.9)(ecg, text, scale, text_similarity=torch.eye(6)).values()))
    (g_soft,) = torch.autograd.grad(soft, ecg)
    assert soft.item() == pytest.approx(hard.item(), rel=0, abs=1e-6)
    torch.testing.assert_close(g_soft, g_hard, rtol=0, atol=1e-6)


@pytest.mark.parametrize("hard_cls,soft_cls", [(ClipLoss, SoftClipLoss), (SigLipLoss, SoftTargetSigLipLoss)])
def test_soft_targets_forgive_swaps_between_same_reports(hard_cls, soft_cls):
    # Reports 0 and 1 say the same thing (identical frozen embeddings) and ECGs 0 and 1 each sit on the other's
    # report: a hard loss punishes that as two mismatches, a soft one does not.
    text = F.normalize(torch.tensor([[1.0, 0.3, 0.0], [1.0, -0.3, 0.0], [0.0, 0.0, 1.0]]), dim=1)
    ecg = text[[1, 0, 2]]
    emb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    hard = next(iter(hard_cls()(ecg, text, torch.tensor(10.0)).values()))
    soft = next(iter(soft_cls(threshold=0.9)(ecg, text, torch.tensor(10.0), target_embeddings=emb).values()))
    assert soft < 0.8 * hard


def test_soft_loss_requires_similarity():
    ecg, text = _pairs(n=2)
    with pytest.raises(ValueError, match="text_similarity"):
        SoftClipLoss()(ecg, text, torch.tensor(1.0))


@pytest.mark.parametrize("hard_cls,soft_cls", [(ClipLoss, SoftClipLoss), (SigLipLoss, SoftTargetSigLipLoss)])
def test_label_gated_soft_targets_never_forgive_twins(hard_cls, soft_cls):
    # Same swap as above, but reports 0 and 1 are clinical twins (near-identical text, different labels): gated by
    # their labels the soft loss is exactly the hard one; unknown labels (-1) leave the similarity as it is.
    text = F.normalize(torch.tensor([[1.0, 0.3, 0.0], [1.0, -0.3, 0.0], [0.0, 0.0, 1.0]]), dim=1)
    ecg = text[[1, 0, 2]]
    emb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    scale = torch.tensor(10.0)
    hard = next(iter(hard_cls()(ecg, text, scale).values()))
    loss = soft_cls(threshold=0.9)
    twins = next(iter(loss(ecg, text, scale, target_embeddings=emb, target_labels=torch.tensor([0, 1, 2])).values()))
    same = next(iter(loss(ecg, text, scale, target_embeddings=emb, target_labels=torch.tensor([0, 0, 2])).values()))
    unknown = next(iter(loss(ecg, text, scale, target_embeddings=emb, target_labels=torch.tensor([-1, 1, 2])).values()))
    ungated = next(iter(loss(ecg, text, scale, target_embeddings=emb).values()))
    assert twins.item() == pytest.approx(hard.item(), abs=1e-6)
    assert same.item() == pytest.approx(ungated.item(), abs=1e-6) == unknown.item()
    assert same < 0.8 * hard
