"""The measurement speed-ups change nothing: BatchNorm folding, the cached filter designs and the shared filtering."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import signal as sps

from core.data.catalogs import load_catalog
from core.data.filters import butter_sos
from core.measure.beat_consistency import MIN_CONSISTENCY
from core.measure.delineator import FINAL_WEIGHTS, load_delineator
from core.measure.measurements import measure_ecg, measurements_from_masks
from core.measure.unet import UNet1d, UNetConfig


def test_folded_batchnorm_gives_the_same_logits_and_labels():
    torch.manual_seed(0)
    model = UNet1d(UNetConfig(channels=[8, 12, 16]))
    for module in model.modules():  # running statistics far from the identity, as after training
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-1.0, 1.0)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    model.eval()
    x = torch.randn(3, 1, 512)
    with torch.inference_mode():
        before = model(x)
        after = model.fuse_batchnorm()(x)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules())
    torch.testing.assert_close(after, before, rtol=1e-4, atol=1e-5)
    assert torch.equal(after.argmax(dim=1), before.argmax(dim=1))


def test_folding_refuses_training_mode():
    with pytest.raises(RuntimeError, match="eval mode"):
        UNet1d(UNetConfig(channels=[8, 12])).fuse_batchnorm()


def test_cached_filter_design_is_scipys_and_private_to_the_caller():
    sos = butter_sos(2, (0.5, 40.0), 250.0, "band")
    np.testing.assert_array_equal(sos, sps.butter(2, [0.5 / 125.0, 40.0 / 125.0], btype="band", output="sos"))
    sos[:] = 0.0  # a caller's change must not reach the next caller
    assert np.any(butter_sos(2, (0.5, 40.0), 250.0, "band"))


def test_measure_ecg_equals_measuring_from_the_masks_with_own_filtering(shared_data):
    catalog = load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", rate_hz=500, download=False)
    ecg = catalog.read(catalog.records[0])
    delineator = load_delineator(None, FINAL_WEIGHTS)
    labels = delineator.label_leads(ecg.signal_mv[np.flatnonzero(ecg.lead_mask)], ecg.fs_hz)
    masks = delineator.combine_labels(labels)
    slow = measurements_from_masks(
        masks, delineator.cfg.fs_hz, ecg=ecg, lead_labels=labels, min_consistency=MIN_CONSISTENCY
    )
    fast = measure_ecg(ecg)
    assert fast.pr_ms is not None and fast.qrs_ms is not None
    assert fast.to_dict() == slow.to_dict()
