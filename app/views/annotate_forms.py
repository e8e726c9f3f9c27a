"""The Annotate tab's handlers as plain functions: parse the form, one :class:`~core.annotations.desk.AnnotationDesk`
call, shape the result into form values, markdown and tables (tested without Gradio).

User text (record ids, labels, notes, reviewer names) is never Markdown or HTML: every piece of it that goes into a
Markdown component passes through :func:`app.formatting.escape_markdown`, and the tables are plain-text ``str``
columns (:data:`TABLE_DATATYPE`)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from app.formatting import escape_markdown
from core.annotations.desk import UNREVIEWED, AnnotationDesk, RecordSheet
from core.annotations.schema import STATUSES, RecordState, status_title

ANY = "any"
HISTORY_COLUMNS = ["#", "time (UTC)", "reviewer", "change", "undone by"]
ANNOTATED_COLUMNS = ["record_id", "status", "labels", "note", "reviewer", "updated (UTC)"]
QUEUE_COLUMNS = ["rank", "record_id", "score", "reason", "status"]
STATUS_CHOICES = [(status_title(s), s) for s in STATUSES]
QUEUE_METHODS = {
    "disagreement with reference": "disagreement",
    "strongest single disagreement": "max_disagreement",
    "model uncertainty": "uncertainty",
}
Form = tuple[list[str], str, str, str, pd.DataFrame, str]  # labels, status, note, summary, history, message
# Every table column is plain text (Gradio's "markdown" / "html" datatypes would render user text).
TABLE_DATATYPE = "str"
NO_RECORD = "*Select a record (Browse, Map, or the review queue) to annotate it.*"


def _time(ts: str) -> str:
    return ts[:19].replace("T", " ") if ts else ""


def _key(record_id: str | None) -> str:
    return (record_id or "").strip()


def _filter(value: str | None) -> str | None:
    return None if value in (None, "", ANY) else value


def summary_markdown(state: RecordState, reference: Sequence[str]) -> str:
    """The record's reference labels and current annotation, for the page (every user value escaped)."""
    ref = escape_markdown(", ".join(reference)) or "—"
    record_id = escape_markdown(state.record_id)
    if not state.n_events:
        return f"### {record_id}\n**Reference labels:** {ref}\n\n*Not annotated yet.*"
    labels = escape_markdown(", ".join(state.labels)) or "—"
    return (
        f"### {record_id}\n**Reference labels:** {ref}\n\n**Annotated labels:** {labels} · "
        f"**status:** {escape_markdown(status_title(state.status))} · last change by "
        f"**{escape_markdown(state.reviewer)}** at "
        f"{_time(state.updated_at)} UTC ({state.n_events} change{'s' if state.n_events != 1 else ''})"
    )


def history_frame(sheet: RecordSheet) -> pd.DataFrame:
    """The record's events, newest first."""
    undone = sheet.undone_by
    rows = [
        [e.event_id, _time(e.ts), e.reviewer, e.describe(), f"#{undone[e.event_id]}" if e.event_id in undone else ""]
        for e in sheet.history
    ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def load_record(desk: AnnotationDesk, record_id: str) -> tuple[list[str], str, str, str, pd.DataFrame]:
    """Form values for a record: (labels, status, note, summary markdown, history)."""
    record_id = _key(record_id)
    if not record_id:
        return [], UNREVIEWED, "", NO_RECORD, pd.DataFrame(columns=HISTORY_COLUMNS)
    sheet = desk.open(record_id)
    state = sheet.state
    return list(state.labels), state.status, state.note, summary_markdown(state, sheet.reference), history_frame(sheet)


def save_annotation(
    desk: AnnotationDesk, record_id: str, reviewer: str, labels: Sequence[str] | None, status: str, note: str
) -> Form:
    """Save the form: one event with every changed field. Returns the refreshed form and a message."""
    record_id = _key(record_id)
    event = desk.annotate(record_id, reviewer, labels=list(labels or []), status=status, note=note or "")
    message = f"Saved change #{event.event_id}: {escape_markdown(event.changes())}" if event else "Nothing changed."
    return (*load_record(desk, record_id), message)


def undo_last(
    desk: AnnotationDesk, record_id: str, reviewer: str
) -> tuple[list[str], str, str, str, pd.DataFrame, str]:
    """Undo the record's latest change (a new, compensating event)."""
    record_id = _key(record_id)
    event = desk.undo(record_id, reviewer)
    message = f"Undid change #{event.reverts} (as change #{event.event_id}): {escape_markdown(event.changes())}"
    return (*load_record(desk, record_id), message)


def annotated_frame(desk: AnnotationDesk, status: str | None = ANY, label: str | None = ANY) -> pd.DataFrame:
    """Records filtered by annotated status and label (``"any"`` = no filter), newest change first."""
    rows = [
        [s.record_id, status_title(s.status), ", ".join(s.labels), s.note[:120], s.reviewer, _time(s.updated_at)]
        for s in desk.annotated(_filter(status), _filter(label))
    ]
    return pd.DataFrame(rows, columns=ANNOTATED_COLUMNS)


def filter_choices(desk: AnnotationDesk) -> tuple[list, list[str]]:
    """Choices of the status and label filters: statuses, and every label used in an annotation."""
    return [(ANY, ANY), *STATUS_CHOICES], [ANY, *desk.used_labels()]


def queue_frame(
    desk: AnnotationDesk, method: str = "disagreement", skip_reviewed: bool = True, limit: int = 200
) -> pd.DataFrame:
    """The review queue as a table (reviewed records left out when ``skip_reviewed``)."""
    entries = desk.queue(QUEUE_METHODS.get(method, method), skip_reviewed, limit)
    rows = [
        [rank, e.item.record_id, round(e.item.score, 3), e.item.reason, status_title(e.status)]
        for rank, e in enumerate(entries, 1)
    ]
    return pd.DataFrame(rows, columns=QUEUE_COLUMNS)


def next_record(desk: AnnotationDesk, current: str, method: str = "disagreement", skip_reviewed: bool = True) -> str:
    """The record after ``current`` in the queue (reviewed ones skipped when asked)."""
    return desk.next_record(_key(current) or None, QUEUE_METHODS.get(method, method), skip_reviewed)


def export_annotations_file(desk: AnnotationDesk, kind: str = "records", fmt: str = "csv") -> str:
    """Write an export into a fresh temporary folder; returns the file path (for a download)."""
    return str(desk.export_file(kind, fmt))


def import_annotations_file(desk: AnnotationDesk, path: str | None, reviewer: str) -> str:
    """Import an uploaded records / events export; returns what it did (Markdown-safe)."""
    return escape_markdown(str(desk.import_file(path, reviewer)))
