"""The Annotate view in accounts mode, served on loopback with :func:`app.main.launch` (so the account routes are
the ones the real app serves): shared by the sign-in tests and the desk's browser tests."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import gradio as gr
import pytest

from app.auth import SignIn
from app.views import annotate
from core.annotations import AnnotationStore
from core.annotations.desk import AnnotationDesk
from core.annotations.identity import add_account


def password(user: str) -> str:
    """Each test account's password."""
    return f"{user}-secret-pw"


@contextmanager
def serve_team_desk(
    folder: Path,
    users: Mapping[str, str],
    ids: Sequence[str],
    reference: Mapping[str, list[str]],
    probs: Mapping[str, Mapping[str, float]],
) -> Iterator[tuple[str, AnnotationStore, gr.Blocks]]:
    """(url, store, demo) of the desk over ``ids`` with one account per ``users`` entry (name -> role)."""
    from app.main import launch

    accounts = folder / "accounts.json"
    for user, role in users.items():
        add_account(accounts, user, password(user), role)
    store = AnnotationStore(folder / "a.sqlite3", known_record_ids=set(ids))
    desk = AnnotationDesk(
        store=lambda: store,
        reference_labels=lambda r: reference.get(r, []),
        vocabulary=lambda: ["NORM", "MI", "STTC"],
        queue_inputs=lambda: (probs, reference),
        record_ids=lambda: list(ids),
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECG_ACCOUNTS_FILE", str(accounts))
        mp.setenv("ECG_SESSION_SECRET", "a test secret")
        mp.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        with gr.Blocks() as demo:
            key = gr.Textbox(elem_id="ecg-key", label="Current ECG")
            annotate.build_view(desk, key, demo, SignIn())
        launch(demo, server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
        try:
            yield demo.local_url.rstrip("/"), store, demo
        finally:
            demo.close()
            store.close()
