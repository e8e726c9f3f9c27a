"""One real-browser test: headless Chromium opens the app, selects an ECG, sees the plot, edits a prompt, re-scores."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.app.test_uploads import write_uv_csv

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
    page.locator("#viewer-plot .js-plotly-plot .scatterlayer path.js-line").first.wait_for(timeout=30_000)
    # The key box and the details panel fill in their own updates: wait for them (a loaded CI machine may
    # draw the plot first).
    expect(page.locator("#ecg-key textarea, #ecg-key input").first).to_have_value("ptbxl/00003", timeout=30_000)
    expect(page.locator("#viewer-details")).to_contain_text("sinus", ignore_case=True, timeout=30_000)

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


# ---- click-through, paging, errors and the map (issue 13) ---------------------------------------------------------
SHOTS = Path(__file__).resolve().parents[2] / "assets" / "screenshots"
KEY_BOX = "#ecg-key textarea, #ecg-key input"


def _shot(page, tmp_path: Path, name: str, *selectors: str) -> Path:
    """A 1440-px-wide picture of the page from the first to the last of ``selectors`` (into assets/screenshots/ with
    UPDATE_SCREENSHOTS=1)."""
    page.wait_for_timeout(400)  # let plotly and the tables finish drawing
    boxes = [page.locator(s).bounding_box() for s in selectors]
    scroll_y = page.evaluate("window.scrollY")  # boxes are in viewport coordinates, the clip in the page's
    top = scroll_y + min(b["y"] for b in boxes) - 8
    bottom = scroll_y + max(b["y"] + b["height"] for b in boxes) + 8
    out = tmp_path / name
    clip = {"x": 0, "y": top, "width": page.viewport_size["width"], "height": bottom - top}
    page.screenshot(path=str(out), full_page=True, clip=clip)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, SHOTS / name)
    return out


# Page coordinates of a data point (seconds, millivolts) of the plot under ``sel``.
TO_PAGE = """([sel, t, v]) => {
  const gd = document.querySelector(sel);
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const r = gd.querySelector('.main-svg').getBoundingClientRect();
  return [r.left + xa._offset + xa.d2p(t), r.top + ya._offset + ya.d2p(v)];
}"""


def _caliper_second(page, plot: str) -> dict:
    """Click the calipers 1 s apart on an ECG-paper plot (mid-height, from 1 s to 2 s); returns their reading."""
    from playwright.sync_api import expect

    page.locator(plot).scroll_into_view_if_needed()
    mid = page.evaluate(
        f"() => {{ const r = document.querySelector('{plot}')._fullLayout.yaxis.range; return (r[0] + r[1]) / 2; }}"
    )
    for t in (1.0, 2.0):
        x, y = page.evaluate(TO_PAGE, [plot, t, mid])
        page.mouse.click(x, y)
    expect(page.locator(f"{plot} .annotation-text", has_text="bpm")).to_have_count(1, timeout=10_000)
    return page.evaluate(f"() => JSON.parse(document.querySelector('{plot}').dataset.caliper)")


def _open_app(browser, live_app: str):
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.goto(live_app)
    page.locator("#browse-table").get_by_text("ptbxl/00001", exact=True).locator("visible=true").first.wait_for(
        timeout=60_000
    )
    return page


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_browse_pages_on_the_server_and_a_row_opens(live_app: str, services, browser, tmp_path: Path):
    from playwright.sync_api import expect

    ids = [r.record_id for r in services.explorer().records]
    page = _open_app(browser, live_app)
    summary = page.locator("#browse-summary")
    expect(summary).to_contain_text("Records 1–22 of 22", timeout=30_000)
    page.locator("#browse-page-size input").click()
    page.get_by_role("option", name="10", exact=True).click()
    expect(summary).to_contain_text("Records 1–10 of 22 · page 1 of 3", timeout=30_000)
    table = page.locator("#browse-table")
    assert table.get_by_text(ids[10], exact=True).locator("visible=true").count() == 0  # not sent yet
    page.locator("#browse-next").click()
    expect(summary).to_contain_text("Records 11–20 of 22 · page 2 of 3", timeout=30_000)
    cell = table.get_by_text(ids[12], exact=True).locator("visible=true").first
    cell.wait_for(timeout=30_000)
    assert table.get_by_text(ids[0], exact=True).locator("visible=true").count() == 0
    cell.click()
    expect(page.locator(KEY_BOX).first).to_have_value(ids[12], timeout=30_000)
    expect(page.locator("#viewer-details")).to_contain_text(ids[12], timeout=30_000)
    _shot(page, tmp_path, "browse.png", "#browse-search", "#browse-summary")


def _assert_just_above(notice, table) -> None:
    """The notice ends where the table starts (within 150 px): it reads as the table's caption."""
    box, under = notice.bounding_box(), table.bounding_box()
    assert box["y"] + box["height"] <= under["y"] + 1 and under["y"] - box["y"] < 150, (box, under)


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_a_retrieve_result_and_its_thumbnail_open_the_ecg(live_app: str, browser, tmp_path: Path):
    from playwright.sync_api import expect

    page = _open_app(browser, live_app)
    page.get_by_role("tab", name="Retrieve").click()
    # Before a search, the results' place says what will fill it.
    expect(page.locator("#search-thumbs")).to_contain_text("nearest to your query will be listed here")
    page.get_by_label("Query").fill("sinus rhythm")
    page.locator("#search-btn").click()
    thumbs = page.locator("#search-thumbs tr[data-ecg]")
    thumbs.first.wait_for(timeout=60_000)
    ids = [thumbs.nth(i).get_attribute("data-ecg") for i in range(thumbs.count())]
    # The ECG hits show once, as the thumbnail table, right under the filters and above the matching reports (the
    # API's table of the same rows is not drawn: two lists of the same ECGs read as two different answers).
    expect(page.locator("#search-ecgs")).to_be_hidden()
    assert page.locator("#search-thumbs").bounding_box()["y"] < page.locator("#search-reports").bounding_box()["y"]
    # A click on a result row opens it: the current-ECG box changes and the details follow.
    thumbs.nth(1).get_by_text(ids[1], exact=True).click()
    expect(page.locator(KEY_BOX).first).to_have_value(ids[1], timeout=30_000)
    _shot(page, tmp_path, "retrieve.png", "#search-thumbs", "#search-reports")
    # A click anywhere on another row opens that one.
    thumbs.nth(2).click()
    expect(page.locator(KEY_BOX).first).to_have_value(ids[2], timeout=30_000)
    expect(page.locator("#viewer-details")).to_contain_text(ids[2], timeout=30_000)
    # A query no report states: a notice right above the report table says the ranking is by meaning only, and
    # the next query that matches words clears it.
    notice = page.locator("#search-notice")
    expect(notice).not_to_contain_text("ranked by meaning")
    page.get_by_label("Query").fill("pericarditis")
    page.locator("#search-btn").click()
    expect(notice).to_contain_text("ranked by meaning only", timeout=60_000)
    _assert_just_above(notice, page.locator("#search-reports"))
    _shot(page, tmp_path, "retrieve_notice.png", "#search-notice", "#search-reports")
    # A negated finding: the ECG list (the model's embedding) does not read the "no", and a notice above it says so.
    ecg_notice = page.locator("#search-ecg-notice")
    expect(ecg_notice).not_to_contain_text("negated")
    page.get_by_label("Query").fill("no P waves")
    page.locator("#search-btn").click()
    expect(ecg_notice).to_contain_text("negated finding", timeout=60_000)
    _assert_just_above(ecg_notice, page.locator("#search-thumbs"))
    page.get_by_label("Query").fill("sinus rhythm")
    page.locator("#search-btn").click()
    expect(notice).not_to_contain_text("ranked by meaning", timeout=60_000)
    expect(ecg_notice).not_to_contain_text("negated")
    # The ECG list's heading says how it was ranked: by example (reports state "sinus rhythm"), or, with the
    # checkbox off, by the model's embedding of the text.
    thumbs_box = page.locator("#search-thumbs")
    expect(thumbs_box).to_contain_text("ranked by example: like the", timeout=60_000)
    page.locator("#search-by-example input[type=checkbox]").uncheck()
    page.locator("#search-btn").click()
    expect(thumbs_box).to_contain_text("ranked by the model's embedding of the text (sim.", timeout=60_000)
    page.locator("#search-by-example input[type=checkbox]").check()
    # A finding a measurement defines: the heading names the criterion and every row says whether its automated
    # measurements meet it; unticked, the model's order stands and no row is marked.
    page.get_by_label("Query").fill("sinus bradycardia")
    page.locator("#search-btn").click()
    expect(thumbs_box).to_contain_text("HR < 60 bpm (bradycardia)", timeout=60_000)
    rows = page.locator("#search-thumbs tr[data-ecg]")
    met = re.compile(r"^✓ meets the criteria: HR \d+ bpm \(< 60 bpm: met\); P waves before the QRS: yes \(met\)$")
    expect(rows.first.locator(".criteria-tag")).to_have_text(met)
    assert page.locator("#search-thumbs .criteria-tag").count() == rows.count()
    _shot(page, tmp_path, "retrieve_criteria.png", "#search-thumbs", "#search-reports")
    page.locator("#search-by-measurement input[type=checkbox]").uncheck()
    page.locator("#search-btn").click()
    expect(thumbs_box).not_to_contain_text("a measurement defines", timeout=60_000)
    assert page.locator("#search-thumbs .criteria-tag").count() == 0


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_annotate_folds_the_report_panel_and_shows_the_report_beside_the_form(live_app: str, browser, tmp_path: Path):
    from playwright.sync_api import expect

    page = _open_app(browser, live_app)
    page.locator(KEY_BOX).first.fill("ptbxl/00003")
    page.locator(KEY_BOX).first.press("Enter")
    details = page.locator("#viewer-details")
    expect(details).to_contain_text("sinus", ignore_case=True, timeout=30_000)
    report = details.inner_text().split("Report (English):")[1].split("\n")[0].strip()
    page.get_by_role("tab", name="Annotate").click()
    expect(details).to_be_hidden(timeout=10_000)
    expect(page.locator("#annotate-summary")).to_contain_text(f"Report: {report}", timeout=15_000)
    # The form now follows the tracing: less than the panel's height below the plot.
    plot = page.locator("#viewer-plot").bounding_box()
    form = page.locator("#annotate-summary").bounding_box()
    assert 0 < form["y"] - (plot["y"] + plot["height"]) < 300, (plot, form)
    _shot(page, tmp_path, "annotate-folded.png", "#viewer-plot", "#annotate-summary")
    page.get_by_role("tab", name="Retrieve").click()
    expect(details).to_be_visible(timeout=10_000)
    # A panel the user folds stays folded on the other tabs.
    page.locator("#viewer-details-panel button").first.click()
    expect(details).to_be_hidden(timeout=10_000)
    page.get_by_role("tab", name="Browse").click()
    page.wait_for_timeout(500)
    expect(details).to_be_hidden()


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_a_bad_id_leaves_no_stale_details_or_error_overlays(live_app: str, browser):
    from playwright.sync_api import expect

    page = _open_app(browser, live_app)
    page.locator("#browse-table").get_by_text("ptbxl/00003", exact=True).locator("visible=true").first.click()
    details = page.locator("#viewer-details")
    expect(details).to_contain_text("ptbxl/00003", timeout=30_000)
    page.get_by_role("tab", name="Zero-shot").click()
    reference = page.locator("#zeroshot-reference")
    expect(reference).to_contain_text("ptbxl/00003", timeout=30_000)  # with its reference labels
    expect(reference).to_contain_text("NORM")
    box = page.locator(KEY_BOX).first
    box.fill("ptbxl/99999")
    box.press("Enter")
    # One message (the viewer's line), and nothing of the previous ECG left in the details or the Zero-shot tab.
    expect(page.locator("#viewer-message")).to_contain_text("not in the index", timeout=30_000)
    expect(details).not_to_contain_text("ptbxl/00003")
    expect(reference).not_to_contain_text("ptbxl/00003", timeout=30_000)
    expect(page.locator("#zeroshot-scores")).not_to_contain_text("NORM", timeout=30_000)
    assert page.locator(".toast-body").count() == 0
    # Retrieve follows the box too: cleared, not the previous ECG's neighbours, and no red error overlay.
    page.get_by_role("tab", name="Retrieve").click()
    page.get_by_label("Query").fill("   ")
    page.locator("#search-btn").click()
    expect(page.locator("#search-thumbs")).to_contain_text("type a query", timeout=30_000)
    assert page.locator("#search-ecgs, #search-reports, #retrieve-reports").get_by_text("Error").count() == 0
    assert page.locator("#retrieve-thumbs tr[data-ecg]").count() == 0


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_the_map_is_drawn_when_its_tab_opens(live_app: str, services, browser, tmp_path: Path):
    from playwright.sync_api import expect

    page = _open_app(browser, live_app)
    page.get_by_role("tab", name="Map").click()
    points = page.locator("#atlas-plot .scatterlayer .point")
    expect(points).to_have_count(len(services.explorer()), timeout=60_000)  # no button pressed
    page.locator("#atlas-colour").get_by_text("superclass", exact=True).click()
    legend = page.locator("#atlas-plot .legend .traces")
    expect(legend.first).to_contain_text("NORM", timeout=30_000)
    assert legend.count() <= 12  # at most 10 named groups, "other" and "no superclass label"
    # A point click opens its ECG, and the preview shows its report. The page script hooks a redrawn plot within
    # 0.6 s, so a click right after the colour change may come too early: click again until it opens.
    details = page.locator("#atlas-details")
    expect(details).to_contain_text("Click a point on the map: its report shows in this panel")  # not a blank box
    for _ in range(5):
        points.nth(3).click(force=True)
        try:
            expect(details).to_contain_text("Report", timeout=6_000)
            break
        except AssertionError:
            continue
    expect(details).to_contain_text("Report", timeout=1_000)
    key = page.locator(KEY_BOX).first.input_value()
    assert key in {r.record_id for r in services.explorer().records}
    # The preview is the viewer's figure on ECG paper, so the calipers measure on it too (1 s apart: 60 bpm; a
    # pixel is ~5 ms at this width).
    preview = "#atlas-ecg .js-plotly-plot"
    page.wait_for_function(f"() => !!document.querySelector('{preview}')?.layout?.meta?.ecg_paper", timeout=30_000)
    reading = _caliper_second(page, preview)
    assert reading["dt_ms"] == pytest.approx(1000, abs=15) and reading["bpm"] == pytest.approx(60, abs=1)
    # The map follows the opened ECG: redrawn with its star (one more point).
    expect(points).to_have_count(len(services.explorer()) + 1, timeout=30_000)
    _shot(page, tmp_path, "map.png", "#atlas-colour", "#atlas-details", "#atlas-ecg")


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_a_file_that_cannot_be_read_is_one_line_and_no_overlay(live_app: str, browser, tmp_path: Path):
    from playwright.sync_api import expect

    page = _open_app(browser, live_app)
    page.locator("#browse-table").get_by_text("ptbxl/00003", exact=True).locator("visible=true").first.click()
    expect(page.locator(KEY_BOX).first).to_have_value("ptbxl/00003", timeout=30_000)
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"this is not a numpy file")
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(junk))
    page.get_by_role("button", name="Read", exact=True).locator("visible=true").first.click()
    info = page.locator("#upload-info")
    expect(info).to_contain_text("The upload could not be read", timeout=30_000)
    expect(info).to_contain_text("junk.npy")
    assert str(tmp_path) not in info.inner_text()
    # The current-ECG box keeps its ECG and stays usable: no error overlay on it, no toast.
    assert page.locator("#ecg-key").get_by_text("Error").count() == 0 and page.locator(".toast-body").count() == 0
    expect(page.locator(KEY_BOX).first).to_have_value("ptbxl/00003")


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_a_microvolt_csv_upload_shows_the_units_warning(live_app: str, browser, shared_data, tmp_path: Path):
    from playwright.sync_api import expect

    csv = write_uv_csv(shared_data, tmp_path)  # a real PTB-XL record x 1000, no unit in the header
    page = _open_app(browser, live_app)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload-files input[type=file]").set_input_files(str(csv))
    page.get_by_role("button", name="Read", exact=True).locator("visible=true").first.click()
    info = page.locator("#upload-info")
    expect(info).to_contain_text("microvolts", timeout=60_000)
    expect(info).to_contain_text("Units = mV")
    assert info.locator("blockquote").count() >= 1  # the warning stands apart, above the summary
    # The window read is the current ECG, drawn in millivolts: no lead is clipped (as µV read as mV would be).
    expect(page.locator(KEY_BOX).first).to_have_value(re.compile(r"^upload/.+@0$"), timeout=30_000)
    key = page.locator(KEY_BOX).first.input_value()
    page.wait_for_function(
        "(k) => { const gd = document.querySelector('#viewer-plot .js-plotly-plot');"
        " return !!(gd && gd.layout && gd.layout.title && gd.layout.title.text.startsWith(k + ' ')); }",
        arg=key,
        timeout=60_000,
    )
    panels = page.evaluate("() => document.querySelector('#viewer-plot .js-plotly-plot').layout.meta.ecg_paper.panels")
    assert len(panels) == 13 and not any(p[5] for p in panels)  # [lead, t0, t1, baseline, drawn, clipped]
    _shot(page, tmp_path, "upload.png", "#ecg-key", "#upload-info")  # the page: viewer above the tabs


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_explain_and_batch_mistakes_are_one_line_and_explain_has_calipers(live_app: str, browser):
    from playwright.sync_api import expect

    page = _open_app(browser, live_app)
    overlays = "#explain-plot, #explain-text, #batch-summary, #batch-auc, #batch-confusion, #batch-csv"
    # Explain with no ECG open: one line in the tab, no error overlay, no toast.
    page.get_by_role("tab", name="Explain").click()
    page.locator("#explain-btn").click()
    text = page.locator("#explain-text")
    expect(text).to_contain_text("no ECG selected", timeout=30_000)
    # An ECG and a prompt: the saliency figure is ECG paper, and the calipers measure on it.
    box = page.locator(KEY_BOX).first
    box.fill("ptbxl/00003")
    box.press("Enter")
    expect(page.locator("#viewer-details")).to_contain_text("ptbxl/00003", timeout=30_000)
    page.locator("#explain-btn").click()
    expect(text).to_contain_text("Score", timeout=60_000)
    plot = "#explain-plot .js-plotly-plot"
    page.wait_for_function(f"() => !!document.querySelector('{plot}')?.layout?.meta?.ecg_paper", timeout=30_000)
    reading = _caliper_second(page, plot)
    assert reading["dt_ms"] == pytest.approx(1000, abs=15) and reading["bpm"] == pytest.approx(60, abs=1)
    # An empty prompt: the line says so and the previous figure is gone.
    page.get_by_label("Prompt to explain").fill("")
    page.locator("#explain-btn").click()
    expect(text).to_contain_text("type the prompt", timeout=30_000)
    expect(page.locator(f"{plot} .scatterlayer path.js-line")).to_have_count(0, timeout=30_000)
    # Score many ECGs without a file: one line in the section's summary.
    page.get_by_role("tab", name="Zero-shot").click()
    page.locator("#batch-zeroshot").get_by_text("Score many ECGs").first.click()
    page.locator("#batch-files-btn").click()
    expect(page.locator("#batch-summary")).to_contain_text("no file uploaded", timeout=30_000)
    assert page.locator(overlays).get_by_text("Error", exact=True).count() == 0
    assert page.locator(".toast-body").count() == 0
