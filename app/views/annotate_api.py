"""The annotation API (``gradio_client``): ``/annotate``, ``/undo_annotation``, ``/adjudicate`` (writes),
``/list_annotations``, ``/annotation_history``, ``/export_annotations``, ``/agreement``, ``/review_progress``,
``/whoami`` (reads); each one :class:`~core.annotations.desk.AnnotationDesk` call.

Writes take no reviewer argument: the reviewer is the request's signed-in user and the role is checked here, on the
server (:class:`app.auth.SignIn`), before the desk is called. A script signs in like a browser: POST the account
form to ``/account/login`` and pass the cookie it sets (``gradio_client.Client(url, headers={"Cookie": ...})``).
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from app.auth import SignIn
from app.views.common import flag, user_errors
from core.annotations.desk import AnnotationDesk


def api_functions(desk: AnnotationDesk, sign_in: SignIn) -> dict[str, Callable]:
    """api_name -> typed function exposed through ``gr.api`` (bad input or a missing role raises ``gr.Error``)."""

    def annotate(
        record_id: str,
        labels: list[str] | None = None,
        status: str | None = None,
        note: str | None = None,
        key: str | None = None,
        request: gr.Request = None,
        profile: gr.OAuthProfile | None = None,
    ) -> dict:
        """Set labels (the full list; [] clears), status and/or note of a record as the signed-in reviewer (an
        annotator or admin); None leaves a field unchanged.

        Args:
            record_id: e.g. "ptbxl/00001" (or an uploaded ECG's key, "upload/...", while it is loaded).
            labels: the complete new label list, or None.
            status: unreviewed | confirmed | corrected | needs_second_opinion, or None.
            note: the new note, or None.
            key: optional idempotency key; a retried call with the same key writes nothing new.

        Returns:
            {"event": the event written (null when nothing changed), "state": the record's state}.
        """
        with user_errors():
            who = sign_in.require("annotate", request, profile)
            event = desk.annotate(record_id, who.user, labels=labels, status=status, note=note, key=key)
            return {"event": event.to_dict() if event else None, "state": desk.state(record_id).to_dict()}

    def undo_annotation(
        record_id: str,
        event_id: int | None = None,
        request: gr.Request = None,
        profile: gr.OAuthProfile | None = None,
    ) -> dict:
        """Undo one event (by id), or the latest change; the undo is itself a new event. An annotator undoes their
        own changes only (the latest one of theirs when no id is given); an admin undoes anyone's.

        Returns:
            {"event": the undo event, "state": the record's state}.
        """
        with user_errors():
            who = sign_in.require("undo", request, profile)
            event = desk.undo(record_id, who.user, event_id, own_only=not who.can("undo_any"))
            return {"event": event.to_dict(), "state": desk.state(event.record_id).to_dict()}

    def list_annotations(status: str | None = None, label: str | None = None) -> list[dict]:
        """Current annotations, filtered by status and/or label (None = any)."""
        with user_errors():
            return [s.to_dict() for s in desk.current(status or None, label or None)]

    def annotation_history(record_id: str | None = None) -> list[dict]:
        """Events of one record (or all), oldest first."""
        with user_errors():
            return [e.to_dict() for e in desk.history(record_id)]

    def export_annotations(kind: str = "records", fmt: str = "json") -> str:
        """The records (current states), the event log, per-reviewer reviews, adjudicated labels (CSV or JSON) or
        Label Studio tasks (JSON)."""
        with user_errors():
            return desk.export_text(kind, fmt)

    def agreement(include_resolved: bool = False) -> dict:
        """Agreement between reviewers, per label, and the disagreement queue.

        Args:
            include_resolved: also list disagreements already adjudicated.

        Returns:
            {"labels": [{"label", "fleiss": {"reviewers", "kappa", "n", "reason"}, "pairs": [{"pair", "kappa", "n",
            "reason"}]}], "disagreements": [{"record_id", "reviews": {reviewer: labels}, "event_ids": {reviewer:
            review event id}, "open", "adjudication"}]}; kappa is null (with a reason) when it is undefined.
        """
        with user_errors():
            return {
                "labels": [row.to_dict() for row in desk.agreement()],
                "disagreements": [
                    d.to_dict() for d in desk.disagreements(include_resolved=flag(include_resolved, "include_resolved"))
                ],
            }

    def adjudicate(
        record_id: str,
        labels: list[str],
        resolves: list[int] | None = None,
        key: str | None = None,
        request: gr.Request = None,
        profile: gr.OAuthProfile | None = None,
    ) -> dict:
        """Settle a disagreement as the signed-in admin: one "adjudicate" event that sets the record's labels and
        links the reviews it resolves. Every link must be a current annotate event of this record; otherwise
        nothing is written.

        Args:
            record_id: e.g. "ptbxl/00001".
            labels: the adjudicated label list.
            resolves: event ids of the reviews it resolves; None: every current review of the record.
            key: optional idempotency key.

        Returns:
            {"event": the adjudicate event, "resolves": the linked review ids, "state": the record's state}.
        """
        with user_errors():
            who = sign_in.require("adjudicate", request, profile)
            event = desk.adjudicate(record_id, labels or [], who.user, resolves, key=key)
            resolved = desk.store().adjudication_links().get(event.event_id, [])
            return {"event": event.to_dict(), "resolves": resolved, "state": desk.state(record_id).to_dict()}

    def review_progress() -> list[dict]:
        """Per reviewer: records reviewed ("done") and records of the dataset not reviewed by them ("remaining")."""
        with user_errors():
            return [{"reviewer": p.reviewer, "done": p.done, "remaining": p.remaining} for p in desk.progress()]

    def whoami(request: gr.Request = None, profile: gr.OAuthProfile | None = None) -> dict:
        """The caller as the server sees them: {"user" (null when not signed in), "role", "source"}."""
        with user_errors():
            who = sign_in.identify(request, profile)
            return {"user": who.user, "role": who.role, "source": who.source}

    return {
        "annotate": annotate,
        "undo_annotation": undo_annotation,
        "adjudicate": adjudicate,
        "list_annotations": list_annotations,
        "annotation_history": annotation_history,
        "export_annotations": export_annotations,
        "agreement": agreement,
        "review_progress": review_progress,
        "whoami": whoami,
    }


# The writes among the API functions (each refuses a request without the role it needs).
WRITE_ENDPOINTS = ("annotate", "undo_annotation", "adjudicate")
