"""N3S far-tail negatives: never the true report nor a duplicate of it."""

import numpy as np
import pytest

from core.losses import N3SSampler


def test_n3s_never_true_or_duplicate():
    rng = np.random.default_rng(0)
    texts = [f"report {i % 7}" for i in range(40)] + ["Report 0 "]  # duplicates, incl. case/space variant
    base = rng.normal(size=(7, 8))
    emb = np.stack([base[i % 7] for i in range(40)] + [base[0]]) + 1e-3 * rng.normal(size=(41, 8))
    sampler = N3SSampler(texts, emb, tail_fraction=0.5)
    assert len(sampler) == 7
    for _ in range(30):
        for text, neg in zip(texts, sampler.sample(texts, rng), strict=True):
            assert neg is not None
            assert neg.lower().strip() != text.lower().strip()


def test_n3s_draws_from_far_tail():
    # Four reports on a circle: the farthest from 0 degrees is 180, the next 90/270.
    angles = np.deg2rad([0, 90, 180, 270, 10])
    emb = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    texts = ["east", "north", "west", "south", "east-ish"]
    sampler = N3SSampler(texts, emb, tail_fraction=0.2)  # one candidate: the farthest
    assert sampler.candidates("east") == ["west"]
    assert sampler.candidates("west") == ["east"]
    rng = np.random.default_rng(1)
    assert set(sampler.sample(["north"] * 10, rng)) == {"south"}
    assert sampler.sample(["unknown report"], rng) == [None]


def test_n3s_rejects_single_report():
    with pytest.raises(ValueError, match="two distinct"):
        N3SSampler(["same", "same "], np.ones((2, 3)))
