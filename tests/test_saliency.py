"""Occlusion saliency (core/saliency.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.saliency import occlusion_saliency


def test_occlusion_saliency_finds_the_informative_cell():
    fs, n = 100.0, 1000

    def encode(batch: np.ndarray, masks: np.ndarray) -> np.ndarray:
        # Embedding = (energy of lead V1 in 3-4 s, constant): occluding that cell lowers similarity to [1, 0].
        e = np.abs(batch[:, 6, 300:400]).mean(axis=1)
        return np.stack([e, np.full_like(e, 0.2)], axis=1)

    x = np.random.default_rng(0).normal(size=(12, n)).astype(np.float32)
    mask = np.ones(12, bool)
    mask[11] = False
    sal = occlusion_saliency(encode, x, mask, np.array([1.0, 0.0]), fs_hz=fs, segment_s=1.0)
    assert sal.values.shape == (12, 10) and sal.edges_s[-1] == pytest.approx(10.0)
    assert np.unravel_index(np.argmax(sal.values), sal.values.shape) == (6, 3)
    assert sal.values[11].tolist() == [0.0] * 10  # a missing lead is not occluded
    assert sal.top_cells(1)[0][:3] == (6, 3.0, 4.0)
