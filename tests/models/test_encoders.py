"""ECG encoders: the shared interface, masking (MAE) and partial-lead invariance."""

from __future__ import annotations

import pytest
import torch

from core.models import create_encoder, list_encoders
from core.models.patch_transformer import PatchTransformer1d

T = 1000  # 100 Hz x 10 s
SMALL = {
    "resnet1d_18": {},
    "resnet1d_34": {"widths": (8, 16, 16, 32)},
    "resnet1d_fast": {},
    "patch_transformer_small": {"embed_dim": 32, "depth": 2, "num_heads": 2, "conv_channels": (8,), "decoder_dim": 16},
    "patch_transformer_base": {"embed_dim": 32, "depth": 1, "num_heads": 2, "conv_channels": (8,), "decoder_dim": 16},
}


def _tiny_patch_tf(**kwargs) -> PatchTransformer1d:
    args = dict(SMALL["patch_transformer_small"], **kwargs)
    return create_encoder("patch_transformer_small", **args)


def test_every_registered_encoder_is_covered() -> None:
    assert set(list_encoders()) == set(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_encoder_interface(name: str) -> None:
    enc = create_encoder(name, **SMALL[name])
    x = torch.randn(2, 12, T)
    feats = enc.forward_features(x)
    pooled = enc.forward_head(feats, pre_logits=True)
    assert pooled.shape == (2, enc.num_features)
    assert torch.equal(enc.forward_head(feats), pooled)  # no head by default
    tokens = enc.forward_tokens(x)
    assert tokens.shape[0] == 2 and tokens.shape[-1] == enc.num_features
    with_head = create_encoder(name, num_classes=5, **SMALL[name])
    logits = with_head(x)
    assert logits.shape == (2, 5)
    logits.sum().backward()
    assert all(p.grad is not None for p in with_head.head.parameters())


def test_unknown_encoder_lists_known_names() -> None:
    with pytest.raises(KeyError, match="resnet1d_18"):
        create_encoder("resnet1d_999")


def test_resnet18_matches_merl_layout() -> None:
    enc = create_encoder("resnet1d_18")
    assert enc.stem[0].in_channels == 12
    widths = [stage[0].conv1.out_channels for stage in enc.stages]
    assert widths == [64, 128, 256, 512]
    assert [len(stage) for stage in enc.stages] == [2, 2, 2, 2]
    fast = create_encoder("resnet1d_fast")
    n = sum(p.numel() for p in enc.parameters())
    n_fast = sum(p.numel() for p in fast.parameters())
    assert n_fast * 4 < n


@pytest.mark.parametrize("ratio, n_masked", [(0.75, 30), (0.5, 20), (0.0, 0)])
def test_masking_counts_and_restore(ratio: float, n_masked: int) -> None:
    enc = _tiny_patch_tf()
    x = torch.randn(3, 12, T)
    out = enc.forward_masked(x, mask_ratio=ratio)
    n = T // enc.patch_size
    assert out["mask"].shape == (3, n)
    assert out["mask"].sum(1).tolist() == [n_masked] * 3
    assert out["latent"].shape == (3, 1 + n - n_masked, enc.num_features)
    # ids_restore is a permutation and the kept ids are exactly the unmasked patches.
    assert torch.equal(out["ids_restore"].sort(1).values, torch.arange(n).expand(3, n))
    kept = torch.zeros(3, n).scatter_(1, out["ids_keep"], 1.0)
    assert torch.equal(kept, 1 - out["mask"])
    pred = enc.decode(out["latent"], out["ids_restore"])
    assert pred.shape == enc.patchify(x).shape == (3, n, 12 * enc.patch_size)


def test_masked_patches_do_not_reach_the_encoder() -> None:
    enc = _tiny_patch_tf().eval()
    x = torch.randn(2, 12, T)
    out = enc.forward_masked(x, 0.75, generator=torch.Generator().manual_seed(1))
    patches = enc.patchify(x)
    noisy = torch.where(out["mask"].bool().unsqueeze(-1), torch.randn_like(patches) * 5, patches)
    out2 = enc.forward_masked(enc.unpatchify(noisy), 0.75, generator=torch.Generator().manual_seed(1))
    assert torch.equal(out["mask"], out2["mask"])
    torch.testing.assert_close(out["latent"], out2["latent"])


def test_patchify_roundtrip_and_layout() -> None:
    enc = _tiny_patch_tf()
    x = torch.randn(2, 12, T)
    patches = enc.patchify(x)
    assert torch.equal(enc.unpatchify(patches), x)
    # Patch 1 holds samples [P, 2P) of lead 0 first, then of lead 1.
    p = enc.patch_size
    assert torch.equal(patches[0, 1, :p], x[0, 0, p : 2 * p])
    assert torch.equal(patches[0, 1, p : 2 * p], x[0, 1, p : 2 * p])


def test_length_not_multiple_of_patch_raises() -> None:
    with pytest.raises(ValueError, match="multiple of patch_size"):
        _tiny_patch_tf()(torch.randn(1, 12, T + 3))


def test_mask_ratio_out_of_range_raises() -> None:
    with pytest.raises(ValueError, match="mask_ratio"):
        _tiny_patch_tf().forward_masked(torch.randn(1, 12, T), mask_ratio=1.0)


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("train", [False, True])
def test_missing_leads_do_not_change_output(name: str, train: bool) -> None:
    enc = create_encoder(name, **SMALL[name]).train(train)
    # Make the presence embedding non-zero so that it is exercised.
    torch.nn.init.normal_(enc.lead_presence.proj.weight)
    x = torch.randn(2, 12, T)
    lead_mask = torch.ones(2, 12, dtype=torch.bool)
    lead_mask[0, 6:] = False  # limb leads only
    lead_mask[1, [1, 7]] = False
    y = x.clone()
    y[~lead_mask] = torch.randn(int((~lead_mask).sum()), T) * 10
    out_x = enc(x, lead_mask=lead_mask)
    out_y = enc(y, lead_mask=lead_mask)
    torch.testing.assert_close(out_x, out_y)
    # ...while the mask itself does matter (the presence embedding) and a present lead's values do too.
    assert not torch.allclose(out_x, enc(x))
    z = x.clone()
    z[0, 0] += 1.0
    assert not torch.allclose(enc(z, lead_mask=lead_mask)[0], out_x[0])


def test_lead_mask_shape_checked() -> None:
    enc = create_encoder("resnet1d_fast")
    with pytest.raises(ValueError, match="lead_mask"):
        enc(torch.randn(2, 12, T), lead_mask=torch.ones(3, 12, dtype=torch.bool))
