"""The annotation API (``gradio_client``): ``/annotate``, ``/undo_annotation``, ``/list_annotations``,
``/annotation_history``, ``/export_annotations``, ``/agreement``, ``/adjudicate``; each one
:class:`~core.annotations.desk.AnnotationDesk` call."""

from __future__ import annotations

from collections.abc import Callable

from app.views.common import user_errors
from core.annotations.desk import AnnotationDesk


def api_functions(desk: AnnotationDesk) -> dict[str, Callable]:
    """api_name -> typed function exposed through ``gr.api`` (bad input raises ``gr.Error`` with the reason)."""

    def annotate(
        record_id: str,
        reviewer: str,
        labels: list[str] | None = None,
        status: str | None = None,
        note: str | None = None,
        key: str | None = None,
    ) -> dict:
        """Set labels (the full list; [] clears), status and/or note of a record; None leaves a field unchanged.

        Args:
            record_id: e.g. "ptbxl/00001".
            reviewer: who makes the change.
            labels: the complete new label list, or None.
            status: unreviewed | confirmed | corrected | needs_second_opinion, or None.
            note: the new note, or None.
            key: optional idempotency key; a retried call with the same key writes nothing new.

        Returns:
            {"event": the event written (null when nothing changed), "state": the record's state}.
        """
        with user_errors():
            event = desk.annotate(record_id, reviewer, labels=labels, status=status, note=note, key=key)
            return {"event": event.to_dict() if event else None, "state": desk.state(record_id).to_dict()}

    def undo_annotation(record_id: str, reviewer: str, event_id: int | None = None) -> dict:
        """Undo one event (by id), or the record's latest change; the undo is itself a new event.

        Returns:
            {"event": the undo event, "state": the record's state}.
        """
        with user_errors():
            event = desk.undo(record_id, reviewer, event_id)
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
        """The records (current states) or the event log, as CSV or JSON text."""
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
                "disagreements": [d.to_dict() for d in desk.disagreements(include_resolved=bool(include_resolved))],
            }

    def adjudicate(
        record_id: str,
        labels: list[str],
        adjudicator: str,
        resolves: list[int] | None = None,
        key: str | None = None,
    ) -> dict:
        """Settle a disagreement: one "adjudicate" event that sets the record's labels and links the reviews it
        resolves. Every link must be a current annotate event of this record; otherwise nothing is written.

        Args:
            record_id: e.g. "ptbxl/00001".
            labels: the adjudicated label list.
            adjudicator: who decides.
            resolves: event ids of the reviews it resolves; None: every current review of the record.
            key: optional idempotency key.

        Returns:
            {"event": the adjudicate event, "resolves": the linked review ids, "state": the record's state}.
        """
        with user_errors():
            event = desk.adjudicate(record_id, labels or [], adjudicator, resolves, key=key)
            resolved = desk.store().adjudication_links().get(event.event_id, [])
            return {"event": event.to_dict(), "resolves": resolved, "state": desk.state(record_id).to_dict()}

    return {
        "annotate": annotate,
        "undo_annotation": undo_annotation,
        "list_annotations": list_annotations,
        "annotation_history": annotation_history,
        "export_annotations": export_annotations,
        "agreement": agreement,
        "adjudicate": adjudicate,
    }
