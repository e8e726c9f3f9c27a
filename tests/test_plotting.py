"""Figures (core/plotting.py): ECG paper, layouts, speed and gain, rows without overlap, saliency, small figures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.leads import CANONICAL_LEADS
from core.plotting import (
    CLIP_MM,
    PaperOptions,
    PlotOptionsError,
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


def _traces(fig) -> dict[str, list]:
    """Lead traces by name (a lead drawn in several panels has several traces)."""
    out: dict[str, list] = {}
    for trace in fig.data:
        if trace.name in CANONICAL_LEADS:
            out.setdefault(trace.name, []).append(trace)
    return out


def _span_s(trace) -> tuple[float, float]:
    """First and last sample time of a trace drawn with x0/dx."""
    return trace.x0, trace.x0 + trace.dx * (len(trace.y) - 1)


def _calibration(fig):
    return next(t for t in fig.data if t.name.startswith("calibration"))


def test_clinical_layout_is_on_ecg_paper_in_seconds_and_millivolts():
    fig = ecg_figure(_square_ecg(), 500.0)
    xa, ya = fig.layout.xaxis, fig.layout.yaxis
    # 25 mm/s and 10 mm/mV: minor lines every 1 mm (0.04 s, 0.1 mV), major every 5 mm; 1 mm as long on both axes.
    assert (xa.minor.dtick, xa.dtick) == pytest.approx((0.04, 0.2))
    assert (ya.minor.dtick, ya.dtick) == pytest.approx((0.1, 0.5))
    assert ya.scaleanchor == "x" and ya.scaleratio == pytest.approx(10 / 25)
    assert xa.range[1] == pytest.approx(10.0)
    labels = [a.text for a in fig.layout.annotations]
    assert sorted(labels) == sorted([*CANONICAL_LEADS, "II"])  # 12 panels + the lead II rhythm strip
    traces = _traces(fig)
    assert len(fig.layout.meta["ecg_paper"]["panels"]) == 13
    # aVR sits in the second 2.5 s column at its own time; the strip is lead II over all 10 s.
    assert _span_s(traces["aVR"][0]) == pytest.approx((2.5, 4.998))
    strip = max(traces["II"], key=lambda t: len(t.y))
    assert _span_s(strip) == pytest.approx((0.0, 9.998))
    # The 1 mV step is exactly 1 unit tall: the y data are millivolts.
    assert float(np.ptp(np.asarray(strip.y))) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(("layout", "panels"), [("clinical", 13), ("3x4", 13), ("6x2", 12), ("stacked", 12)])
def test_panel_count_per_layout(layout, panels):
    fig = ecg_figure(_square_ecg(), 500.0, options=PaperOptions(layout=layout))
    assert len(fig.layout.meta["ecg_paper"]["panels"]) == panels
    assert sum(len(v) for v in _traces(fig).values()) == panels
    if layout == "6x2":  # limb leads in the first 5 s, chest leads in the last 5 s
        assert _span_s(_traces(fig)["aVF"][0])[0] == 0.0 and _span_s(_traces(fig)["V1"][0])[0] == 5.0


def test_fifty_mm_per_second_doubles_the_paper_per_second():
    slow = ecg_figure(_square_ecg(), 500.0, options=PaperOptions("stacked", speed_mm_s=25))
    fast = ecg_figure(_square_ecg(), 500.0, options=PaperOptions("stacked", speed_mm_s=50))
    # The same 250 mm page holds 5 s instead of 10 s: one second takes 50 mm, twice the paper.
    assert slow.layout.xaxis.range[1] * 25 == pytest.approx(250) == fast.layout.xaxis.range[1] * 50
    assert slow.layout.xaxis.range[1] == pytest.approx(10.0) and fast.layout.xaxis.range[1] == pytest.approx(5.0)
    assert fast.layout.xaxis.minor.dtick == pytest.approx(slow.layout.xaxis.minor.dtick / 2)  # 1 mm = 20 ms
    assert fast.layout.yaxis.scaleratio == pytest.approx(slow.layout.yaxis.scaleratio / 2)
    # The strips still hold all 10 s (pan to the rest) and the 3x4 columns follow the page: 1.25 s each.
    assert _span_s(_traces(fast)["V6"][0])[1] == pytest.approx(9.998)
    clinical = ecg_figure(_square_ecg(), 500.0, options=PaperOptions(speed_mm_s=50))
    assert _span_s(_traces(clinical)["aVR"][0]) == pytest.approx((1.25, 2.498))


@pytest.mark.parametrize("gain", [5, 10, 20])
def test_calibration_pulse_follows_the_gain(gain):
    fig = ecg_figure(_square_ecg(), 500.0, options=PaperOptions(gain_mm_mv=gain))
    pulse = _calibration(fig)
    ys = [y for y in pulse.y if y is not None]
    xs = [x for x in pulse.x if x is not None]
    height_mv = max(ys[:6]) - min(ys[:6])
    assert height_mv == pytest.approx(1.0)  # a 1 mV pulse ...
    assert height_mv / fig.layout.yaxis.minor.dtick == pytest.approx(gain)  # ... `gain` 1 mm squares tall
    assert (xs[3] - xs[1]) / fig.layout.xaxis.minor.dtick == pytest.approx(5)  # 0.2 s = 5 mm at 25 mm/s
    assert len(ys) == 6 * 4  # one pulse per row


def _rows(fig) -> list[tuple[float, float, float]]:
    """(lowest point, baseline, highest point) of each stacked row's trace, top row first."""
    out = []
    for trace, panel in zip(
        [t for t in fig.data if t.name in CANONICAL_LEADS], fig.layout.meta["ecg_paper"]["panels"], strict=True
    ):
        y = np.asarray(trace.y, float)
        out.append((y.min(), panel[3], y.max()))
    return out


@pytest.mark.parametrize("gain", [10, 20])
def test_stacked_lbbb_rows_do_not_overlap(shared_data, gain):
    from core.data.readers import read_ecg

    # ecg_id 180: complete LBBB; V2 reaches -5.9 mV, V3 -5.1 mV.
    ecg = read_ecg(shared_data / "ptb-xl/1.0.3/records500/00000/00180_hr.hea")
    fig = ecg_figure(ecg.signal_mv, ecg.fs_hz, options=PaperOptions("stacked", gain_mm_mv=gain))
    rows = _rows(fig)
    assert len(rows) == 12
    for (low, _, _), (_, _, high_below) in zip(rows, rows[1:], strict=False):
        assert high_below < low  # each row's highest point stays under the lowest point of the row above
    labels = [a.text for a in fig.layout.annotations]
    if gain == 10:  # every wave drawn in full
        assert labels == list(CANONICAL_LEADS)
        v2 = rows[CANONICAL_LEADS.index("V2")]
        assert v2[1] - v2[0] == pytest.approx(5.86, abs=0.02)
    else:  # 5.9 mV x 20 mm/mV is beyond the clip: clipped, and the label says so
        assert f"V2 (clipped beyond ±{CLIP_MM / 20:g} mV)" in labels
        v2 = rows[CANONICAL_LEADS.index("V2")]
        assert v2[1] - v2[0] == pytest.approx(CLIP_MM / 20)


def test_lead_selection_and_rhythm_lead():
    fig = ecg_figure(_square_ecg(), 500.0, options=PaperOptions("stacked", leads=("v1", "II")))
    assert [a.text for a in fig.layout.annotations] == ["II", "V1"]  # canonical order, any case
    assert PaperOptions(leads="V1, ii").leads == ("II", "V1")  # a script's comma-separated string
    grid = ecg_figure(_square_ecg(), 500.0, options=PaperOptions(leads=("II",), rhythm_lead="V5"))
    labels = [a.text for a in grid.layout.annotations]
    assert "aVR (hidden)" in labels and labels[-1] == "V5"
    assert set(_traces(grid)) == {"II", "V5"}  # hidden leads are labelled, not drawn; the chosen strip is drawn
    for bad in (dict(layout="4x3"), dict(speed_mm_s=30), dict(gain_mm_mv="big"), dict(leads=()), dict(leads=("X",))):
        with pytest.raises(PlotOptionsError):
            PaperOptions(**bad)


def test_stacked_layout_missing_leads_and_saliency_boxes():
    mask = np.ones(12, bool)
    mask[CANONICAL_LEADS.index("V3")] = False
    sal = np.zeros((12, 10))
    sal[0, 2], sal[5, 7] = 1.0, -0.5
    fig = ecg_figure(
        _square_ecg(), 500.0, lead_mask=mask, layout="stacked", saliency=sal, saliency_edges_s=np.linspace(0, 10, 11)
    )
    assert "V3 (missing)" in [a.text for a in fig.layout.annotations]
    assert "V3" not in _traces(fig)
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 2
    red = next(r for r in rects if r.fillcolor.startswith("rgba(220"))
    assert (red.x0, red.x1) == pytest.approx((2.0, 3.0))  # seconds
    with pytest.raises(ValueError, match="12"):
        ecg_figure(np.zeros((3, 100)), 100.0)


def test_figure_json_is_compact():
    fig = ecg_figure(_square_ecg(), 500.0, layout="stacked")
    spec = json.loads(fig.to_json())
    lead = next(t for t in spec["data"] if t.get("name") == "V6")
    assert "x" not in lead and lead["y"]["dtype"] == "f4"  # x0/dx and a base64 float32 array, not 2 x 5000 numbers
    assert len(fig.to_json()) < 400_000


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
