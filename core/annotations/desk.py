"""The annotation desk: what a reviewer does, one call per action, over one shared store.

Open a record, save a change, undo, list and filter annotated records, walk the review queue, export and import. The
Annotate view and the JSON API call these and only turn the results into components; the query service
(:meth:`core.explorer.QueryService.annotation_desk`) owns the one desk and the one store of the app, so Browse's
review filters and the Annotate tab see the same instance.

Every write takes the ``reviewer`` making it. The desk does not decide who that is: the app resolves the signed-in
user and their role from the request (:mod:`core.annotations.identity`, :mod:`app.auth`) and passes the name here
only after the role allows the write.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.annotations.errors import AnnotationError
from core.annotations.export import (
    ImportReport,
    dumps_kind,
    export,
    import_file,
)
from core.annotations.interop import dumps_label_studio, label_studio_tasks, write_wfdb
from core.annotations.queue import (
    METHODS,
    REVIEW_METHODS,
    QueueItem,
    next_in_queue,
    review_queue,
    reviewer_disagreement_queue,
    unreviewed_first_queue,
)
from core.annotations.reviews import Disagreement
from core.annotations.schema import STATUSES, Event, RecordState
from core.annotations.store import AnnotationStore, filter_records

if TYPE_CHECKING:
    from core.annotations.agreement import LabelAgreement

UNREVIEWED = STATUSES[0]
EXPORT_KINDS = ("records", "events", "reviewers", "adjudicated", "labelstudio", "wfdb")
TEXT_EXPORT_KINDS = (
    "records",
    "events",
    "reviewers",
    "adjudicated",
    "labelstudio",
)  # wfdb output is a folder of binary files
EXPORT_FORMATS = ("csv", "json")
QUEUE_ORDERS = (*METHODS, *REVIEW_METHODS)


class QueueUnavailableError(AnnotationError, LookupError):
    """The review queue cannot answer: no model to rank records with, or every queued record is reviewed."""


@dataclass(frozen=True)
class RecordSheet:
    """One record as the desk shows it.

    Attributes:
        state: the record's current annotation (an empty state when never annotated).
        reference: the dataset's reference labels of the record.
        history: the record's events, newest first.
        undone_by: event id -> id of the event that undid it (for the events in ``history``).
        report: the record's English report ("" for uploads and records without one).
    """

    state: RecordState
    reference: list[str]
    history: list[Event]
    undone_by: dict[int, int]
    report: str = ""


@dataclass(frozen=True)
class ReviewerProgress:
    """How far one reviewer is: records they reviewed, and records of the dataset they have not."""

    reviewer: str
    done: int
    remaining: int


@dataclass(frozen=True)
class QueueEntry:
    """A review-queue item with the record's current review status."""

    item: QueueItem
    status: str


def reviewed(state: RecordState | None) -> bool:
    """Whether a record counts as reviewed (any status but ``unreviewed``)."""
    return state is not None and state.status != UNREVIEWED


@dataclass
class AnnotationDesk:
    """The store and the record data, as callables (the desk works before the index is ready, and in tests).

    Attributes:
        store: returns the (shared, thread-safe) annotation store.
        reference_labels: record id -> the record's reference labels (from the dataset).
        vocabulary: the label vocabulary offered in the label picker (free labels may be typed too).
        queue_inputs: returns ``(record id -> {class: model probability}, record id -> reference labels)`` for the
            review queue; ``None`` when no model is available.
        record_ids: all records that can be annotated (for "unreviewed" filtering); ``None``: annotated ones only.
        record_text: record id -> the report text (shown beside the form, and in the Label Studio export).
        record_path: record id -> the WFDB record path without extension, or None (for the WFDB export).
    """

    store: Callable[[], AnnotationStore]
    reference_labels: Callable[[str], Sequence[str]] = lambda record_id: ()
    vocabulary: Callable[[], Sequence[str]] = lambda: ()
    queue_inputs: Callable[[], tuple[dict, dict]] | None = None
    record_ids: Callable[[], Sequence[str]] | None = None
    record_text: Callable[[str], str] = lambda record_id: ""
    record_path: Callable[[str], str | Path | None] = lambda record_id: None
    _queue_inputs: list = field(default_factory=list, repr=False)  # the model inputs, computed once

    # ---- one record --------------------------------------------------------------------------------------------
    def open(self, record_id: str) -> RecordSheet:
        """The record's state, reference labels, history and report."""
        store = self.store()
        events = list(reversed(store.history(record_id)))
        undone = store.undone_ids()
        return RecordSheet(
            store.get(record_id),
            list(self.reference_labels(record_id)),
            events,
            {e.event_id: undone[e.event_id] for e in events if e.event_id in undone},
            self.record_text(record_id) or "",
        )

    def annotate(
        self,
        record_id: str,
        reviewer: str,
        *,
        labels: Sequence[str] | None = None,
        status: str | None = None,
        note: str | None = None,
        key: str | None = None,
    ) -> Event | None:
        """One event with every changed field (None leaves a field unchanged); None when nothing changed."""
        labels = None if labels is None else list(labels)
        return self.store().annotate(record_id, reviewer=reviewer, labels=labels, status=status, note=note, key=key)

    def undo(self, record_id: str, reviewer: str, event_id: int | None = None, *, own_only: bool = False) -> Event:
        """Undo one event of the record (by id), or its latest change; the undo is itself a new event.

        The store checks, under its write lock and before writing, that the event belongs to ``record_id``, was
        not undone already and, with ``own_only`` (an annotator), was made by ``reviewer`` (``UndoError`` /
        ``PermissionDeniedError`` otherwise; nothing is written). ``own_only`` without an ``event_id`` undoes the
        reviewer's own latest change of the record.
        """
        store = self.store()
        only_by = reviewer if own_only else None
        if event_id is None:
            return store.undo_last(record_id, reviewer=reviewer, only_by=only_by)
        return store.undo(event_id, reviewer=reviewer, record_id=record_id, only_by=only_by)

    def state(self, record_id: str) -> RecordState:
        return self.store().get(record_id)

    def history(self, record_id: str | None = None) -> list[Event]:
        """Events of one record (or all), oldest first."""
        return self.store().history(record_id or None)

    # ---- many records ------------------------------------------------------------------------------------------
    def annotated(self, status: str | None = None, label: str | None = None) -> list[RecordState]:
        """Records with this status and annotated label (None: any), newest change first; ``unreviewed`` includes
        the records never annotated when :attr:`record_ids` is known."""
        store = self.store()
        universe = self.record_ids() if (self.record_ids and status == UNREVIEWED) else None
        ids = filter_records(store, status=status, label=label, record_ids=universe)
        states = store.states()
        chosen = [states.get(r) or RecordState(r) for r in ids]
        return sorted(chosen, key=lambda s: (s.updated_at, s.record_id), reverse=True)

    def current(self, status: str | None = None, label: str | None = None) -> list[RecordState]:
        """Current annotations (annotated records only) with this status and label (None: any), by record id."""
        store = self.store()
        ids = filter_records(store, status=status, label=label)
        states = store.states()
        return [states[r] for r in sorted(ids) if r in states]

    def used_labels(self) -> list[str]:
        """Every label used in an annotation, sorted."""
        return sorted({lab for s in self.store().states().values() for lab in s.labels})

    # ---- several reviewers -------------------------------------------------------------------------------------
    def agreement(self) -> list[LabelAgreement]:
        """Per label: Cohen's kappa per pair of reviewers and Fleiss' kappa overall (see
        :mod:`core.annotations.agreement`)."""
        from core.annotations.agreement import agreement  # local: sklearn / statsmodels load on first use

        return agreement(self.store().reviewer_states())

    def disagreements(self, include_resolved: bool = False) -> list[Disagreement]:
        """Records whose reviewers' label sets differ (not adjudicated since, unless ``include_resolved``)."""
        return self.store().disagreements(include_resolved=include_resolved)

    def adjudicate(
        self,
        record_id: str,
        labels: Sequence[str],
        adjudicator: str,
        resolves: Sequence[int] | None = None,
        key: str | None = None,
    ) -> Event:
        """One ``adjudicate`` event setting the record's labels and linking the reviews it resolves (default: the
        record's current reviews); every link is checked before anything is written."""
        resolves = None if resolves is None else [int(i) for i in resolves]
        return self.store().adjudicate(record_id, list(labels), adjudicator=adjudicator, resolves=resolves, key=key)

    def progress(self, include: Sequence[str] = ()) -> list[ReviewerProgress]:
        """Per reviewer (and each name in ``include``, e.g. the signed-in user): records reviewed, and records of
        the dataset (:attr:`record_ids`) not reviewed by them yet; by reviewer name."""
        universe = set(self.record_ids()) if self.record_ids else set()
        done: dict[str, set[str]] = {name: set() for name in include if name}
        for record_id, reviewer in self.store().reviewer_states():
            done.setdefault(reviewer, set()).add(record_id)
        return [ReviewerProgress(name, len(records), len(universe - records)) for name, records in sorted(done.items())]

    # ---- review queue ------------------------------------------------------------------------------------------
    def _queue(self, method: str) -> list[QueueItem]:
        if method == "reviewer_disagreement":
            return reviewer_disagreement_queue({d.record_id: d.reviews for d in self.disagreements()})
        if method == "unreviewed":
            ids = list(self.record_ids()) if self.record_ids else sorted(self.store().states())
            reviewers: dict[str, set[str]] = {}
            for record_id, reviewer in self.store().reviewer_states():
                reviewers.setdefault(record_id, set()).add(reviewer)
            return unreviewed_first_queue(ids, reviewers)
        if self.queue_inputs is None:
            raise QueueUnavailableError(
                "no model is available for this queue order: add a checkpoint, or order by reviewer disagreement "
                "or unreviewed first"
            )
        if not self._queue_inputs:
            self._queue_inputs.append(self.queue_inputs())
        probs, reference = self._queue_inputs[0]
        return review_queue(probs, reference, method=method)

    def _done(self, method: str, reviewer: str | None) -> set[str]:
        """Records a queue leaves out when skipping reviewed ones: those ``reviewer`` reviewed (anyone's review
        when no reviewer is given). The reviewer-disagreement queue lists open disagreements only, so it skips
        nothing more."""
        if method == "reviewer_disagreement":
            return set()
        if reviewer:
            return {record_id for record_id, who in self.store().reviewer_states() if who == reviewer}
        return {r for r, s in self.store().states().items() if reviewed(s)}

    def queue(
        self,
        method: str = "disagreement",
        skip_reviewed: bool = True,
        limit: int = 200,
        reviewer: str | None = None,
    ) -> list[QueueEntry]:
        """The review queue in ``method``'s order (see :mod:`core.annotations.queue`); with ``skip_reviewed``,
        records ``reviewer`` already reviewed are left out (records anyone reviewed, when no reviewer is given)."""
        if method not in QUEUE_ORDERS:
            raise AnnotationError(f"unknown queue order {method!r}; use one of {', '.join(QUEUE_ORDERS)}")
        states = self.store().states()
        skip = self._done(method, reviewer) if skip_reviewed else set()
        out = []
        for item in self._queue(method):
            if item.record_id in skip:
                continue
            state = states.get(item.record_id)
            out.append(QueueEntry(item, state.status if state else UNREVIEWED))
            if len(out) >= limit:
                break
        return out

    def next_record(
        self,
        current: str | None,
        method: str = "disagreement",
        skip_reviewed: bool = True,
        reviewer: str | None = None,
    ) -> str:
        """The record to open next. With ``skip_reviewed``: the top of the queue (what is left to review; the
        current record excepted). Without: the record after ``current`` in the queue (a walk through it, wrapping)."""
        ids = [e.item.record_id for e in self.queue(method, skip_reviewed, limit=10**9, reviewer=reviewer)]
        found = next((r for r in ids if r != current), None) if skip_reviewed else next_in_queue(ids, current)
        if found is None:
            raise QueueUnavailableError("the review queue is empty: every queued record has been reviewed")
        return found

    # ---- export / import ---------------------------------------------------------------------------------------
    def label_studio_tasks(self) -> list[dict]:
        """Every annotated record as a Label Studio task (see :mod:`core.annotations.interop`)."""
        states = self.store().states().values()
        return label_studio_tasks(states, text=self.record_text, reference=self.reference_labels)

    def export_text(self, kind: str = "records", fmt: str = "json") -> str:
        """The records (current states), the event log, the per-reviewer reviews or the adjudicated labels as CSV or
        JSON text, or the Label Studio tasks (JSON)."""
        if fmt not in EXPORT_FORMATS:
            raise AnnotationError(f"fmt must be csv or json, not {fmt!r}")
        if kind not in TEXT_EXPORT_KINDS:
            raise AnnotationError(f"kind must be one of {', '.join(TEXT_EXPORT_KINDS)}, not {kind!r}")
        if kind == "labelstudio":
            return dumps_label_studio(self.label_studio_tasks())
        return dumps_kind(self.store(), kind, fmt)

    def export_file(self, kind: str = "records", fmt: str = "csv") -> Path:
        """Write an export into a fresh temporary folder; returns the file (Label Studio: JSON; WFDB: a zip)."""
        if kind not in EXPORT_KINDS:
            raise AnnotationError(f"kind must be one of {', '.join(EXPORT_KINDS)}, not {kind!r}")
        folder = Path(tempfile.mkdtemp(prefix="annotations-"))
        if kind == "labelstudio":
            path = folder / "annotations-labelstudio.json"
            path.write_text(dumps_label_studio(self.label_studio_tasks()), encoding="utf-8")
            return path
        if kind == "wfdb":
            write_wfdb(self.store().states().values(), folder / "wfdb", record_path=self.record_path)
            return Path(shutil.make_archive(str(folder / "annotations-wfdb"), "zip", folder / "wfdb"))
        return export(self.store(), folder / f"annotations-{kind}.{fmt}", kind=kind)

    def import_file(self, path: str | Path | None, reviewer: str, *, as_admin: bool = False) -> ImportReport:
        """Import a records / events export (see :func:`core.annotations.export.import_file`).

        Args:
            path: the uploaded file.
            reviewer: who imports; the events are theirs unless ``as_admin``.
            as_admin: the reviewer is an admin (roles come with sign-in): an events import keeps the file's
                reviewers and times. Default: the events are the reviewer's, at the import time.
        """
        if not path:
            raise AnnotationError("choose a .csv or .json file exported from this app first")
        return import_file(self.store(), path, reviewer=reviewer or "import", as_admin=as_admin)
