"""The supervised CNN baseline is trained once per data/labels/epochs and reused from its disk cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from core.evaluate import baselines


def test_cnn_baseline_is_memoised_by_its_inputs(tmp_path: Path, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 12, 1000)).astype(np.float32)
    mask = np.ones((8, 12), dtype=bool)
    y = np.array([[1, 0], [0, 1]] * 4, dtype=np.float32)
    calls = []
    real = baselines.supervised_cnn_scores

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(baselines, "supervised_cnn_scores", counting)
    first = baselines.cached_supervised_cnn_scores(x, mask, y, x[:4], mask[:4], epochs=1, cache_dir=tmp_path)
    again = baselines.cached_supervised_cnn_scores(x, mask, y, x[:4], mask[:4], epochs=1, cache_dir=tmp_path)
    assert len(calls) == 1 and first.shape == (4, 2)
    np.testing.assert_array_equal(first, again)
    baselines.cached_supervised_cnn_scores(x, mask, y[:, ::-1].copy(), x[:4], mask[:4], epochs=1, cache_dir=tmp_path)
    assert len(calls) == 2  # other labels, another baseline
