"""Sign-in for the app: who a request comes from, decided on the server from the request itself, never from a field.

The roles and the three modes are in :mod:`core.annotations.identity`; this module only reads the request:

- ``huggingface`` (on a Space): Gradio's own Hugging Face OAuth (``gr.LoginButton``; README front matter
  ``hf_oauth: true``) keeps the profile in its session cookie, and handlers get it as a ``gr.OAuthProfile``.
- ``accounts``: ``GET/POST /account/login`` checks the password against the accounts file and sets a signed cookie
  (``itsdangerous``, 12 hours) holding the user name; ``/account/logout`` clears it. The cookie is checked on every
  write, and the role re-read from the accounts file, so a changed role or a removed user applies at once.
  Why not Gradio's ``auth=``: it puts the whole app behind the login page, and anonymous visitors must still be able
  to view; a Starlette ``SessionMiddleware`` would work too, but a signed cookie that handlers verify themselves does
  not depend on middleware order and survives Gradio's queue (which keeps the request's cookies, not its session).
- ``local``: a request from this machine is the local admin; any other is an anonymous viewer.

``ECG_SESSION_SECRET`` signs the cookies; without it a random secret is drawn per process (sign-ins end at restart).
Failed sign-ins are counted per client address and per user name (:class:`SignInThrottle`): past the limit the form
answers 429 without checking the password, so guessing costs the guesser time and the server no scrypt work.
"""

from __future__ import annotations

import html
import math
import os
import secrets
import threading
import time
import urllib.parse
from collections.abc import Callable

import gradio as gr
from cachetools import TTLCache
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from app.views.common import user_errors
from core.annotations.identity import ANONYMOUS, AccessPolicy, Identity, authenticate, load_accounts

COOKIE = "ecg_account"
SESSION_MAX_AGE_S = 12 * 3600
LOGIN_PATH, LOGOUT_PATH = "/account/login", "/account/logout"
# Failed sign-ins allowed per client address / per user name before the form refuses for SIGN_IN_LOCKOUT_S after the
# last failure. Per user as well as per address, so guessing one account's password from many addresses stops too.
MAX_FAILED_PER_ADDRESS, MAX_FAILED_PER_USER = 5, 10
SIGN_IN_LOCKOUT_S = 15 * 60
# One secret per process when none is configured: the login route and every handler of this process share it.
_PROCESS_SECRET = secrets.token_urlsafe(32)

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · ECG–Language Explorer</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{font-family: system-ui, sans-serif; max-width: 22rem; margin: 4rem auto; padding: 0 1rem; color: #222;}}
label {{display: block; margin-top: 0.8rem;}} input {{width: 100%; padding: 0.4rem; box-sizing: border-box;}}
button {{margin-top: 1rem; padding: 0.5rem 1.2rem;}}
.error {{color: #b00020;}} .hint {{color: #555; font-size: 0.9rem;}}
</style></head><body>
<h1>Sign in</h1>
<p class="hint">Reviewers sign in to save annotations; without signing in you can still view everything.</p>
{error}
<form method="post" action="{action}">
<label for="user">User name</label><input id="user" name="user" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
<p class="hint"><a href="{back}">Back to the explorer without signing in</a></p>
</body></html>
"""


def _local_target(value: str | None) -> str:
    """A same-site path to return to (never another host: no open redirect)."""
    path = urllib.parse.urlparse(value or "/").path or "/"
    return "/" + path.lstrip("/\\")


class SignInThrottle:
    """Counts failed sign-ins per client address and per user name; each failure restarts that key's lockout window.

    Args:
        window_s: how long failures are remembered after the last one.
        timer: monotonic seconds (tests pass a fake clock).
    """

    def __init__(self, window_s: float = SIGN_IN_LOCKOUT_S, timer: Callable[[], float] = time.monotonic):
        # key -> (failures, when the lockout ends); the cache drops a key once its window has passed.
        self._failures: TTLCache = TTLCache(maxsize=100_000, ttl=window_s, timer=timer)
        self._window_s, self._timer = window_s, timer
        self._lock = threading.Lock()

    @staticmethod
    def _keys(address: str | None, user: str) -> list[tuple[tuple[str, str], int]]:
        keys = [(("user", user.casefold()), MAX_FAILED_PER_USER)]
        return keys + ([(("address", address), MAX_FAILED_PER_ADDRESS)] if address else [])

    def retry_after_s(self, address: str | None, user: str) -> int:
        """Seconds until ``user`` may try again from ``address``; 0 when not locked out."""
        now = self._timer()
        with self._lock:
            entries = [(self._failures.get(key, (0, now)), limit) for key, limit in self._keys(address, user)]
        waits = [until - now for (count, until), limit in entries if count >= limit]
        return max(1, math.ceil(max(waits))) if waits else 0

    def failed(self, address: str | None, user: str) -> None:
        """Count one failed sign-in."""
        with self._lock:
            until = self._timer() + self._window_s
            for key, _ in self._keys(address, user):
                count, _ = self._failures.get(key, (0, until))
                self._failures[key] = (count + 1, until)

    def succeeded(self, user: str) -> None:
        """A correct password clears the user's count (not the address's: one valid account must not reset it)."""
        with self._lock:
            self._failures.pop(("user", user.casefold()), None)


class SignIn:
    """Resolves the identity of a Gradio request under an :class:`AccessPolicy` (default: from the environment).

    Args:
        policy: how users are identified and their roles.
        secret: signs the account cookies (default: ``ECG_SESSION_SECRET`` or a per-process random secret).
    """

    def __init__(self, policy: AccessPolicy | None = None, secret: str | None = None):
        if policy is None:
            policy = AccessPolicy.from_env()
            if policy.mode == "accounts":  # at startup: a missing or broken accounts file is a clear error now
                load_accounts(policy.accounts_file)
        self.policy = policy
        secret = secret or os.environ.get("ECG_SESSION_SECRET") or _PROCESS_SECRET
        self._signer = URLSafeTimedSerializer(secret, salt="ecg-account")
        self.throttle = SignInThrottle()

    @property
    def mode(self) -> str:
        return self.policy.mode

    # ---- the cookie -------------------------------------------------------------------------------------------------
    def token_for(self, user: str) -> str:
        """The signed cookie value for a signed-in account."""
        return self._signer.dumps({"user": user})

    def user_from_token(self, token: str | None) -> str | None:
        """The account name in a valid, unexpired cookie value; ``None`` otherwise (tampered, expired, absent)."""
        if not token:
            return None
        try:
            data = self._signer.loads(token, max_age=SESSION_MAX_AGE_S)
        except BadSignature:  # includes SignatureExpired
            return None
        user = data.get("user") if isinstance(data, dict) else None
        return user if isinstance(user, str) else None

    # ---- identity of a request --------------------------------------------------------------------------------------
    def identify(self, request: gr.Request | None, profile: gr.OAuthProfile | None = None) -> Identity:
        """Who makes ``request`` (an anonymous viewer when nothing identifies them)."""
        if request is None:
            return ANONYMOUS
        client = getattr(request, "client", None)
        host = getattr(client, "host", None) if client is not None else None
        user = None
        if self.mode == "huggingface":
            user = profile.username if profile is not None else None
        elif self.mode == "accounts":
            cookies = getattr(request, "cookies", None) or {}
            user = self.user_from_token(cookies.get(COOKIE))
        return self.policy.identify(user, client_host=host)

    def require(self, action: str, request: gr.Request | None, profile: gr.OAuthProfile | None = None) -> Identity:
        """The request's identity when its role allows ``action``; ``PermissionDeniedError`` (shown as a message)
        otherwise."""
        identity = self.identify(request, profile)
        identity.require(action)
        return identity

    # ---- the account routes ------------------------------------------------------------------------------------------
    def routes(self) -> list[BaseRoute]:
        """``/account/login`` and ``/account/logout`` (accounts mode only; no routes otherwise)."""
        if self.mode != "accounts":
            return []
        return [
            Route(LOGIN_PATH, self._login, methods=["GET", "POST"], name="account_login"),
            Route(LOGOUT_PATH, self._logout, methods=["GET", "POST"], name="account_logout"),
        ]

    def _page(self, request: Request, error: str = "", status_code: int = 200) -> HTMLResponse:
        target = _local_target(request.query_params.get("next"))
        action = LOGIN_PATH + "?" + urllib.parse.urlencode({"next": target})
        body = LOGIN_PAGE.format(
            error=f'<p class="error" role="alert">{html.escape(error)}</p>' if error else "",
            action=html.escape(action),
            back=html.escape(target),
        )
        return HTMLResponse(body, status_code=status_code)

    async def _login(self, request: Request) -> Response:
        if request.method == "GET":
            return self._page(request)
        form = await request.form()
        user, password = str(form.get("user") or "").strip(), str(form.get("password") or "")
        address = request.client.host if request.client else None
        wait_s = self.throttle.retry_after_s(address, user)
        if wait_s:
            minutes = math.ceil(wait_s / 60)
            page = self._page(request, f"Too many failed sign-ins: try again in {minutes} min.", status_code=429)
            page.headers["Retry-After"] = str(wait_s)
            return page
        # scrypt takes ~50 ms by design: off the event loop, so other visitors are served meanwhile.
        account = None
        if user and password:
            account = await run_in_threadpool(authenticate, self.policy.accounts_file, user, password)
        if account is None:
            self.throttle.failed(address, user)
            return self._page(request, "Wrong user name or password.", status_code=401)
        self.throttle.succeeded(user)
        response = RedirectResponse(_local_target(request.query_params.get("next")), status_code=303)
        response.set_cookie(
            COOKIE,
            self.token_for(account.user),
            max_age=SESSION_MAX_AGE_S,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    async def _logout(self, request: Request) -> Response:
        response = RedirectResponse(_local_target(request.query_params.get("next")), status_code=303)
        response.delete_cookie(COOKIE, httponly=True, samesite="lax")
        return response


# ---- the sign-in line of the page -----------------------------------------------------------------------------------
def identity_html(sign_in: SignIn, identity: Identity) -> str:
    """Who the visitor is and what they can do, with the sign-in / sign-out link in the same tab (HTML: a Markdown
    link would open a new tab); every user-supplied piece is escaped."""
    who = html.escape(identity.describe())
    if sign_in.mode == "local":
        if identity.signed_in:
            return (
                f"<b>Single local user:</b> {who}. Requests from other machines can only view; set "
                "<code>ECG_ACCOUNTS_FILE</code> for a team (README, Annotations)."
            )
        return f"<b>{who}</b> (this server's local user works from its own machine only)."
    if sign_in.mode == "accounts":
        if identity.signed_in:
            return f'<b>Signed in:</b> {who} · <a href="{LOGOUT_PATH}" target="_self">Sign out</a>'
        return f'<b>Not signed in:</b> you can view, not write · <a href="{LOGIN_PATH}" target="_self">Sign in</a>'
    return f"<b>Signed in:</b> {who}" if identity.signed_in else "<b>Not signed in:</b> you can view, not write."


def build_sign_in_bar(sign_in: SignIn, demo: gr.Blocks | None) -> gr.HTML:
    """A row with who is signed in (filled on page load) and, on Spaces, the Hugging Face sign-in button."""
    with gr.Row(equal_height=True):
        line = gr.HTML(elem_id="sign-in-line")
        if sign_in.mode == "huggingface":
            # Only here: a LoginButton makes Gradio attach its OAuth routes, which off a Space need a local HF login.
            gr.LoginButton(scale=0)

    def who(request: gr.Request, profile: gr.OAuthProfile | None) -> str:
        with user_errors():
            return identity_html(sign_in, sign_in.identify(request, profile))

    if demo is not None:
        demo.load(who, None, line, api_name="sign_in_line", api_visibility="private", show_progress="hidden")
    return line
