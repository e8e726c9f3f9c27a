"""Sign-in and roles on a live server (local accounts): every write, through the API and through the page's own
handlers, is refused without sign-in; an annotator reviews but does not adjudicate or import; an admin does.

The app is the Annotate view over a store of its own, launched with :func:`app.main.launch` (so the account routes
are the ones the real app serves) on a loopback port.
"""

from __future__ import annotations

import json

import gradio as gr
import httpx
import pytest

from app.auth import COOKIE, LOGIN_PATH, LOGOUT_PATH, SignIn
from app.views import annotate
from app.views.annotate_api import WRITE_ENDPOINTS
from core.annotations.desk import AnnotationDesk
from tests.app.team_desk import password, serve_team_desk

IDS = [f"ptbxl/{i:05d}" for i in range(1, 9)]
REFERENCE = {r: (["MI"] if i % 3 == 0 else ["NORM"]) for i, r in enumerate(IDS)}
PROBS = {r: {"NORM": 0.2 + 0.1 * i, "MI": 0.8 - 0.1 * i} for i, r in enumerate(IDS)}
USERS = {"ana": "annotator", "bo": "annotator", "dee": "admin", "vic": "viewer"}


@pytest.fixture(scope="module")
def team_app(tmp_path_factory):
    """(url, store) of the Annotate view in accounts mode, served on loopback."""
    folder = tmp_path_factory.mktemp("team")
    with serve_team_desk(folder, USERS, IDS, REFERENCE, PROBS) as (url, store, demo):
        yield url, store, demo


def sign_in_cookie(url: str, user: str) -> str:
    """Sign in through the login form, as a browser does; returns the cookie header."""
    response = httpx.post(f"{url}{LOGIN_PATH}", data={"user": user, "password": password(user)})
    assert response.status_code == 303, response.text
    return f"{COOKIE}={response.cookies[COOKIE]}"


def client_as(url: str, user: str | None):
    from gradio_client import Client

    headers = {"Cookie": sign_in_cookie(url, user)} if user else {}
    return Client(url, verbose=False, headers=headers, analytics_enabled=False)


WRITES = {  # api_name -> positional arguments of a call that would write
    "annotate": ("ptbxl/00001", ["MI"], "corrected", None, None),
    "undo_annotation": ("ptbxl/00001", None),
    "adjudicate": ("ptbxl/00001", ["MI"], None, None),
}


def test_every_write_endpoint_refuses_a_visitor_who_is_not_signed_in(team_app):
    url, store, _ = team_app
    assert set(WRITES) == set(WRITE_ENDPOINTS)
    anonymous = client_as(url, None)
    n = store.count_events()
    for api_name, args in WRITES.items():
        with pytest.raises(Exception, match="sign in to .*: visitors who are not signed in can only view"):
            anonymous.predict(*args, api_name=f"/{api_name}")
    assert store.count_events() == n
    # a forged cookie is nobody
    from gradio_client import Client

    forged = Client(url, verbose=False, headers={"Cookie": f"{COOKIE}=ana"}, analytics_enabled=False)
    with pytest.raises(Exception, match="sign in to save annotations"):
        forged.predict(*WRITES["annotate"], api_name="/annotate")
    assert forged.predict(api_name="/whoami") == {"user": None, "role": "viewer", "source": "anonymous"}
    # reads stay open
    assert anonymous.predict(None, None, api_name="/list_annotations") == []
    assert store.count_events() == n


def test_the_page_handlers_resolve_the_user_from_the_request(team_app):
    """The Annotate tab's own write events (not reachable by gradio_client) check the role the same way."""
    url, store, demo = team_app
    handlers = {fn.api_name: fn.fn for fn in demo.fns.values()}
    cookie = sign_in_cookie(url, "ana").split("=", 1)[1]
    anonymous = gr.Request(client={"host": "127.0.0.1"}, cookies={}, headers={})
    ana = gr.Request(client={"host": "127.0.0.1"}, cookies={COOKIE: cookie}, headers={})
    n = store.count_events()
    refusals = [
        ("annotate_save", ("ptbxl/00002", ["MI"], "corrected", "", "unreviewed first (no model needed)", True)),
        ("annotate_undo", ("ptbxl/00002",)),
        ("annotate_adjudicate", ("ptbxl/00002", ["MI"])),
        ("annotate_import_file", ("/nonexistent.csv",)),
    ]
    for api_name, args in refusals:
        with pytest.raises(gr.Error, match="sign in to"):
            handlers[api_name](*args, request=anonymous, profile=None)
    assert store.count_events() == n
    out = handlers["annotate_save"](
        "ptbxl/00002", ["MI"], "corrected", "", "model disagrees with the reference", True, request=ana, profile=None
    )
    assert out[5].startswith("Saved change") and store.history("ptbxl/00002")[-1].reviewer == "ana"
    for api_name, args in refusals[2:]:
        with pytest.raises(gr.Error, match="ana has the annotator role: to .* you need the admin role"):
            handlers[api_name](*args, request=ana, profile=None)
    assert store.count_events() == n + 1


def test_roles_through_the_api(team_app, tmp_path):
    url, store, _ = team_app
    ana, bo, dee, vic = (client_as(url, u) for u in ("ana", "bo", "dee", "vic"))
    assert ana.predict(api_name="/whoami") == {"user": "ana", "role": "annotator", "source": "account"}
    with pytest.raises(Exception, match="vic has the viewer role: to save annotations you need the annotator role"):
        vic.predict("ptbxl/00003", ["MI"], "corrected", None, None, api_name="/annotate")
    # two annotators disagree; the reviewer is the signed-in user, never a parameter
    first = ana.predict("ptbxl/00003", ["MI"], "corrected", None, None, api_name="/annotate")
    bo.predict("ptbxl/00003", ["NORM"], "corrected", None, None, api_name="/annotate")
    assert first["event"]["reviewer"] == "ana"
    with pytest.raises(Exception, match="was made by ana: only an admin"):
        bo.predict("ptbxl/00003", first["event"]["event_id"], api_name="/undo_annotation")
    with pytest.raises(Exception, match="ana has the annotator role: to adjudicate you need the admin role"):
        ana.predict("ptbxl/00003", ["MI"], None, None, api_name="/adjudicate")
    assert [d["record_id"] for d in dee.predict(False, api_name="/agreement")["disagreements"]] == ["ptbxl/00003"]
    adj = dee.predict("ptbxl/00003", ["MI"], None, None, api_name="/adjudicate")
    assert adj["event"]["reviewer"] == "dee" and len(adj["resolves"]) == 2
    assert dee.predict(False, api_name="/agreement")["disagreements"] == []
    progress = {p["reviewer"]: p for p in vic.predict(api_name="/review_progress")}
    assert progress["bo"] == {"reviewer": "bo", "done": 1, "remaining": len(IDS) - 1}
    text = vic.predict("events", "json", api_name="/export_annotations")  # a viewer reads and exports
    assert {e["reviewer"] for e in json.loads(text)["events"]} >= {"ana", "bo", "dee"}


def test_login_and_logout_routes(team_app):
    url, _, _ = team_app
    page = httpx.get(f"{url}{LOGIN_PATH}?next=/")
    assert page.status_code == 200 and 'name="password"' in page.text and "view everything" in page.text
    wrong = httpx.post(f"{url}{LOGIN_PATH}", data={"user": "ana", "password": "not-it"})
    assert wrong.status_code == 401 and "Wrong user name or password." in wrong.text and COOKIE not in wrong.cookies
    unknown = httpx.post(f"{url}{LOGIN_PATH}", data={"user": "<script>", "password": "x" * 9})
    assert unknown.status_code == 401 and "<script>" not in unknown.text
    # the redirect stays on this site whatever `next` says
    ok = httpx.post(f"{url}{LOGIN_PATH}?next=//evil.example/x", data={"user": "ana", "password": password("ana")})
    assert ok.status_code == 303 and ok.headers["location"] == "/x"  # the host is dropped
    assert "httponly" in ok.headers["set-cookie"].lower() and "samesite=lax" in ok.headers["set-cookie"].lower()
    out = httpx.get(f"{url}{LOGOUT_PATH}", cookies={COOKIE: ok.cookies[COOKIE]})
    assert out.status_code == 303 and f'{COOKIE}=""' in out.headers["set-cookie"]


def _profile(username: str) -> gr.OAuthProfile:
    return gr.OAuthProfile({"name": username.title(), "preferred_username": username, "profile": "", "picture": ""})


def test_sign_in_on_a_space_takes_the_hugging_face_profile():
    from core.annotations.identity import AccessPolicy

    policy = AccessPolicy.from_env({"SPACE_ID": "o/x", "SPACE_AUTHOR_NAME": "owner", "ECG_ROLES": "annotator:bob"})
    sign_in = SignIn(policy, secret="s")
    request = gr.Request(client={"host": "10.1.2.3"}, cookies={COOKIE: SignIn(policy, secret="s").token_for("owner")})
    assert sign_in.identify(request, None).user is None  # a cookie means nothing on a Space: only the HF session
    assert sign_in.identify(request, _profile("bob")).role == "annotator"
    assert sign_in.identify(request, _profile("owner")).role == "admin"
    assert sign_in.identify(request, _profile("mallory")).role == "viewer"
    assert sign_in.routes() == []
    with pytest.MonkeyPatch.context() as mp:  # what a Space with `hf_oauth: true` provides
        import gradio.oauth

        mp.setenv("SYSTEM", "spaces")
        mp.setenv("SPACE_ID", "o/x")
        for name, value in [("CLIENT_ID", "id"), ("CLIENT_SECRET", "secret"), ("SCOPES", "openid profile")]:
            mp.setattr(gradio.oauth, f"OAUTH_{name}", value)
        mp.setattr(gradio.oauth, "OPENID_PROVIDER_URL", "https://huggingface.co")
        with gr.Blocks() as demo:
            annotate.build_view(AnnotationDesk(store=lambda: None), gr.Textbox(), demo, sign_in)
    # the "Sign in with Hugging Face" button, so Gradio serves its OAuth routes
    assert demo.expects_oauth and "/login/huggingface" in {getattr(r, "path", "") for r in demo.app.routes}


def test_sign_in_without_configuration_is_the_local_admin_on_loopback_only():
    from core.annotations.identity import AccessPolicy

    sign_in = SignIn(AccessPolicy.from_env({}), secret="s")
    assert sign_in.identify(gr.Request(client={"host": "127.0.0.1"}, cookies={})).role == "admin"
    remote = sign_in.identify(gr.Request(client={"host": "192.168.1.20"}, cookies={}))
    assert remote.user is None and remote.role == "viewer"
    assert sign_in.identify(None).user is None
    with gr.Blocks() as demo:
        annotate.build_view(AnnotationDesk(store=lambda: None), gr.Textbox(), demo, sign_in)
    assert not demo.expects_oauth  # no Hugging Face button off a Space (Gradio would mock it with a local HF login)


def test_account_cookies_are_signed_and_expire():
    from itsdangerous import URLSafeTimedSerializer

    from app.auth import SESSION_MAX_AGE_S
    from core.annotations.identity import AccessPolicy

    sign_in = SignIn(AccessPolicy("local"), secret="one secret")
    token = sign_in.token_for("ana")
    assert sign_in.user_from_token(token) == "ana"
    assert SignIn(AccessPolicy("local"), secret="another").user_from_token(token) is None  # not ours
    assert sign_in.user_from_token(token[:-2] + "xx") is None and sign_in.user_from_token("ana") is None
    old = URLSafeTimedSerializer("one secret", salt="ecg-account")
    with pytest.MonkeyPatch.context() as mp:  # a cookie signed 12 h + 1 s ago
        import itsdangerous.timed

        mp.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: 1_000_000)
        expired = old.dumps({"user": "ana"})
        mp.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: 1_000_001 + SESSION_MAX_AGE_S)
        assert sign_in.user_from_token(expired) is None
        assert sign_in.user_from_token(old.dumps({"user": "ana"})) == "ana"


def test_the_sign_in_line_escapes_user_names():
    from app.auth import identity_html
    from core.annotations.identity import AccessPolicy, Identity

    hf = SignIn(AccessPolicy("huggingface"), secret="s")
    line = identity_html(hf, Identity("<img src=x onerror=alert(1)>", "annotator", "huggingface"))
    assert "<img" not in line and "&lt;img src=x onerror=alert(1)&gt;" in line
    team = SignIn(AccessPolicy("accounts", accounts_file="unused.json"), secret="s")
    assert 'href="/account/login" target="_self">Sign in' in identity_html(team, Identity(None))


def test_a_missing_accounts_file_stops_the_app_at_start(tmp_path, monkeypatch):
    from core.annotations.identity import AccessConfigError

    monkeypatch.setenv("ECG_ACCOUNTS_FILE", str(tmp_path / "accounts.json"))
    with pytest.raises(AccessConfigError, match="accounts.json does not exist: add a user first"):
        SignIn()
