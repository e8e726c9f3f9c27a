"""The delineator's training augmentations: for a long PR, a P wave moves earlier onto the T wave, labels follow it,
and P waves that cannot move stay as they are; for a fast rate, TP segments are cut and the trace stays
continuous."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.measure.ludb import IGNORE
from core.measure.train_delineator import add_arguments, move_p_earlier, shorten_tp
from core.measure.unet import BACKGROUND, P_WAVE, QRS, T_WAVE
from core.measure.waves import runs


def _beat() -> tuple[np.ndarray, np.ndarray]:
    """T wave (samples 5-14, 0.5 mV), P wave (25-32, a 0.2 mV hump on a 0.1 mV baseline step), QRS (38-43)."""
    y = np.array([BACKGROUND] * 5 + [T_WAVE] * 10 + [BACKGROUND] * 10 + [P_WAVE] * 8 + [BACKGROUND] * 5 + [QRS] * 6)
    x = np.zeros(len(y))
    x[y == T_WAVE] = 0.5
    x[25:33] = np.linspace(0.0, 0.1, 8) + 0.2 * np.sin(np.linspace(0.0, np.pi, 8))
    x[33:] = 0.1
    x[y == QRS] = 1.0
    return x, y


def test_a_p_wave_moves_onto_the_t_wave_with_its_label():
    x, y = _beat()
    original = x.copy()
    assert move_p_earlier(x, y, 12) == 1
    assert runs(y == P_WAVE) == [(13, 20)]  # 12 samples earlier, over the T wave's last two samples
    assert runs(y == T_WAVE) == [(5, 12)] and runs(y == QRS) == [(38, 43)]
    # The old place keeps the line between the P wave's edges (a longer PR segment) ...
    np.testing.assert_allclose(x[25:33], np.linspace(0.0, 0.1, 8))
    # ... and the wave itself is added on top of what was there (T wave, then baseline).
    np.testing.assert_allclose(x[13:21], original[13:21] + 0.2 * np.sin(np.linspace(0.0, np.pi, 8)), atol=1e-12)
    np.testing.assert_array_equal(x[33:], original[33:])


def test_p_waves_that_cannot_move_stay():
    x, y = _beat()
    assert move_p_earlier(x.copy(), y.copy(), 30) == 0  # would start before the crop
    cut = y.copy()
    cut[10:14] = IGNORE  # the new place is outside the annotated stretch
    assert move_p_earlier(x.copy(), cut, 12) == 0
    no_qrs = y.copy()
    no_qrs[38:] = BACKGROUND  # not followed by its QRS (end of the annotation)
    assert move_p_earlier(x.copy(), no_qrs, 12) == 0
    x2, y2 = x.copy(), y.copy()
    assert move_p_earlier(x2, y2, 5) == 1 and runs(y2 == P_WAVE) == [(20, 27)]


def test_a_shortened_tp_segment_brings_the_p_wave_up_to_the_t_wave():
    x, y = _beat()
    x[15:25] = np.linspace(0.05, 0.0, 10)  # a TP segment that drifts, so the cut leaves a step to bend away
    fast_x, fast_y = shorten_tp(x, y, 0.0)
    assert len(fast_y) == len(y) - 7  # 10 TP samples, 3 kept (the bend back to continuity)
    assert runs(fast_y == T_WAVE) == [(5, 14)] and runs(fast_y == P_WAVE) == [(18, 25)]
    assert runs(fast_y == QRS) == [(31, 36)]
    # the waves themselves are untouched; where the samples went, the trace goes on from the last kept sample and
    # bends back to the P wave in smaller steps than a plain cut would leave (0.033 mV from sample 15 to 22)
    np.testing.assert_array_equal(fast_x[18:], x[25:])
    np.testing.assert_array_equal(fast_x[:16], x[:16])
    assert fast_x[16] == fast_x[15]
    assert np.abs(np.diff(fast_x[15:19])).max() < abs(x[22] - x[15])

    half_x, half_y = shorten_tp(x, y, 0.5)
    assert len(half_y) == len(y) - 5 and runs(half_y == P_WAVE) == [(20, 27)]


def test_tp_segments_with_anything_but_background_are_left_alone():
    x, y = _beat()
    no_p = y.copy()
    no_p[25:33] = BACKGROUND  # no P wave after the T wave: nothing to bring closer
    same_x, same_y = shorten_tp(x, no_p, 0.0)
    np.testing.assert_array_equal(same_x, x)
    np.testing.assert_array_equal(same_y, no_p)
    unannotated = y.copy()
    unannotated[18:20] = IGNORE
    assert len(shorten_tp(x, unannotated, 0.0)[1]) == len(y)


@settings(max_examples=60, deadline=None)
@given(
    tp_lengths=st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=6),
    keep=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_cutting_tp_segments_keeps_every_wave_and_its_samples(tp_lengths: list[int], keep: float, seed: int):
    """Beats of T, TP, P, PR segment and QRS with random TP lengths: the cut only ever removes TP samples, keeps
    ``keep`` of each TP segment (and 3 samples, or all of a shorter one), and leaves every wave's samples as they
    were."""
    rng = np.random.default_rng(seed)
    pieces = []
    for tp in tp_lengths:
        pieces += [(T_WAVE, 10), (BACKGROUND, tp), (P_WAVE, 6), (BACKGROUND, 4), (QRS, 5)]
    y = np.concatenate([np.full(n, label) for label, n in pieces]).astype(np.int64)
    x = rng.normal(size=len(y))
    fast_x, fast_y = shorten_tp(x, y, keep)

    def waves(labels: np.ndarray, values: np.ndarray) -> list[tuple[int, list[float]]]:
        out = []
        for label in (P_WAVE, QRS, T_WAVE):
            out += [(int(a), values[a : b + 1].tolist()) for a, b in runs(labels == label)]
        return sorted(out)

    assert [w for _, w in waves(fast_y, fast_x)] == [w for _, w in waves(y, x)]
    # each TP segment (T offset to the next P onset) shrinks to its kept share, never under 3 samples
    t_offs = [b for _, b in runs(fast_y == T_WAVE)]
    p_ons = [a for a, _ in runs(fast_y == P_WAVE)]
    tp_after = [p_on - t_off - 1 for t_off, p_on in zip(t_offs, p_ons, strict=True)]
    for before, after in zip(tp_lengths, tp_after, strict=True):
        assert after == (before if before < 3 else max(int(round(keep * before)), 3))


def test_augmentation_shares_outside_0_to_1_are_refused_by_name(capsys: pytest.CaptureFixture):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["--tp-cut", "0.5", "--p-move", "0"]).tp_cut == 0.5
    for flag, value, says in (("--tp-cut", "1.5", "1.5 is not a share"), ("--p-move", "abc", "'abc' is not a number")):
        with pytest.raises(SystemExit):
            parser.parse_args([flag, value])
        err = capsys.readouterr().err
        assert flag in err and says in err
