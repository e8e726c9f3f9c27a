"""Interval definitions on hand-made masks (exact values)."""

from __future__ import annotations

import numpy as np

from core.measure.waves import beats_from_masks, clean_mask, runs, summarize_beats

FS = 500.0


def _masks(n: int, beats: list[tuple[int, int, int, int, int, int]]) -> np.ndarray:
    """beats: (p_on, p_off, q_on, q_off, t_on, t_off) in samples, inclusive."""
    m = np.zeros((3, n), dtype=bool)
    for p_on, p_off, q_on, q_off, t_on, t_off in beats:
        m[0, p_on : p_off + 1] = True
        m[1, q_on : q_off + 1] = True
        m[2, t_on : t_off + 1] = True
    return m


def test_runs_and_clean_mask():
    mask = np.array([0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    assert runs(mask) == [(1, 2), (4, 4), (8, 11)]
    cleaned = clean_mask(mask, min_len=4, max_gap=1)
    assert runs(cleaned) == [(1, 4), (8, 11)]


def test_intervals_from_regular_beats():
    # RR 500 samples = 1 s; PR 80 samples = 160 ms; QRS 45 samples = 90 ms; QT 200 samples = 400 ms.
    beats = [(q - 80, q - 30, q, q + 44, q + 100, q + 199) for q in (300, 800, 1300, 1800)]
    got = summarize_beats(beats_from_masks(_masks(2500, beats)), FS)
    assert got["hr_bpm"] == 60.0
    assert got["pr_ms"] == 160.0
    assert got["qrs_ms"] == 90.0
    assert got["qt_ms"] == 400.0
    assert got["rr_cv"] == 0.0


def test_waves_cut_by_the_window_are_dropped():
    beats = [(q - 80, q - 30, q, q + 44, q + 100, q + 199) for q in (300, 800, 1300)]
    masks = _masks(1600, beats)
    got = beats_from_masks(masks, window=(0, 1400))  # the last T wave ends at 1499, outside the window
    assert [b.t_off is not None for b in got] == [True, True, False]
    assert all(b.p_on is not None for b in got)
