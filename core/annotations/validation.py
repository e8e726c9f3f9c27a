"""Checks on every value that enters the store; each failure is a typed :class:`AnnotationError` with a clear message.

Validation happens before a transaction starts, so a rejected request writes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from core.annotations.errors import (
    AnnotationError,
    InvalidLabelError,
    InvalidNoteError,
    InvalidReviewerError,
    InvalidStatusError,
    UnknownRecordError,
)
from core.annotations.schema import ACTIONS, ADJUDICATE, ANNOTATE, STATUSES, UNDO, Event

MAX_NOTE_CHARS = 10_000
MAX_LABEL_CHARS = 100
MAX_LABELS = 64
MAX_REVIEWER_CHARS = 100
MAX_RECORD_ID_CHARS = 200
# How far in the future an event time may be (clocks of the machines that wrote a log differ a little).
MAX_CLOCK_SKEW_S = 300.0
# A reviewer name in an imported file: letters / digits first, then letters, digits, spaces and . , _ - ' @ (no markup,
# no formula start, no URL punctuation). Names typed in the app are checked by :func:`check_reviewer`.
_IMPORTED_REVIEWER = re.compile(r"[^\W_][\w .,'@-]*", re.UNICODE)
# Whitespace a note may contain; every other control character is refused (they corrupt exports and terminals).
_NOTE_WHITESPACE = frozenset("\t\n\r")

# A record-id check: a set / collection of ids, or a predicate. ``None`` accepts any well-formed id.
RecordIds = Collection[str] | Callable[[str], bool] | None


def _control_chars(text: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Control (Cc), surrogate (Cs) and line / paragraph separator (Zl, Zp) characters in ``text``."""
    return [c for c in text if c not in allowed and unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp")]


def _describe(chars: list[str]) -> str:
    return ", ".join(sorted({f"U+{ord(c):04X}" for c in chars}))


def check_record_id(record_id: object, known: RecordIds = None) -> str:
    """A well-formed record id the store accepts.

    Raises:
        UnknownRecordError: empty, not a string, too long, with control characters, or rejected by ``known``.
    """
    if not isinstance(record_id, str) or not record_id.strip():
        raise UnknownRecordError("no record selected: the record id is empty")
    if len(record_id) > MAX_RECORD_ID_CHARS or _control_chars(record_id):
        raise UnknownRecordError(f"{record_id[:80]!r} is not a valid record id")
    if known is not None:
        ok = known(record_id) if callable(known) else record_id in known
        if not ok:
            raise UnknownRecordError(
                f"unknown record {record_id!r}: only records of the indexed datasets can be annotated"
            )
    return record_id


def check_status(status: object) -> str:
    """One of :data:`STATUSES`; ``"needs second opinion"`` / ``"Needs-Second-Opinion"`` are accepted spellings.

    Raises:
        InvalidStatusError: anything else.
    """
    if isinstance(status, str):
        normal = "_".join(status.strip().lower().replace("-", " ").split())
        if normal in STATUSES:
            return normal
    raise InvalidStatusError(f"unknown status {status!r}; use one of: {', '.join(STATUSES)}")


def check_note(note: object) -> str:
    """A note of at most :data:`MAX_NOTE_CHARS` characters without control characters (tab and newlines allowed).

    ``\\r\\n`` and lone ``\\r`` become ``\\n`` so a note reads back the same after a CSV round trip on any platform.

    Raises:
        InvalidNoteError: not a string, too long, or with control characters.
    """
    if not isinstance(note, str):
        raise InvalidNoteError(f"the note must be text, not {type(note).__name__}")
    note = note.replace("\r\n", "\n").replace("\r", "\n")
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidNoteError(f"the note has {len(note):,} characters; the limit is {MAX_NOTE_CHARS:,}")
    bad = _control_chars(note, _NOTE_WHITESPACE)
    if bad:
        raise InvalidNoteError(f"the note contains control characters ({_describe(bad)}); remove them")
    return note


def check_label(label: object, vocabulary: Collection[str] | None = None) -> str:
    """A label, stripped: 1-100 characters, no control characters; in ``vocabulary`` when one is given.

    Raises:
        InvalidLabelError: otherwise.
    """
    if not isinstance(label, str):
        raise InvalidLabelError(f"a label must be text, not {type(label).__name__}")
    bad = _control_chars(label)
    if bad:
        raise InvalidLabelError(f"label {label!r} contains control characters ({_describe(bad)}); remove them")
    text = label.strip()
    if not text:
        raise InvalidLabelError("a label is empty")
    if len(text) > MAX_LABEL_CHARS:
        raise InvalidLabelError(f"label {text[:40]!r}… has {len(text)} characters; the limit is {MAX_LABEL_CHARS}")
    if vocabulary is not None and text not in vocabulary:
        raise InvalidLabelError(f"label {text!r} is not in the label vocabulary")
    return text


def check_labels(labels: Iterable[str] | str, vocabulary: Collection[str] | None = None) -> list[str]:
    """A sorted, de-duplicated list of valid labels (a single string counts as one label).

    Raises:
        InvalidLabelError: a bad label, or more than :data:`MAX_LABELS`.
    """
    if isinstance(labels, str):
        labels = [labels]
    if labels is None:
        raise InvalidLabelError("labels must be a list of strings, not None")
    out = sorted({check_label(lab, vocabulary) for lab in labels})
    if len(out) > MAX_LABELS:
        raise InvalidLabelError(f"{len(out)} labels; a record can have at most {MAX_LABELS}")
    return out


def check_reviewer(reviewer: object) -> str:
    """A reviewer name, stripped: 1-100 characters, no control characters.

    Raises:
        InvalidReviewerError: empty (or only spaces), too long, or with control characters.
    """
    if not isinstance(reviewer, str) or not reviewer.strip():
        raise InvalidReviewerError(
            "the reviewer name is empty (the app takes it from sign-in; the CLI from --reviewer)"
        )
    bad = _control_chars(reviewer)
    if bad:
        raise InvalidReviewerError(f"the reviewer name contains control characters ({_describe(bad)})")
    name = reviewer.strip()
    if len(name) > MAX_REVIEWER_CHARS:
        raise InvalidReviewerError(f"the reviewer name has {len(name)} characters; the limit is {MAX_REVIEWER_CHARS}")
    return name


def check_changes(changes: dict) -> dict:
    """Validate a ``{field: value}`` mapping as stored in an event's ``before`` / ``after`` (import path)."""
    if not isinstance(changes, dict):
        raise AnnotationError(f"event values must be an object of fields, not {type(changes).__name__}")
    out = {}
    for name, value in changes.items():
        if name == "labels":
            out[name] = check_labels(value)
        elif name == "status":
            out[name] = check_status(value)
        elif name == "note":
            out[name] = check_note(value)
        else:
            raise AnnotationError(f"unknown field {name!r} in an event (fields: labels, status, note)")
    return out


def check_imported_reviewer(reviewer: object) -> str:
    """A reviewer name read from an import file: :func:`check_reviewer`, and plain (see ``_IMPORTED_REVIEWER``).

    Raises:
        InvalidReviewerError: empty, too long, control characters, or markup / punctuation (``<img ...>``, ``=1+1``).
    """
    name = check_reviewer(reviewer)
    if not _IMPORTED_REVIEWER.fullmatch(name):
        raise InvalidReviewerError(
            f"reviewer name {name[:40]!r} is not a plain name (letters, digits, spaces and . , _ - ' @ only)"
        )
    return name


def parse_time(ts: object) -> datetime:
    """An ISO 8601 time with a time zone (``2026-01-02T03:04:05.000006+00:00``).

    Raises:
        AnnotationError: not such a time.
    """
    try:
        when = datetime.fromisoformat(str(ts))
    except ValueError:
        raise AnnotationError(f"{str(ts)[:40]!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise AnnotationError(f"time {str(ts)[:40]!r} has no time zone (write it in UTC, ending in +00:00)")
    return when


def check_time(ts: object, now: datetime | None = None, max_skew_s: float = MAX_CLOCK_SKEW_S) -> str:
    """An ISO 8601 time with a time zone that is not in the future (beyond ``max_skew_s`` of clock skew).

    Raises:
        AnnotationError: malformed, or in the future.
    """
    when = parse_time(ts)
    now = now or datetime.now(UTC)
    if when > now + timedelta(seconds=max_skew_s):
        raise AnnotationError(f"time {ts} is in the future (now is {now.isoformat(timespec='seconds')})")
    return str(ts)


def log_problems(
    events: Sequence[Event],
    *,
    now: datetime | None = None,
    max_skew_s: float = MAX_CLOCK_SKEW_S,
    only: Collection[int] | None = None,
) -> list[str]:
    """Inconsistencies of an event log (events in id order): each one a sentence naming the event.

    Found: an unknown action; a time that is malformed or in the future; an undo that reverts no event, a missing
    event, a later event or another record's event; an event undone twice; a change that is not an undo but
    reverts an event.

    Args:
        events: the whole log (undo targets are looked up in it).
        now: the current time (default: the clock).
        max_skew_s: tolerated clock skew for future times.
        only: report problems of these event ids only (an import checks its new events against the store's log).
    """
    now = now or datetime.now(UTC)
    by_id = {e.event_id: e for e in events}
    undone_by: dict[int, int] = {}
    problems = []
    for e in sorted(events, key=lambda e: e.event_id):
        found = []
        if e.action not in ACTIONS:
            found.append(f"unknown action {e.action!r}")
        try:
            check_time(e.ts, now, max_skew_s)
        except AnnotationError as exc:
            found.append(str(exc))
        if e.action == UNDO:
            target = by_id.get(e.reverts) if e.reverts is not None else None
            if e.reverts is None:
                found.append("undo without the event it reverts")
            elif target is None:
                found.append(f"undo of event #{e.reverts}, which does not exist")
            elif target.event_id >= e.event_id:
                found.append(f"undo of a later event #{target.event_id}")
            elif target.record_id != e.record_id:
                found.append(f"cross-record undo: it reverts event #{target.event_id} of {target.record_id!r}")
            elif target.event_id in undone_by:
                found.append(
                    f"double undo: event #{target.event_id} was already undone by #{undone_by[target.event_id]}"
                )
            if target is not None and target.event_id not in undone_by:
                undone_by[target.event_id] = e.event_id
        elif e.reverts is not None:
            found.append(f"a {e.action!r} event that reverts event #{e.reverts}")
        if only is None or e.event_id in only:
            problems += [f"event #{e.event_id} ({e.record_id!r}): {p}" for p in found]
    return problems


def link_problems(events: Sequence[Event], links: Iterable[tuple[int, int]]) -> list[str]:
    """Inconsistent adjudication links ``(adjudicate event id, resolved event id)``: the first must be an
    ``adjudicate`` event, the second an earlier ``annotate`` event of the same record."""
    by_id = {e.event_id: e for e in events}
    problems = []
    for event_id, resolves in sorted(links):
        adj, target = by_id.get(event_id), by_id.get(resolves)
        if adj is None or adj.action != ADJUDICATE:
            problems.append(f"event #{event_id}: an adjudication link from an event that is not an adjudicate event")
        elif target is None or target.action != ANNOTATE:
            problems.append(
                f"event #{event_id} ({adj.record_id!r}) resolves #{resolves}, which is not an annotate event"
            )
        elif target.record_id != adj.record_id or target.event_id >= adj.event_id:
            problems.append(
                f"event #{event_id} ({adj.record_id!r}) resolves #{resolves} of {target.record_id!r}: "
                "not an earlier review of the same record"
            )
    return problems
