"""The review desk in headless Chromium with local accounts: two reviewers sign in and disagree, an admin adjudicates
and sees kappa; a reviewer reviews 5 records with the keyboard only; a label holding a Markdown image link makes the
browser fetch nothing. Writes a screenshot (into assets/screenshots/ when UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.auth import LOGIN_PATH
from core.annotations.queue import review_queue
from tests.app.team_desk import password, serve_team_desk

IDS = [f"ptbxl/{i:05d}" for i in range(1, 11)]
REFERENCE = {r: (["MI"] if i % 3 == 0 else ["NORM"]) for i, r in enumerate(IDS)}
PROBS = {r: {"NORM": 0.1 + 0.08 * i, "MI": 0.9 - 0.08 * i} for i, r in enumerate(IDS)}
USERS = {"ana": "annotator", "bo": "annotator", "cy": "annotator", "dee": "admin"}
SCREENSHOT = Path(__file__).resolve().parents[2] / "assets" / "screenshots" / "annotate-desk.png"


@pytest.fixture(scope="module")
def desk_app(tmp_path_factory):
    """(url, store) of the Annotate view in accounts mode on loopback, with the app's page script."""
    folder = tmp_path_factory.mktemp("desk")
    with serve_team_desk(folder, USERS, IDS, REFERENCE, PROBS) as (url, store, demo):
        yield url, store


def signed_in_page(browser, url: str, user: str):
    """A fresh browser context signed in as ``user`` through the login form, on the desk."""
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    page.goto(f"{url}{LOGIN_PATH}")
    page.fill("#user", user)
    page.fill("#password", password(user))
    page.click("button[type=submit]")
    expect(page.locator("#sign-in-line")).to_contain_text(f"Signed in: {user} ({USERS[user]}", timeout=30_000)
    return page


def open_record(page, record_id: str) -> None:
    from playwright.sync_api import expect

    page.locator("#ecg-key textarea").fill(record_id)
    expect(page.locator("#annotate-summary")).to_contain_text(record_id, timeout=15_000)


def add_label(page, label: str, field: str = "#annotate-labels") -> None:
    box = page.locator(f"{field} input")
    box.fill(label)
    box.press("Enter")


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_two_reviewers_disagree_and_an_admin_adjudicates(desk_app, browser, tmp_path):
    from playwright.sync_api import expect

    url, store = desk_app
    # ana and bo already agree on two records (MI on one, NORM on the other), so kappa is defined
    for who in ("ana", "bo"):
        store.annotate("ptbxl/00009", reviewer=who, labels=["MI"], status="corrected")
        store.annotate("ptbxl/00010", reviewer=who, labels=["NORM"], status="confirmed")
    record = "ptbxl/00008"
    for user, label in (("ana", "MI"), ("bo", "NORM")):
        page = signed_in_page(browser, url, user)
        open_record(page, record)
        add_label(page, label)
        page.click("#annotate-save")
        expect(page.locator("#annotate-message")).to_contain_text("Saved change", timeout=15_000)
        page.context.close()
    assert {(e.reviewer, tuple(e.after.get("labels", ()))) for e in store.history(record)} == {
        ("ana", ("MI",)),
        ("bo", ("NORM",)),
    }

    page = signed_in_page(browser, url, "dee")
    page.get_by_text("Agreement between reviewers and adjudication").click()
    page.get_by_role("button", name="Refresh agreement").click()
    disagreements = page.locator("#annotate-disagreements")
    expect(disagreements).to_contain_text(record, timeout=15_000)
    expect(disagreements).to_contain_text("ana: MI; bo: NORM")
    # MI over 3 records: ana 1, 0, 1 and bo 1, 0, 0 -> po = 2/3, pe = 4/9, Cohen's kappa = 0.40
    expect(page.locator("#annotate-agreement")).to_contain_text("ana–bo: 0.40 (n=3)")
    disagreements.get_by_text(record, exact=True).locator("visible=true").first.click()  # opens the record
    expect(page.locator("#annotate-summary")).to_contain_text(record, timeout=15_000)
    add_label(page, "MI", "#adjudicate-labels")
    page.click("#adjudicate-btn")
    expect(page.locator("#adjudicate-message")).to_contain_text(f"Adjudicated {record}", timeout=15_000)
    expect(page.locator("#adjudicate-message")).to_contain_text("resolving 2 reviews")
    expect(disagreements).not_to_contain_text(record)
    expect(page.locator("#annotate-summary")).to_contain_text("Annotated labels: MI")  # the form follows
    adjudication = store.history(record)[-1]
    assert (adjudication.action, adjudication.reviewer, adjudication.after["labels"]) == ("adjudicate", "dee", ["MI"])
    shot = tmp_path / "annotate-desk.png"
    page.screenshot(path=str(shot), full_page=True)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_keyboard_only_review_of_five_records(desk_app, browser):
    from playwright.sync_api import expect

    url, store = desk_app
    page = signed_in_page(browser, url, "cy")
    key_box = page.locator("#ecg-key textarea")
    page.locator("body").click(position={"x": 5, "y": 5})  # nothing focused: single keys act
    opened, first_event = [], store.count_events() + 1
    for i in range(5):
        page.keyboard.press("n")  # next: the top of cy's queue
        expect(key_box).not_to_have_value(opened[-1] if opened else "", timeout=15_000)
        record = key_box.input_value()
        expect(page.locator("#annotate-summary")).to_contain_text(record, timeout=15_000)
        opened.append(record)
        if i == 0:  # a label, typed after L focuses the label field; Esc leaves the field
            page.keyboard.press("l")
            page.keyboard.type("STTC")
            page.keyboard.press("Enter")
            page.keyboard.press("Escape")
        page.keyboard.press("2")  # status: confirmed
        page.keyboard.press("Control+Enter")  # save
        expect(page.locator("#annotate-message")).to_contain_text(f"Saved change #{first_event + i}:", timeout=15_000)
    assert len(set(opened)) == 5
    reviews = {r: s for (r, who), s in store.reviewer_states().items() if who == "cy"}
    assert set(reviews) == set(opened) and {s.status for s in reviews.values()} == {"confirmed"}
    assert "STTC" in reviews[opened[0]].labels
    # Next is the top of what cy has left, so the five are the queue's first five (others' reviews do not count)
    assert opened == [item.record_id for item in review_queue(PROBS, REFERENCE)][:5]
    page.keyboard.press("p")  # previous: back to the fourth record
    expect(key_box).to_have_value(opened[3], timeout=15_000)


class _Counter(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        _Counter.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_a_markdown_image_label_fetches_nothing(desk_app, browser):
    from playwright.sync_api import expect

    url, store = desk_app
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        label = f"![x](http://127.0.0.1:{server.server_port}/p.png)"
        page = signed_in_page(browser, url, "ana")
        open_record(page, "ptbxl/00003")
        add_label(page, label)
        page.fill("#annotate-note textarea", f"see {label} and <img src=http://127.0.0.1:{server.server_port}/q.png>")
        page.click("#annotate-save")
        expect(page.locator("#annotate-message")).to_contain_text("Saved change", timeout=15_000)
        page.get_by_text("Annotated records").click()
        page.get_by_role("button", name="Refresh", exact=True).click()
        expect(page.locator("#annotate-annotated")).to_contain_text(label, timeout=15_000)  # shown as text
        page.reload()  # a second viewer: the summary, history and tables render the stored label
        open_record(page, "ptbxl/00003")
        expect(page.locator("#annotate-summary")).to_contain_text(label)
        page.wait_for_timeout(1000)
        assert page.locator("#annotate-summary img").count() == 0
        assert _Counter.hits == []
        assert list(store.get("ptbxl/00003").labels) == [label]
    finally:
        server.shutdown()


@pytest.mark.browser
@pytest.mark.timeout(120)
def test_write_buttons_follow_the_role(desk_app, browser, tmp_path):
    from playwright.sync_api import expect

    url, _ = desk_app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    expect(page.locator("#sign-in-line")).to_contain_text("Not signed in: you can view, not write", timeout=30_000)
    expect(page.locator("#annotate-save")).to_be_disabled()
    page.get_by_text("Agreement between reviewers and adjudication").click()
    expect(page.locator("#adjudicate-btn")).to_be_disabled()
    page.screenshot(path=str(tmp_path / "anonymous.png"), full_page=True)
    page.get_by_role("link", name="Sign in").click()
    page.fill("#user", "ana")
    page.fill("#password", password("ana"))
    page.click("button[type=submit]")
    expect(page.locator("#sign-in-line")).to_contain_text("Signed in: ana (annotator", timeout=30_000)
    expect(page.locator("#annotate-save")).to_be_enabled()
    page.get_by_text("Agreement between reviewers and adjudication").click()
    expect(page.locator("#adjudicate-btn")).to_be_disabled()  # admins only
    page.get_by_role("link", name="Sign out").click()
    expect(page.locator("#sign-in-line")).to_contain_text("Not signed in", timeout=30_000)
    expect(page.locator("#annotate-save")).to_be_disabled()
