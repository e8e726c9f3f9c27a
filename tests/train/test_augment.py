"""Training-batch augmentation: shapes, determinism under a seed, lead dropout, and never at validation."""

import json

import pytest
import torch

from core.data.augment import AugmentConfig, ECGAugment, augment_generator
from core.train import main


def _batch(b=8):
    x = torch.randn(b, 12, 1000, generator=torch.Generator().manual_seed(1))
    mask = torch.ones(b, 12, dtype=torch.bool)
    mask[0, 6:] = False  # a limb-lead-only record: its chest leads are absent (zero)
    x[0, 6:] = 0.0
    return x, mask


def test_augment_keeps_shapes_and_is_a_function_of_seed_rank_and_step():
    aug = ECGAugment(100.0)
    x, mask = _batch()
    a, ma = aug(x, mask, augment_generator(0, 0, 5))
    b, mb = aug(x, mask, augment_generator(0, 0, 5))
    c, _ = aug(x, mask, augment_generator(0, 1, 5))
    d, _ = aug(x, mask, augment_generator(0, 0, 6))
    assert a.shape == x.shape and a.dtype == x.dtype and ma.shape == mask.shape and ma.dtype == torch.bool
    assert torch.equal(a, b) and torch.equal(ma, mb)
    assert not torch.equal(a, c) and not torch.equal(a, d) and not torch.equal(a, x)
    assert torch.isfinite(a).all()


def test_augment_never_invents_an_absent_lead_and_marks_dropped_leads():
    aug = ECGAugment(100.0, AugmentConfig(p_dropout=1.0, dropout_leads=(2, 2)))
    x, mask = _batch()
    out, out_mask = aug(x, mask, augment_generator(0, 0, 0))
    assert (out[0, 6:] == 0).all() and not out_mask[0, 6:].any()
    # Every ECG lost exactly 2 leads to dropout (row 0 may lose absent ones, but keeps at least one present lead).
    assert (out_mask[1:].sum(dim=1) == 10).all() and out_mask[0].any()
    dropped = mask & ~out_mask
    assert (out[dropped] == 0).all()


def test_augment_off_changes_nothing_and_options_are_checked():
    off = AugmentConfig(p_scale=0, p_wander=0, p_noise=0, p_shift=0, p_dropout=0)
    x, mask = _batch()
    out, out_mask = ECGAugment(100.0, off)(x, mask, augment_generator(0, 0, 0))
    assert torch.equal(out, x) and torch.equal(out_mask, mask)
    assert AugmentConfig.from_dict({"shift_s": [-0.5, 0.5]}).shift_s == (-0.5, 0.5)
    with pytest.raises(ValueError, match="unknown augmentation"):
        AugmentConfig.from_dict({"stretch": 1.1})


@pytest.mark.slow
def test_training_augments_every_training_batch_and_no_validation_batch(tmp_path, monkeypatch):
    calls = []
    original = ECGAugment.__call__

    def counting(self, signal, lead_mask, generator):
        calls.append(signal.shape[0])
        return original(self, signal, lead_mask, generator)

    monkeypatch.setattr(ECGAugment, "__call__", counting)
    out = tmp_path / "run"
    argv = ["--recipe", "mets", "--model", "mets-resnet1d-tiny", "--data", "synthetic", "--limit", "16"]
    argv += ["--batch-size", "8", "--epochs", "2", "--augment", "--out", str(out), "--log-every", "1"]
    assert main(argv) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert sum("val/loss" in r for r in rows) == 2  # validation ran twice (8 synthetic val ECGs, one batch each)
    assert calls == [8] * 4  # 2 epochs x 2 training steps, nothing else
    assert json.loads((out / "final" / "config.json").read_text())["train"]["augment"] is True
