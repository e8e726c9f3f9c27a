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


PREMATURE_SCREENSHOT = SCREENSHOT.with_name("measurements-premature.png")


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_an_uploaded_ecg_with_pvcs_lists_them_and_letters_them_on_the_plot(
    live_app: str, browser, shared_data: Path, tmp_path: Path
):
    """A PTB-XL record with two PVCs (``ptbxl_more`` 02536, training fold), uploaded as its WFDB pair: the details
    list the premature beats with their times, and the overlay letters each PVC "V" above its QRS."""
    from playwright.sync_api import expect

    folder = shared_data / "ptbxl_more" / "records100" / "02000"
    files = [str(folder / "02536_lr.hea"), str(folder / "02536_lr.dat")]
    page = browser.new_page(viewport={"width": 1440, "height": 1100})
    page.goto(live_app)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#upload-files input[type=file]").set_input_files(files)
    page.get_by_role("button", name="Read", exact=True).locator("visible=true").first.click()
    details = page.locator("#viewer-details")
    expect(details).to_contain_text("Premature beats: ventricular 2 at", timeout=60_000)
    expect(details).to_contain_text("supraventricular 0")
    page.locator("#viewer-fiducials input[type=checkbox]").check()
    plot = page.locator("#viewer-plot")
    expect(plot.locator(".legend")).to_contain_text("premature ventricular beat (V)", timeout=30_000)
    # Each PVC on the three leads of its column and on the rhythm strip, drawn as text.
    assert plot.locator(".scatterlayer .trace text").filter(has_text="V").count() == 2 * 4
    page.wait_for_timeout(500)
    shot = tmp_path / "measurements-premature.png"
    plot.screenshot(path=str(shot))
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, PREMATURE_SCREENSHOT)
