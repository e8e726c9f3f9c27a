"""Figures (core/plotting.py): ECG paper, layouts, saliency boxes, small figures and thumbnails."""

from __future__ import annotations

import numpy as np
import pytest

from core.leads import CANONICAL_LEADS
from core.plotting import (
    MM_PER_MV,
    MM_PER_S,
    ecg_figure,
    map_figure,
    score_bar_figure,
    thumbnail_series,
    thumbnail_svg,
)


def _square_ecg(fs_hz: float = 500.0, seconds: float = 10.0) -> np.ndarray:
    """12 leads; lead II steps by exactly 1 mV between 2 s and 3 s (others flat-ish sine)."""
    t = np.arange(int(fs_hz * seconds)) / fs_hz
    sig = np.tile(0.1 * np.sin(2 * np.pi * t), (12, 1)).astype(np.float32)
    sig[1] = np.where((t >= 2) & (t < 3), 1.0, 0.0)
    return sig


def test_ecg_figure_is_on_ecg_paper_with_clinical_layout():
    fig = ecg_figure(_square_ecg(), 500.0, layout="clinical")
    xa, ya = fig.layout.xaxis, fig.layout.yaxis
    assert ya.scaleanchor == "x" and ya.scaleratio == 1  # 1 mm on x == 1 mm on y
    assert xa.dtick == 5 and xa.minor.dtick == 1 and ya.dtick == 5 and ya.minor.dtick == 1
    assert xa.range[1] == pytest.approx(10 * MM_PER_S)
    labels = [a.text for a in fig.layout.annotations]
    assert labels == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "II"]
    trace = fig.data[0]
    x, y = np.asarray(trace.x, float), np.asarray(trace.y, float)
    # The rhythm strip (last piece) is lead II over 10 s: 250 mm wide, the 1 mV step is 10 mm tall.
    gaps = np.flatnonzero(np.isnan(x))  # every piece is followed by a NaN gap; the last piece is the strip
    strip = np.arange(gaps[-2] + 1, gaps[-1])
    assert x[strip].max() - x[strip].min() == pytest.approx(10 * MM_PER_S, abs=0.2)
    assert y[strip].max() - y[strip].min() == pytest.approx(1.0 * MM_PER_MV, abs=1e-3)


def test_stacked_layout_missing_leads_and_saliency_boxes():
    mask = np.ones(12, bool)
    mask[CANONICAL_LEADS.index("V3")] = False
    sal = np.zeros((12, 10))
    sal[0, 2], sal[5, 7] = 1.0, -0.5
    fig = ecg_figure(
        _square_ecg(), 500.0, lead_mask=mask, layout="stacked", saliency=sal, saliency_edges_s=np.linspace(0, 10, 11)
    )
    assert "V3 (missing)" in [a.text for a in fig.layout.annotations]
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 2
    red = next(r for r in rects if r.fillcolor.startswith("rgba(220"))
    assert red.x0 == pytest.approx(2 * MM_PER_S) and red.x1 == pytest.approx(3 * MM_PER_S)
    with pytest.raises(ValueError, match="12"):
        ecg_figure(np.zeros((3, 100)), 100.0)


def test_small_figures():
    bars = score_bar_figure([("LBBB", 0.4), ("NORM", 0.1)])
    assert list(bars.data[0].y) == ["NORM", "LBBB"]  # highest drawn at the top
    fig = map_figure(np.zeros((3, 2)), ["a", "b", "a"], ["r1", "r2", "r3"], ["x/1", "x/2", "x/3"], highlight=[0, 0])
    assert [list(t.customdata) for t in fig.data[:2]] == [["x/1", "x/3"], ["x/2"]]
    assert fig.data[-1].marker.symbol == "star"
    lead = np.zeros(5000)
    lead[1001] = 2.0  # a one-sample spike survives min/max decimation
    series = thumbnail_series(lead, 500.0)
    assert series.shape == (360,) and series.max() == pytest.approx(2.0)
    svg = thumbnail_svg(series)
    assert svg.startswith("<svg") and svg.count(",") == 360
