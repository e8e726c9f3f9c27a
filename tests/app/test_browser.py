"""One real-browser test: headless Chromium opens the app, selects an ECG, sees the plot, edits a prompt, re-scores."""

from __future__ import annotations

import pytest

NORM_PROMPTS = "normal ECG | sinus rhythm, normal ECG | normal electrocardiogram, no abnormality"


# True once a component shows no pending update (Gradio's "processing" label or its "1.2s" timer) and, when a
# previous text is given, its text differs from it. A loaded machine shows the timer before the new rows arrive.
SETTLED = (
    "((sel, previous) => { const t = document.querySelector(sel).innerText;"
    " return !t.includes('processing') && !/\\d+\\.\\ds/.test(t) && (previous === null || t !== previous); })"
)


def _similarity(table_text: str, cls: str) -> float:
    """The similarity cell after a class name in the scores table's text."""
    cells = [c.strip() for c in table_text.split() if c.strip()]
    return float(cells[cells.index(cls) + 1])


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_select_plot_edit_prompt_rescore(live_app: str, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(live_app)
    # Browse: the table fills once the index is ready; clicking a row opens the ECG.
    cell = page.locator("#browse-table").get_by_text("ptbxl/00003", exact=True).locator("visible=true").first
    cell.wait_for(timeout=60_000)
    cell.click()
    page.locator("#browse-plot .js-plotly-plot .scatterlayer path.js-line").first.wait_for(timeout=30_000)
    # The key box and the details panel fill in their own updates: wait for them (a loaded CI machine may
    # draw the plot first).
    expect(page.locator("#ecg-key textarea, #ecg-key input").first).to_have_value("ptbxl/00003", timeout=30_000)
    expect(page.locator("#browse-details")).to_contain_text("sinus", ignore_case=True, timeout=30_000)

    # Zero-shot: scores appear for the selected ECG; edit the NORM prompts and score again.
    page.get_by_role("tab", name="Zero-shot").click()
    scores = page.locator("#zeroshot-scores")
    scores.get_by_text("NORM", exact=True).wait_for(timeout=30_000)
    page.wait_for_function(f"() => {SETTLED}('#zeroshot-scores', null)", timeout=30_000)
    before = scores.inner_text()
    page.locator("#prompt-table").get_by_text(NORM_PROMPTS, exact=True).dblclick()
    page.keyboard.press("Control+A")
    page.keyboard.type("left bundle branch block")
    page.keyboard.press("Enter")
    page.locator("#prompt-table").get_by_text("left bundle branch block", exact=True).wait_for(timeout=10_000)
    page.locator("#score-btn").click()
    page.wait_for_function(f"(b) => {SETTLED}('#zeroshot-scores', b)", arg=before, timeout=30_000)
    after = scores.inner_text()
    assert _similarity(after, "NORM") != _similarity(before, "NORM")
    assert page.locator("#zeroshot-plot .js-plotly-plot .barlayer").count() == 1
