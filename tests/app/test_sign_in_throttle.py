"""Failed sign-ins are limited per client address and per user name; the login form then answers 429 without
checking the password, and a correct password still works once the window has passed."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from app.auth import (
    COOKIE,
    LOGIN_PATH,
    MAX_FAILED_PER_ADDRESS,
    MAX_FAILED_PER_USER,
    SIGN_IN_LOCKOUT_S,
    SignIn,
    SignInThrottle,
)
from core.annotations.identity import AccessPolicy, add_account


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_throttle_counts_per_address_and_per_user_and_forgets_after_the_window():
    clock = FakeClock()
    throttle = SignInThrottle(window_s=60, timer=clock)
    for _ in range(MAX_FAILED_PER_ADDRESS):
        assert throttle.retry_after_s("10.0.0.1", "ana") == 0
        throttle.failed("10.0.0.1", "ana")
    assert throttle.retry_after_s("10.0.0.1", "ana") == 60
    assert throttle.retry_after_s("10.0.0.1", "bo") == 60  # the address is locked out, whatever the name
    assert throttle.retry_after_s("10.0.0.2", "ana") == 0  # ana is below her own limit from elsewhere
    clock.now += 45
    assert throttle.retry_after_s("10.0.0.1", "ana") == 15
    clock.now += 16
    assert throttle.retry_after_s("10.0.0.1", "ana") == 0  # the window has passed

    # Many addresses guessing one account: the user's own count stops them; names compare case-insensitively.
    for i in range(MAX_FAILED_PER_USER):
        throttle.failed(f"10.1.0.{i}", "Bo")
    assert throttle.retry_after_s("10.9.9.9", "bo") == 60
    throttle.succeeded("BO")
    assert throttle.retry_after_s("10.9.9.9", "bo") == 0


def test_a_correct_password_clears_the_user_count_but_not_the_address_count():
    throttle = SignInThrottle(window_s=60, timer=FakeClock())
    for _ in range(MAX_FAILED_PER_ADDRESS - 1):
        throttle.failed("10.0.0.1", "mallory")
    throttle.succeeded("mallory")  # the guesser's own valid account ...
    throttle.failed("10.0.0.1", "ana")  # ... does not buy more guesses from that address
    assert throttle.retry_after_s("10.0.0.1", "ana") > 0


@pytest.fixture()
def login_client(tmp_path):
    accounts = tmp_path / "accounts.json"
    add_account(accounts, "ana", "ana-secret-pw", "annotator")
    sign_in = SignIn(AccessPolicy("accounts", accounts_file=accounts), secret="a test secret")
    clock = FakeClock()
    sign_in.throttle = SignInThrottle(timer=clock)
    return TestClient(Starlette(routes=sign_in.routes())), clock


def test_the_login_form_refuses_after_too_many_failures_and_says_when_to_retry(login_client):
    client, clock = login_client
    for _ in range(MAX_FAILED_PER_ADDRESS):
        wrong = client.post(LOGIN_PATH, data={"user": "ana", "password": "guess"}, follow_redirects=False)
        assert wrong.status_code == 401 and "Wrong user name or password." in wrong.text
    # Locked out: even the right password is not checked, and the page says for how long.
    refused = client.post(LOGIN_PATH, data={"user": "ana", "password": "ana-secret-pw"}, follow_redirects=False)
    assert refused.status_code == 429 and COOKIE not in refused.cookies
    assert "Too many failed sign-ins: try again in 15 min." in refused.text
    assert int(refused.headers["retry-after"]) == SIGN_IN_LOCKOUT_S
    clock.now += SIGN_IN_LOCKOUT_S + 1
    ok = client.post(LOGIN_PATH, data={"user": "ana", "password": "ana-secret-pw"}, follow_redirects=False)
    assert ok.status_code == 303 and COOKIE in ok.cookies
