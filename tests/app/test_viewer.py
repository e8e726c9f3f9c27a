"""The viewer's handlers as plain functions (history, paper settings, the figure of an opened ECG) and its
``/ecg_figure`` endpoint through gradio_client."""

from __future__ import annotations

import json

import gradio as gr
import pytest
from gradio_client.exceptions import AppError

from app.views.viewer import HISTORY_SIZE, History, figure_for_api, paper_options
from core.leads import CANONICAL_LEADS
from core.plotting import PlotOptionsError


def test_history_walks_back_and_forward_like_a_browser():
    h = History().visit("a").visit("b").visit("c")
    assert (h.current, h.can_back, h.can_forward) == ("c", True, False)
    h = h.back().back()
    assert (h.current, h.can_back, h.can_forward) == ("a", False, True)
    assert h.back() == h  # nothing before the first
    assert h.visit("a") == h  # reopening the shown ECG (e.g. reached by Back) changes nothing
    h = h.forward()
    assert h.current == "b"
    h = h.visit("d")  # a new ECG after going back drops the ones ahead
    assert (h.keys, h.current, h.can_forward) == (("a", "b", "d"), "d", False)
    long = History()
    for i in range(HISTORY_SIZE + 5):
        long = long.visit(str(i))
    assert len(long.keys) == HISTORY_SIZE and long.keys[0] == "5" and long.current == str(HISTORY_SIZE + 4)


def test_paper_options_from_the_controls():
    options = paper_options("6x2", 50.0, 20.0, ["V1", "ii"], "V5")
    assert (options.layout, options.speed_mm_s, options.gain_mm_mv) == ("6x2", 50.0, 20.0)
    assert options.leads == ("II", "V1") and options.rhythm_lead == "V5"
    assert paper_options(None, None, None, list(CANONICAL_LEADS), "II").layout == "clinical"  # defaults
    with pytest.raises(PlotOptionsError, match="at least one lead"):
        paper_options("clinical", 25, 10, [], "II")


def test_figure_for_api_and_its_errors(services):
    fig = figure_for_api(services, " ptbxl/00003 ", "stacked", 50, 5, ["II", "V1", "V5"], "II", True)
    paper = fig.layout.meta["ecg_paper"]
    assert (paper["layout"], paper["speed_mm_s"], paper["gain_mm_mv"]) == ("stacked", 50, 5)
    assert [p[0] for p in paper["panels"]] == ["II", "V1", "V5"]
    assert fig.layout.title.text.startswith("ptbxl/00003 ")
    assert any(t.name == "QRS onset" for t in fig.data)  # the measured fiducial points
    for args, expected in (
        (("ptbxl/99999",), "99999"),
        (("ptbxl/00003", "4x3"), "layout"),
        (("ptbxl/00003", "clinical", 30), "mm/s"),
        (("",), "no ECG selected"),
    ):
        with pytest.raises(gr.Error, match=expected) as err:
            figure_for_api(services, *args)
        assert len(err.value.message) < 200 and "/tmp" not in err.value.message


def test_ecg_figure_endpoint(client):
    value = client.predict("ptbxl/00004", "6x2", 50, 10, ["I", "II"], "II", False, api_name="/ecg_figure")
    fig = json.loads(value["plot"])
    paper = fig["layout"]["meta"]["ecg_paper"]
    assert (paper["layout"], paper["speed_mm_s"], len(paper["panels"])) == ("6x2", 50, 12)
    assert [p[0] for p in paper["panels"] if p[4]] == ["I", "II"]  # only the chosen leads are drawn
    assert fig["layout"]["xaxis"]["range"][1] == pytest.approx(5.0)  # 250 mm of paper hold 5 s at 50 mm/s
    with pytest.raises(AppError, match="99999"):
        client.predict("ptbxl/99999", "clinical", 25, 10, ["II"], "II", False, api_name="/ecg_figure")
