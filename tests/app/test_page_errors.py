"""A user's mistake in the Explain tab and in "Score many ECGs" is one line in the page (no error overlay on the
outputs, nothing logged as a bug), while the named API endpoints still raise; the current-ECG box opens on Enter
or blur, not on every keystroke."""

from __future__ import annotations

import logging

import gradio as gr
import pandas as pd
import pytest

from app.views.batch import batch_zero_shot, batch_zero_shot_files, in_page
from app.views.explain import explain, explain_in_page
from app.views.zeroshot import prompts_frame


@pytest.mark.parametrize(
    ("key", "prompt", "expected"),
    [("", "sinus rhythm", "no ECG selected"), ("ptbxl/99999", "sinus rhythm", "99999"), ("ptbxl/00003", " ", "prompt")],
)
def test_explain_mistakes_are_one_line_and_a_cleared_plot(services, caplog, key, prompt, expected):
    caplog.set_level(logging.WARNING)
    fig, text = explain_in_page(services, key, prompt, "tiny-a")
    assert fig is None
    assert text.startswith("⚠️") and expected in text and "/tmp" not in text and len(text) < 200
    assert not caplog.records  # a user's mistake is not logged as a failure
    with pytest.raises(gr.Error, match=expected):  # what the /explain endpoint raises
        explain(services, key, prompt, "tiny-a")


def test_explain_in_page_draws_on_ecg_paper(services):
    fig, text = explain_in_page(services, "ptbxl/00003", "sinus rhythm", "tiny-a", 2.5, "stacked")
    assert fig.layout.meta["ecg_paper"]["layout"] == "stacked"  # the shared figure: calipers attach to it
    assert any(s.type == "rect" for s in fig.layout.shapes) and "Score" in text
    assert "amplitudes not calibrated" not in fig.layout.title.text
    # A LUDB record's file keeps no millivolts (core.data.lead_scaling): its saliency figure says so too.
    ludb = next(r.record_id for r in services.explorer().records if r.record_id.startswith("ludb/"))
    fig, _ = explain_in_page(services, ludb, "sinus rhythm", "tiny-a", 2.5, "stacked")
    assert fig.layout.title.text.endswith("· amplitudes not calibrated (relative sizes only)")


def test_batch_mistakes_are_one_line_with_cleared_results(services, caplog):
    caplog.set_level(logging.WARNING)
    table = {"headers": ["class", "prompts"], "data": prompts_frame(services, "ptbxl_superclass").values.tolist()}
    for score, expected in (
        (lambda: batch_zero_shot(services, None, "tiny-a", "ptbxl"), "prompt table is empty"),
        (lambda: batch_zero_shot(services, {"headers": ["class"], "data": [[""]]}, "tiny-a"), "no class"),
        (lambda: batch_zero_shot_files(services, None, table, "tiny-a"), "no file uploaded"),
        (lambda: batch_zero_shot(services, table, "tiny-a", "nope"), "no indexed record"),
    ):
        with pytest.raises(gr.Error, match=expected):  # the named endpoints raise
            score()
        summary, auc, confusion, csv, last_csv = in_page(score)
        assert summary.startswith("⚠️") and expected in summary
        assert isinstance(auc, pd.DataFrame) and auc.empty and confusion.empty and csv is None
        assert last_csv == gr.skip()  # the session keeps its previous CSV's path (deleted when it scores again)
    assert not caplog.records
    ok = object()
    assert in_page(lambda: ok) is ok  # a result passes through


def test_the_key_box_opens_on_enter_or_blur_only(services):
    from app.main import build_app

    demo = build_app(services=services)
    box = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "ecg-key")
    key = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "ecg-current")
    triggers = {}
    for dep in demo.config["dependencies"]:
        for block_id, event in dep["targets"]:
            triggers.setdefault(block_id, set()).add(event)
    # Typing sends nothing; Enter and leaving the box copy it into the key the tabs follow.
    assert triggers[box._id] == {"submit", "blur"}
    assert "change" in triggers[key._id] and key.visible == "hidden"
