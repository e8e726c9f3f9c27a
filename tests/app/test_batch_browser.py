"""Headless Chromium: the Zero-shot tab's "Score many ECGs" section fills its tables and offers the CSV."""

from __future__ import annotations

import pytest


@pytest.mark.browser
@pytest.mark.timeout(180)
def test_score_whole_dataset(live_app: str, browser):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(live_app)
    page.get_by_role("tab", name="Zero-shot").click()
    page.locator("#batch-zeroshot").get_by_text("Score many ECGs").first.click()
    page.locator("#batch-btn").click()
    auc = page.locator("#batch-auc")
    auc.get_by_text("HYP", exact=True).first.wait_for(timeout=60_000)
    expect(page.locator("#batch-confusion")).to_contain_text("reference", timeout=30_000)
    expect(page.locator("#batch-csv")).to_contain_text(".csv", timeout=30_000)
