"""One real-browser test: headless Chromium opens the app, selects an ECG, sees the plot, edits a prompt, re-scores."""

from __future__ import annotations

from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
NORM_PROMPTS = "normal ECG | sinus rhythm, normal ECG | normal electrocardiogram, no abnormality"


def _similarity(table_text: str, cls: str) -> float:
    """The similarity cell after a class name in the scores table's text."""
    cells = [c.strip() for c in table_text.split() if c.strip()]
    return float(cells[cells.index(cls) + 1])


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_select_plot_edit_prompt_rescore(live_app: str):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.goto(live_app)
            # Browse: the table fills once the index is ready; clicking a row opens the ECG.
            cell = page.locator("#browse-table").get_by_text("ptbxl/00003", exact=True).locator("visible=true").first
            cell.wait_for(timeout=60_000)
            cell.click()
            page.locator("#browse-plot .js-plotly-plot .scatterlayer path.js-line").first.wait_for(timeout=30_000)
            assert page.locator("#ecg-key textarea, #ecg-key input").first.input_value() == "ptbxl/00003"
            assert "sinus" in page.locator("#browse-details").inner_text().lower()

            # Zero-shot: scores appear for the selected ECG; edit the NORM prompts and score again.
            page.get_by_role("tab", name="Zero-shot").click()
            scores = page.locator("#zeroshot-scores")
            scores.get_by_text("NORM", exact=True).wait_for(timeout=30_000)
            page.wait_for_function(
                "() => !document.querySelector('#zeroshot-scores').innerText.includes('processing')", timeout=30_000
            )
            before = scores.inner_text()
            page.locator("#prompt-table").get_by_text(NORM_PROMPTS, exact=True).dblclick()
            page.keyboard.press("Control+A")
            page.keyboard.type("left bundle branch block")
            page.keyboard.press("Enter")
            page.locator("#prompt-table").get_by_text("left bundle branch block", exact=True).wait_for(timeout=10_000)
            page.locator("#score-btn").click()
            page.wait_for_function(
                "(b) => { const t = document.querySelector('#zeroshot-scores').innerText;"
                " return !t.includes('processing') && t !== b; }",
                arg=before, timeout=30_000,
            )
            after = scores.inner_text()
            assert _similarity(after, "NORM") != _similarity(before, "NORM")
            assert page.locator("#zeroshot-plot .js-plotly-plot .barlayer").count() == 1
        finally:
            browser.close()
