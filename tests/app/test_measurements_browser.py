"""Browse in headless Chromium: the automated measurements are labelled unconfirmed, and the fiducial checkbox draws
the measured P/QRS/T points on the plot. Writes a screenshot (into assets/screenshots/ when UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

RECORD = "ptbxl/00001"
SCREENSHOT = Path(__file__).resolve().parents[2] / "assets" / "screenshots" / "measurements.png"


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_browse_measurements_and_fiducial_overlay(live_app: str, services, tmp_path: Path, browser):
    from playwright.sync_api import expect

    assert services.measurements(RECORD).beats  # per-beat fiducial points to draw
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.goto(live_app)
    cell = page.locator("#browse-table").get_by_text(RECORD, exact=True).locator("visible=true").first
    cell.wait_for(timeout=60_000)
    cell.click()
    plot = page.locator("#viewer-plot")
    plot.locator(".js-plotly-plot .scatterlayer path.js-line").first.wait_for(timeout=30_000)
    details = page.locator("#viewer-details")
    expect(details).to_contain_text("Automated measurements (unconfirmed)", timeout=30_000)
    expect(details).to_contain_text("QRS duration")
    expect(details).to_contain_text("not confirmed by a reader")
    assert plot.locator(".legend").count() == 0  # no overlay until asked for

    page.locator("#viewer-fiducials input[type=checkbox]").check()
    expect(plot.locator(".legend")).to_contain_text("QRS onset", timeout=30_000)
    expect(plot.locator(".legend")).to_contain_text("unconfirmed")
    # The ECG and calibration traces plus one per drawn fiducial kind.
    assert plot.locator(".scatterlayer .trace").count() >= 2 + 3
    page.wait_for_timeout(500)  # let plotly finish its transition before the picture
    shot = tmp_path / "measurements.png"
    # The page's full width from the checkbox down to the end of the plot and the details panel.
    boxes = [page.locator(f"#viewer-{name}").bounding_box() for name in ("fiducials", "plot", "details")]
    scroll_y = page.evaluate("window.scrollY")  # boxes are in viewport coordinates, the clip in the page's
    top = scroll_y + min(b["y"] for b in boxes) - 8
    bottom = scroll_y + max(b["y"] + b["height"] for b in boxes) + 8
    width = page.viewport_size["width"]
    page.screenshot(path=str(shot), full_page=True, clip={"x": 0, "y": top, "width": width, "height": bottom - top})
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)

    page.locator("#viewer-fiducials input[type=checkbox]").uncheck()
    expect(plot.locator(".legend")).to_have_count(0, timeout=30_000)
