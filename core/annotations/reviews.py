"""Per-reviewer labels: what each reviewer said about each record, derived from the same event log.

The log records every change with its reviewer. Several reviewers may review the same record independently; the
record's state (:func:`core.annotations.schema.replay`) is the fold of all their changes, and this module gives the
view per ``(record, reviewer)``:

- a reviewer's *review* of a record is their latest ``annotate`` event on it that has not been undone;
- their labels / status / note are the record's values right after that event (fields the event did not change
  are the values the reviewer saw and left as they were, i.e. accepted);
- an undone review falls back to the reviewer's previous live review of the record (or none).

Adjudication events (``action="adjudicate"``) are not reviews; see :func:`adjudicated_states`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from core.annotations.schema import ADJUDICATE, ANNOTATE, UNDO, Event, RecordState, apply_event


@dataclass(frozen=True)
class ReviewerState:
    """One reviewer's current review of one record.

    Attributes:
        record_id: the record.
        reviewer: who reviewed it.
        labels: the reviewer's labels, sorted.
        status: the reviewer's status.
        note: the note as the reviewer left it.
        event_id: the review event (the reviewer's latest live annotate event on the record).
        ts: its time.
    """

    record_id: str
    reviewer: str
    labels: tuple[str, ...]
    status: str
    note: str
    event_id: int
    ts: str

    def to_dict(self) -> dict:
        return {
            "record_id": self.record_id,
            "reviewer": self.reviewer,
            "labels": list(self.labels),
            "status": self.status,
            "note": self.note,
            "event_id": self.event_id,
            "ts": self.ts,
        }


def reviewer_states(events: Iterable[Event]) -> dict[tuple[str, str], ReviewerState]:
    """``(record_id, reviewer)`` -> the reviewer's current review, from the event log (any order; sorted by id)."""
    events = sorted(events, key=lambda e: e.event_id)
    undone = {e.reverts for e in events if e.action == UNDO and e.reverts is not None}
    states: dict[str, RecordState] = {}
    out: dict[tuple[str, str], ReviewerState] = {}
    for event in events:
        state = apply_event(states.get(event.record_id) or RecordState(event.record_id), event)
        states[event.record_id] = state
        if event.action == ANNOTATE and event.event_id not in undone:
            out[(event.record_id, event.reviewer)] = ReviewerState(
                event.record_id, event.reviewer, state.labels, state.status, state.note, event.event_id, event.ts
            )
    return dict(sorted(out.items()))


def reviewers_of(events: Iterable[Event]) -> list[str]:
    """Every reviewer with at least one current review, sorted."""
    return sorted({reviewer for _, reviewer in reviewer_states(events)})


@dataclass(frozen=True)
class Adjudication:
    """A record's current adjudicated labels: its latest ``adjudicate`` event that has not been undone."""

    record_id: str
    labels: tuple[str, ...]
    adjudicator: str
    event_id: int
    ts: str
    resolves: tuple[int, ...]

    def to_dict(self) -> dict:
        return {
            "record_id": self.record_id,
            "labels": list(self.labels),
            "adjudicator": self.adjudicator,
            "event_id": self.event_id,
            "ts": self.ts,
            "resolves": list(self.resolves),
        }


def adjudicated_states(events: Iterable[Event], links: Mapping[int, Iterable[int]]) -> dict[str, Adjudication]:
    """record id -> its current adjudication (``links``: adjudicate event id -> resolved review ids)."""
    events = sorted(events, key=lambda e: e.event_id)
    undone = {e.reverts for e in events if e.action == UNDO and e.reverts is not None}
    out: dict[str, Adjudication] = {}
    for e in events:
        if e.action == ADJUDICATE and e.event_id not in undone:
            labels = tuple(e.after.get("labels", ()))
            resolves = tuple(sorted(links.get(e.event_id, ())))
            out[e.record_id] = Adjudication(e.record_id, labels, e.reviewer, e.event_id, e.ts, resolves)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class Disagreement:
    """A record whose reviewers' current label sets differ.

    Attributes:
        record_id: the record.
        reviews: reviewer -> their labels.
        event_ids: reviewer -> their review event (what an adjudication resolves).
        adjudication: the record's current adjudication, if any (``None``: still open).
    """

    record_id: str
    reviews: dict[str, tuple[str, ...]]
    event_ids: dict[str, int]
    adjudication: Adjudication | None = None

    @property
    def open(self) -> bool:
        """Not adjudicated since the latest review."""
        return self.adjudication is None or self.adjudication.event_id < max(self.event_ids.values())

    def to_dict(self) -> dict:
        return {
            "record_id": self.record_id,
            "reviews": {r: list(labels) for r, labels in self.reviews.items()},
            "event_ids": dict(self.event_ids),
            "open": self.open,
            "adjudication": None if self.adjudication is None else self.adjudication.to_dict(),
        }


def disagreements(
    states: Mapping[tuple[str, str], ReviewerState],
    adjudicated: Mapping[str, Adjudication] | None = None,
    *,
    include_resolved: bool = False,
) -> list[Disagreement]:
    """Records whose reviewers gave different label sets, by record id; adjudicated ones (an adjudication newer
    than every current review) only when ``include_resolved``."""
    adjudicated = adjudicated or {}
    by_record: dict[str, dict[str, ReviewerState]] = {}
    for (record_id, reviewer), state in states.items():
        by_record.setdefault(record_id, {})[reviewer] = state
    out = []
    for record_id, reviews in sorted(by_record.items()):
        if len({s.labels for s in reviews.values()}) < 2:
            continue
        item = Disagreement(
            record_id,
            {r: s.labels for r, s in sorted(reviews.items())},
            {r: s.event_id for r, s in sorted(reviews.items())},
            adjudicated.get(record_id),
        )
        if item.open or include_resolved:
            out.append(item)
    return out
