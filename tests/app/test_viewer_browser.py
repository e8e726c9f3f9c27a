"""The viewer in headless Chromium: paper settings redraw the figure, calipers measure a real RR interval, Back and
Forward walk the opened ECGs, a bad id clears the viewer. Writes a screenshot of the viewer at 1440 px (into
assets/screenshots/ when UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

RECORD = "ptbxl/00001"
OTHER = "ptbxl/00002"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "assets" / "screenshots"
PLOT = "#viewer-plot .js-plotly-plot"
COMPARE_PLOT = "#viewer-compare-plot .js-plotly-plot"
# The figure's paper settings as the page holds them (layout.meta, written by core.plotting.ecg_figure).
PAPER = f"() => {{ const gd = document.querySelector('{PLOT}'); return gd && gd.layout && gd.layout.meta ? "
PAPER_META = PAPER + "gd.layout.meta.ecg_paper : null; }"
# Page coordinates of a data point (seconds, millivolts) of the viewer's plot.
TO_PAGE = f"""([t, v]) => {{
  const gd = document.querySelector('{PLOT}');
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const r = gd.querySelector('.main-svg').getBoundingClientRect();
  return [r.left + xa._offset + xa.d2p(t), r.top + ya._offset + ya.d2p(v)];
}}"""


# True when the viewer's plot shows the ECG ``k`` (its title starts with the key).
SHOWS = (
    f"(k) => {{ const gd = document.querySelector('{PLOT}');"
    " return !!(gd && gd.layout && gd.layout.title && gd.layout.title.text.startsWith(k + ' ')); }"
)


def _open(page, key: str) -> None:
    """Type ``key`` into the current-ECG box, press Enter, and wait until the viewer shows it."""
    box = page.locator("#ecg-key textarea, #ecg-key input").first
    box.fill(key)
    box.press("Enter")
    page.wait_for_function(SHOWS, arg=key, timeout=60_000)


def _wait_paper(page, field: str, value) -> dict:
    page.wait_for_function(f"(v) => {{ const m = ({PAPER_META})(); return m && m['{field}'] === v; }}", arg=value)
    return page.evaluate(PAPER_META)


def _screenshot(page, tmp_path: Path, name: str) -> None:
    """The viewer from its top to the bottom of its plots, at the page's full width (1440 px); copied into
    assets/screenshots/ when UPDATE_SCREENSHOTS=1."""
    page.wait_for_timeout(500)  # let plotly finish drawing
    shot = tmp_path / name
    scroll_y = page.evaluate("window.scrollY")  # boxes are in viewport coordinates, the clip in the page's
    top = scroll_y + page.locator("#viewer").bounding_box()["y"] - 8
    plots = [page.locator(sel).bounding_box() for sel in (PLOT, COMPARE_PLOT) if page.locator(sel).is_visible()]
    bottom = scroll_y + max(box["y"] + box["height"] for box in plots) + 8
    width = page.viewport_size["width"]
    page.screenshot(path=str(shot), full_page=True, clip={"x": 0, "y": top, "width": width, "height": bottom - top})
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / name)


def _page(browser, live_app: str):
    page = browser.new_page(viewport={"width": 1440, "height": 1200})
    page.goto(live_app)
    return page


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_layout_and_speed_change_the_figure_and_compare_side_by_side(live_app: str, browser, tmp_path: Path):
    from playwright.sync_api import expect

    page = _page(browser, live_app)
    _open(page, RECORD)
    paper = page.evaluate(PAPER_META)
    assert (paper["layout"], paper["speed_mm_s"], len(paper["panels"])) == ("clinical", 25, 13)
    px_per_s = page.evaluate(f"() => document.querySelector('{PLOT}')._fullLayout.xaxis._m")

    page.locator("#viewer-layout").get_by_text("6×2", exact=True).click()
    paper = _wait_paper(page, "layout", "6x2")
    assert len(paper["panels"]) == 12 and [p[1] for p in paper["panels"][:2]] == [0, 5]  # limb 0-5 s, chest 5-10 s
    page.locator("#viewer-speed").get_by_text("50 mm/s", exact=True).click()
    paper = _wait_paper(page, "speed_mm_s", 50)
    assert paper["layout"] == "6x2" and [p[1] for p in paper["panels"][:2]] == [0, 2.5]
    # A second now takes twice the screen: the page is 250 mm of paper either way.
    fast_px_per_s = page.evaluate(f"() => document.querySelector('{PLOT}')._fullLayout.xaxis._m")
    assert fast_px_per_s == pytest.approx(2 * px_per_s, rel=0.02)
    # The grid is readable at 1440 px: a 1 mm square is at least 4 px (it was 3.4 px).
    assert fast_px_per_s / 50 >= 4.0

    # A second ECG side by side, at the same speed and gain.
    page.locator("#viewer-compare-key input").fill(OTHER)
    page.locator("#viewer-compare-key input").press("Enter")
    compare = page.locator("#viewer-compare-plot .js-plotly-plot")
    expect(compare).to_be_visible(timeout=60_000)
    page.wait_for_function(
        "(k) => { const gd = document.querySelector('#viewer-compare-plot .js-plotly-plot');"
        " return gd && gd.layout && gd.layout.title && gd.layout.title.text.startsWith(k + ' '); }",
        arg=OTHER,
        timeout=60_000,
    )
    other = page.evaluate("() => document.querySelector('#viewer-compare-plot .js-plotly-plot').layout.meta.ecg_paper")
    assert (other["layout"], other["speed_mm_s"], other["gain_mm_mv"]) == ("6x2", 50, 10)
    boxes = [page.locator(sel).bounding_box() for sel in (PLOT, "#viewer-compare-plot .js-plotly-plot")]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1  # side by side, not stacked
    _screenshot(page, tmp_path, "viewer-compare.png")


def _r_peaks(services, key: str) -> list[tuple[float, float]]:
    """(time s, drawn mV) of the R peaks of lead II: the largest sample between each measured QRS onset and offset,
    less the lead's median (the figure draws each lead about its median)."""
    ecg = services.ecg(key)
    lead = np.asarray(ecg.signal_mv[1], float)
    lead = lead - np.median(lead)
    peaks = []
    for beat in services.measurements(key).beats:
        if beat.qrs_on_s is None or beat.qrs_off_s is None:
            continue
        i0, i1 = int(beat.qrs_on_s * ecg.fs_hz), int(beat.qrs_off_s * ecg.fs_hz) + 1
        i = i0 + int(np.argmax(lead[i0:i1]))
        peaks.append((i / ecg.fs_hz, float(lead[i])))
    return peaks


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_calipers_between_two_r_peaks_give_the_rate(live_app: str, services, browser, tmp_path: Path):
    from playwright.sync_api import expect

    peaks = [p for p in _r_peaks(services, RECORD) if 0.5 < p[0] < 9.5]
    (t1, v1), (t2, v2) = peaks[0], peaks[1]
    rr_s = t2 - t1
    assert 0.4 < rr_s < 1.5

    page = _page(browser, live_app)
    _open(page, RECORD)
    paper = page.evaluate(PAPER_META)
    strip = paper["panels"][-1]  # the lead II rhythm strip: [lead, t0, t1, baseline mV, drawn, clipped]
    assert strip[:3] == ["II", 0, 10]
    page.locator(PLOT).scroll_into_view_if_needed()
    for t, v in ((t1, v1), (t2, v2)):
        x, y = page.evaluate(TO_PAGE, [t, strip[3] + v])
        page.mouse.click(x, y)
    reading = page.locator(f"{PLOT} .annotation-text", has_text="bpm")
    expect(reading).to_have_count(1, timeout=10_000)
    measured = page.evaluate(f"() => JSON.parse(document.querySelector('{PLOT}').dataset.caliper)")
    px_s = 1.0 / page.evaluate(f"() => document.querySelector('{PLOT}')._fullLayout.xaxis._m")
    px_mv = 1.0 / -page.evaluate(f"() => document.querySelector('{PLOT}')._fullLayout.yaxis._m")  # y grows upwards
    # Within a pixel at each end (a pixel is ~7 ms and ~0.02 mV at 1440 px).
    assert abs(measured["dt_ms"] - 1000 * rr_s) <= 2000 * px_s
    assert measured["bpm"] == pytest.approx(60 / rr_s, abs=1.0)
    assert abs(measured["dv_mv"] - (v2 - v1)) <= 2 * px_mv
    text = reading.text_content()  # drawn on the figure: "Δt 812 ms · 73.9 bpm · ΔV +0.09 mV"
    assert f"Δt {measured['dt_ms']:.0f} ms" in text and f"{measured['bpm']:.1f} bpm" in text and "ΔV" in text

    _screenshot(page, tmp_path, "viewer.png")

    # Marching calipers repeat the measured interval across the strip, from the first point.
    page.locator("#viewer-marching input[type=checkbox]").check()
    page.wait_for_function(
        f"() => (document.querySelector('{PLOT}').layout.shapes || []).some((s) => s.name === 'caliper-m2')"
    )
    marks = page.evaluate(  # the two caliper lines and the marching marks
        f"""() => document.querySelector('{PLOT}').layout.shapes
             .filter((s) => /^caliper-[tm]/.test(s.name || '')).map((s) => s.x0).sort((a, b) => a - b)"""
    )
    assert len(marks) >= 8  # 10 s at ~0.9 s per beat
    assert np.diff(marks) == pytest.approx(measured["dt_ms"] / 1000, abs=1e-6)


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_back_forward_and_a_bad_id_leaves_nothing_stale(live_app: str, services, browser):
    from playwright.sync_api import expect

    page = _page(browser, live_app)
    key_box = page.locator("#ecg-key textarea, #ecg-key input").first
    back, forward = page.locator("#viewer-back"), page.locator("#viewer-forward")
    _open(page, RECORD)
    details = page.locator("#viewer-details")
    expect(details).to_contain_text(services.explorer().record(RECORD).text_en[:20], timeout=30_000)
    _open(page, OTHER)
    expect(back).to_be_enabled(timeout=30_000)
    back.click()
    expect(key_box).to_have_value(RECORD, timeout=30_000)
    page.wait_for_function(f"() => document.querySelector('{PLOT}').layout.title.text.startsWith('{RECORD} ')")
    expect(forward).to_be_enabled(timeout=30_000)
    forward.click()
    expect(key_box).to_have_value(OTHER, timeout=30_000)
    page.wait_for_function(f"() => document.querySelector('{PLOT}').layout.title.text.startsWith('{OTHER} ')")

    key_box.fill("ptbxl/99999")
    key_box.press("Enter")
    message = page.locator("#viewer-message")
    expect(message).to_contain_text("99999", timeout=30_000)
    assert len(message.inner_text()) < 200 and "/tmp" not in message.inner_text()
    expect(details).to_have_text("", timeout=30_000)  # no details of the previous ECG
    expect(page.locator("#viewer-plot .js-plotly-plot .scatterlayer path.js-line")).to_have_count(0)
    # The bad id did not enter the history: Back returns to the last ECG that opened.
    back.click()
    expect(key_box).to_have_value(RECORD, timeout=30_000)


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_a_half_typed_id_opens_on_enter_or_blur_not_per_keystroke(live_app: str, browser):
    from playwright.sync_api import expect

    page = _page(browser, live_app)
    _open(page, RECORD)
    key_box = page.locator("#ecg-key textarea, #ecg-key input").first
    message = page.locator("#viewer-message")
    key_box.click()
    key_box.press("Control+A")
    key_box.press_sequentially("ptbxl/000")  # one input event per key, as a user types
    # The key the tabs follow (a hidden box) is still the opened ECG: nothing was sent while typing.
    assert page.locator("#ecg-current textarea, #ecg-current input").first.input_value() == RECORD
    assert message.inner_text().strip() == ""
    key_box.press("Enter")
    expect(message).to_contain_text("ptbxl/000", timeout=30_000)
    # Leaving the box (Tab) opens what it holds, too.
    key_box.fill(OTHER)
    key_box.press("Tab")
    page.wait_for_function(f"(k) => ({SHOWS})(k)", arg=OTHER, timeout=60_000)
    expect(message).to_have_text("", timeout=30_000)
