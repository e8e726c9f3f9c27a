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
from core.annotations.errors import AnnotationError
from core.annotations.identity import ANNOTATOR, Identity
from core.annotations.reviews import ReviewerState
from core.annotations.schema import STATUSES, RecordState, status_title

ANY = "any"
HISTORY_COLUMNS = ["#", "time (UTC)", "reviewer", "change", "undone by"]
ANNOTATED_COLUMNS = ["record_id", "status", "labels", "note", "reviewer", "updated (UTC)"]
QUEUE_COLUMNS = ["rank", "record_id", "score", "reason", "status"]
STATUS_CHOICES = [(status_title(s), s) for s in STATUSES]
QUEUE_METHODS = {
    "model disagrees with the reference": "disagreement",
    "strongest single model disagreement": "max_disagreement",
    "model uncertainty": "uncertainty",
    "reviewers disagree (to adjudicate)": "reviewer_disagreement",
    "unreviewed first (no model needed)": "unreviewed",
}
PROGRESS_COLUMNS = ["reviewer", "done", "remaining"]
AGREEMENT_COLUMNS = ["label", "Fleiss κ (all reviewers)", "Cohen κ per pair", "records"]
DISAGREEMENT_COLUMNS = ["record_id", "reviews"]
Form = tuple[list[str], str, str, str, pd.DataFrame, str]  # labels, status, note, summary, history, message
# Every table column is plain text (Gradio's "markdown" / "html" datatypes would render user text).
TABLE_DATATYPE = "str"
REPORT_CHARS = 600  # a longer report is cut here (the viewer's panel shows it whole)
NO_RECORD = "*Select a record (Browse, Map, or the review queue) to annotate it.*"


def _time(ts: str) -> str:
    return ts[:19].replace("T", " ") if ts else ""


def _key(record_id: str | None) -> str:
    return (record_id or "").strip()


def _filter(value: str | None) -> str | None:
    return None if value in (None, "", ANY) else value


def summary_markdown(state: RecordState, reference: Sequence[str], report: str = "") -> str:
    """The record's report, reference labels and current annotation, for the page (every user value escaped).

    The report is shown here, beside the form, because the viewer's report panel is folded while annotating (it
    would stand between the tracing and the form)."""
    ref = escape_markdown(", ".join(reference)) or "—"
    record_id = escape_markdown(state.record_id)
    head = f"### {record_id}\n"
    if report.strip():
        text = " ".join(report.split())
        if len(text) > REPORT_CHARS:
            text = text[: REPORT_CHARS - 1].rstrip() + "…"
        head += f"**Report:** {escape_markdown(text)}\n\n"
    head += f"**Reference labels:** {ref}\n\n"
    if not state.n_events:
        return head + "*Not annotated yet.*"
    labels = escape_markdown(", ".join(state.labels)) or "—"
    return head + (
        f"**Annotated labels:** {labels} · "
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


def _independent(who: Identity | None) -> bool:
    """Whether ``who`` reviews independently: a signed-in annotator of a team (admins see every review, to
    adjudicate; with one local user there is nobody to be independent of)."""
    return who is not None and who.source in ("account", "huggingface") and who.role == ANNOTATOR


def _own_review(desk: AnnotationDesk, record_id: str, who: Identity | None) -> ReviewerState | None:
    if who is None or not who.signed_in:
        return None
    return desk.store().reviewer_states(record_id).get((record_id, who.user))


def load_record(
    desk: AnnotationDesk, record_id: str, who: Identity | None = None
) -> tuple[list[str], str, str, str, pd.DataFrame]:
    """Form values for a record: (labels, status, note, summary markdown, history).

    A team's annotator sees their own review in the form (blank before they review), and until then not
    the other reviewers' labels: reviews stay independent, which the agreement figures assume. Everyone else (and
    the single local user) sees the record's current state.
    """
    record_id = _key(record_id)
    if not record_id:
        return [], UNREVIEWED, "", NO_RECORD, pd.DataFrame(columns=HISTORY_COLUMNS)
    sheet = desk.open(record_id)
    state = sheet.state
    if not _independent(who):
        return (
            list(state.labels),
            state.status,
            state.note,
            summary_markdown(state, sheet.reference, sheet.report),
            history_frame(sheet),
        )
    own = _own_review(desk, record_id, who)
    if own is not None:
        return (
            list(own.labels),
            own.status,
            own.note,
            summary_markdown(state, sheet.reference, sheet.report),
            history_frame(sheet),
        )
    others = len({e.reviewer for e in sheet.history})
    summary = summary_markdown(RecordState(record_id), sheet.reference, sheet.report)
    if others:
        summary += (
            f"\n\n*{others} other reviewer{'s' if others != 1 else ''} changed this record; their labels show "
            "once you save your own review (independent reviews).*"
        )
    return [], UNREVIEWED, "", summary, pd.DataFrame(columns=HISTORY_COLUMNS)


def save_annotation(
    desk: AnnotationDesk, record_id: str, who: Identity, labels: Sequence[str] | None, status: str, note: str
) -> Form:
    """Save the form as ``who`` (an annotator or admin): one event with every changed field. Returns the refreshed
    form and a message."""
    reviewer = who.require("annotate")
    record_id = _key(record_id)
    # A first independent review with an empty note leaves the record's note (another reviewer's) as it is.
    keep_note = not note and _independent(who) and _own_review(desk, record_id, who) is None
    event = desk.annotate(
        record_id, reviewer, labels=list(labels or []), status=status, note=None if keep_note else note or ""
    )
    message = f"Saved change #{event.event_id}: {escape_markdown(event.changes())}" if event else "Nothing changed."
    return (*load_record(desk, record_id, who), message)


def undo_last(desk: AnnotationDesk, record_id: str, who: Identity) -> Form:
    """Undo the record's latest change (a new, compensating event); an annotator's own latest change only."""
    reviewer = who.require("undo")
    record_id = _key(record_id)
    event = desk.undo(record_id, reviewer, own_only=not who.can("undo_any"))
    message = f"Undid change #{event.reverts} (as change #{event.event_id}): {escape_markdown(event.changes())}"
    return (*load_record(desk, record_id, who), message)


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
    desk: AnnotationDesk,
    method: str = "disagreement",
    skip_reviewed: bool = True,
    who: Identity | None = None,
    limit: int = 200,
) -> pd.DataFrame:
    """The review queue as a table (records ``who`` reviewed left out when ``skip_reviewed``; any reviewed record
    for a visitor who is not signed in)."""
    reviewer = who.user if who is not None else None
    entries = desk.queue(QUEUE_METHODS.get(method, method), skip_reviewed, limit, reviewer=reviewer)
    rows = [
        [rank, e.item.record_id, round(e.item.score, 3), e.item.reason, status_title(e.status)]
        for rank, e in enumerate(entries, 1)
    ]
    return pd.DataFrame(rows, columns=QUEUE_COLUMNS)


def next_record(
    desk: AnnotationDesk,
    current: str,
    method: str = "disagreement",
    skip_reviewed: bool = True,
    who: Identity | None = None,
) -> str:
    """The top of the queue (what ``who`` has left to review), or the record after ``current`` when reviewed
    records are not skipped."""
    reviewer = who.user if who is not None else None
    return desk.next_record(_key(current) or None, QUEUE_METHODS.get(method, method), skip_reviewed, reviewer)


def previous_record(visited: Sequence[str]) -> tuple[str, list[str]]:
    """The record opened before the current one, and the visit list without the current one."""
    if len(visited) < 2:
        raise AnnotationError("no previous record: this is the first one opened here")
    return visited[-2], list(visited[:-1])


def visit(visited: Sequence[str] | None, record_id: str, keep: int = 100) -> list[str]:
    """The visit list with ``record_id`` opened (not repeated when it is already the last one)."""
    visited = list(visited or [])
    record_id = _key(record_id)
    if record_id and (not visited or visited[-1] != record_id):
        visited.append(record_id)
    return visited[-keep:]


def progress_frame(desk: AnnotationDesk, who: Identity | None = None) -> pd.DataFrame:
    """Per reviewer (the signed-in user included): records reviewed and records left."""
    include = [who.user] if who is not None and who.signed_in and who.can("annotate") else []
    rows = [[p.reviewer, p.done, p.remaining] for p in desk.progress(include)]
    return pd.DataFrame(rows, columns=PROGRESS_COLUMNS)


def _kappa(value: float | None, reason: str) -> str:
    return f"{value:.2f}" if value is not None else f"— ({reason})" if reason else "—"


def agreement_frame(desk: AnnotationDesk) -> pd.DataFrame:
    """Per label: Fleiss' kappa over every reviewer and Cohen's kappa per pair (undefined ones say why)."""
    rows = []
    for row in desk.agreement():
        pairs = "; ".join(f"{a}–{b}: {_kappa(p.kappa, p.reason)} (n={p.n})" for p in row.pairs for a, b in [p.pair])
        rows.append([row.label, _kappa(row.fleiss.kappa, row.fleiss.reason), pairs, row.fleiss.n])
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def disagreement_frame(desk: AnnotationDesk) -> pd.DataFrame:
    """Records whose reviewers disagree and that nobody adjudicated since."""
    rows = [
        [d.record_id, "; ".join(f"{who}: {', '.join(labels) or '(none)'}" for who, labels in d.reviews.items())]
        for d in desk.disagreements()
    ]
    return pd.DataFrame(rows, columns=DISAGREEMENT_COLUMNS)


def adjudicate_record(desk: AnnotationDesk, record_id: str, labels: Sequence[str] | None, who: Identity) -> str:
    """Adjudicate the record as ``who`` (an admin): its labels become ``labels``, resolving every current review.
    Returns what it did (Markdown-safe)."""
    adjudicator = who.require("adjudicate")
    record_id = _key(record_id)
    event = desk.adjudicate(record_id, list(labels or []), adjudicator)
    resolved = desk.store().adjudication_links().get(event.event_id, [])
    return escape_markdown(
        f"Adjudicated {record_id} as change #{event.event_id}: labels {', '.join(labels or []) or '(none)'}, "
        f"resolving {len(resolved)} review{'s' if len(resolved) != 1 else ''}."
    )


def export_annotations_file(desk: AnnotationDesk, kind: str = "records", fmt: str = "csv") -> str:
    """Write an export into a fresh temporary folder; returns the file path (for a download)."""
    return str(desk.export_file(kind, fmt))


def import_annotations_file(desk: AnnotationDesk, path: str | None, who: Identity) -> str:
    """Import an uploaded records / events export as ``who`` (an admin: an events file keeps its reviewers and
    times, marked as imported); returns what it did (Markdown-safe)."""
    admin = who.require("import")
    return escape_markdown(str(desk.import_file(path, admin, as_admin=True)))
