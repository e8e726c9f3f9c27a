"""What an annotation is: statuses, the event and state types, the SQLite schema and its migrations.

The store is an append-only event log. An event records one change to one record, by whom and when, as the values
of the changed fields before and after (``{"status": "unreviewed"} -> {"status": "confirmed", "labels": [...]}``).
The current state of a record is the fold of its events' ``after`` values in event-id order (:func:`replay`); the
``record_state`` table is a projection of that fold kept in the same transaction as each append, and can be
rebuilt from the log at any time.

Schema versions (the ``schema_version`` table holds one row per applied migration; migrations run in order, in a
single ``BEGIN IMMEDIATE`` transaction, when a store opens the database):

1. ``events`` (id, record id, time, reviewer, action, before/after JSON) — the initial layout.
2. an idempotency key per event (``event_key``, unique; v1 rows get ``"v1-<id>"``), ``reverts`` (the event an undo
   compensates), the ``record_state`` projection (rebuilt from the v1 events), and triggers that refuse any
   ``UPDATE`` or ``DELETE`` of an event.
3. ``imported_from`` (JSON, ``NULL`` for events written here): where an imported event came from (the file, who
   imported it and when, and the reviewer and time the file claimed when they were not kept).
4. ``adjudication_links`` (adjudicate event id, id of an annotate event it resolves), append-only like the log: an
   ``adjudicate`` event sets the record's labels and links the reviews it settles.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from core.annotations.errors import SchemaVersionError

# Review statuses, in the order the app shows them.
STATUSES: tuple[str, ...] = ("unreviewed", "confirmed", "corrected", "needs_second_opinion")
STATUS_TITLES: dict[str, str] = {
    "unreviewed": "unreviewed",
    "confirmed": "confirmed",
    "corrected": "corrected",
    "needs_second_opinion": "needs second opinion",
}
DEFAULT_STATUS = "unreviewed"
# The fields an event can change.
FIELDS: tuple[str, ...] = ("labels", "status", "note")
# Event actions.
ANNOTATE = "annotate"
UNDO = "undo"
ADJUDICATE = "adjudicate"
ACTIONS: tuple[str, ...] = (ANNOTATE, UNDO, ADJUDICATE)


def utc_now() -> str:
    """Current UTC time as ISO 8601 with microseconds (``2026-11-23T14:24:42.123456+00:00``)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class Event:
    """One appended change.

    Attributes:
        event_id: position in the log (1, 2, ...; the order states are derived in).
        event_key: idempotency key, unique in the store (a retried write with the same key is not written twice).
        record_id: the annotated record.
        ts: UTC time of the change (ISO 8601).
        reviewer: who made it.
        action: ``"annotate"``, ``"undo"`` or ``"adjudicate"``.
        before: changed fields -> value before (``labels`` is a sorted list).
        after: changed fields -> value after.
        reverts: for an undo, the id of the event it compensates.
        imported_from: ``None`` for an event written here; for an imported one, ``{"source": file name, "by":
            importing reviewer, "at": import time, "as_admin": bool}`` plus ``"claimed_reviewer"`` /
            ``"claimed_ts"`` when the file's reviewer and time were replaced (a non-admin import).
    """

    event_id: int
    event_key: str
    record_id: str
    ts: str
    reviewer: str
    action: str
    before: dict
    after: dict
    reverts: int | None = None
    imported_from: dict | None = None

    def to_dict(self) -> dict:
        return {
            "event_id": self.event_id,
            "event_key": self.event_key,
            "record_id": self.record_id,
            "ts": self.ts,
            "reviewer": self.reviewer,
            "action": self.action,
            "before": self.before,
            "after": self.after,
            "reverts": self.reverts,
            "imported_from": self.imported_from,
        }

    def changes(self) -> str:
        """``"labels: [] → [MI]; status: unreviewed → confirmed"``."""
        return "; ".join(
            f"{name}: {_short(self.before.get(name))} → {_short(self.after[name])}"
            for name in FIELDS
            if name in self.after
        )

    def describe(self) -> str:
        """:meth:`changes`, prefixed with ``"undo #<id>: "`` for an undo (for history tables)."""
        return f"undo #{self.reverts}: {self.changes()}" if self.action == UNDO else self.changes()


def _short(value, n: int = 60) -> str:
    if isinstance(value, list | tuple):
        value = "[" + ", ".join(value) + "]"
    text = " ".join(str("" if value is None else value).split())
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass(frozen=True)
class RecordState:
    """Current annotation of one record (the fold of its events).

    Attributes:
        record_id: the record.
        labels: annotated labels, sorted.
        status: one of :data:`STATUSES`.
        note: free text.
        reviewer: who made the last change ("" when never annotated).
        updated_at: time of the last change ("" when never annotated).
        last_event_id: id of the last event (0 when never annotated).
        n_events: number of events of the record.
    """

    record_id: str
    labels: tuple[str, ...] = ()
    status: str = DEFAULT_STATUS
    note: str = ""
    reviewer: str = ""
    updated_at: str = ""
    last_event_id: int = 0
    n_events: int = 0

    def values(self) -> dict:
        """The annotated fields as plain JSON values."""
        return {"labels": list(self.labels), "status": self.status, "note": self.note}

    def to_dict(self) -> dict:
        return {
            "record_id": self.record_id,
            **self.values(),
            "reviewer": self.reviewer,
            "updated_at": self.updated_at,
            "last_event_id": self.last_event_id,
            "n_events": self.n_events,
        }


def apply_event(state: RecordState, event: Event) -> RecordState:
    """The state after ``event`` (only the fields in ``event.after`` change)."""
    after = event.after
    return RecordState(
        record_id=state.record_id,
        labels=tuple(after["labels"]) if "labels" in after else state.labels,
        status=after.get("status", state.status),
        note=after.get("note", state.note),
        reviewer=event.reviewer,
        updated_at=event.ts,
        last_event_id=event.event_id,
        n_events=state.n_events + 1,
    )


def replay(events: Iterable[Event]) -> dict[str, RecordState]:
    """Current state of every record that has events, from the log (events in id order)."""
    states: dict[str, RecordState] = {}
    for event in sorted(events, key=lambda e: e.event_id):
        state = states.get(event.record_id) or RecordState(event.record_id)
        states[event.record_id] = apply_event(state, event)
    return states


# ---- SQLite ------------------------------------------------------------------------------------------------------
EVENT_COLUMNS = "event_id, event_key, record_id, ts, reviewer, action, before, after, reverts, imported_from"


def event_from_row(row: tuple) -> Event:
    """An :class:`Event` from a row selected as :data:`EVENT_COLUMNS`."""
    event_id, key, record_id, ts, reviewer, action, before, after, reverts, imported_from = row
    return Event(
        int(event_id),
        key,
        record_id,
        ts,
        reviewer,
        action,
        json.loads(before),
        json.loads(after),
        None if reverts is None else int(reverts),
        None if imported_from is None else json.loads(imported_from),
    )


def dumps(value: Mapping) -> str:
    """Canonical JSON for before/after columns (sorted keys, real unicode)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _v1(conn: sqlite3.Connection) -> None:
    conn.execute("""
        CREATE TABLE events (
            event_id  INTEGER PRIMARY KEY AUTOINCREMENT,
            record_id TEXT NOT NULL,
            ts        TEXT NOT NULL,
            reviewer  TEXT NOT NULL,
            action    TEXT NOT NULL,
            before    TEXT NOT NULL,
            after     TEXT NOT NULL
        )""")
    conn.execute("CREATE INDEX events_by_record ON events(record_id, event_id)")


def _v2(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE events ADD COLUMN event_key TEXT")
    conn.execute("ALTER TABLE events ADD COLUMN reverts INTEGER REFERENCES events(event_id)")
    conn.execute("UPDATE events SET event_key = 'v1-' || event_id WHERE event_key IS NULL")
    conn.execute("CREATE UNIQUE INDEX events_by_key ON events(event_key)")
    conn.execute("CREATE INDEX events_by_reverts ON events(reverts) WHERE reverts IS NOT NULL")
    conn.execute("""
        CREATE TABLE record_state (
            record_id     TEXT PRIMARY KEY,
            labels        TEXT NOT NULL,
            status        TEXT NOT NULL,
            note          TEXT NOT NULL,
            reviewer      TEXT NOT NULL,
            updated_at    TEXT NOT NULL,
            last_event_id INTEGER NOT NULL,
            n_events      INTEGER NOT NULL
        )""")
    conn.execute("CREATE INDEX record_state_by_status ON record_state(status)")
    # The log is append-only: the database itself refuses to change or delete an event.
    conn.execute(
        "CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events "
        "BEGIN SELECT RAISE(ABORT, 'annotation events are append-only'); END"
    )
    conn.execute(
        "CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events "
        "BEGIN SELECT RAISE(ABORT, 'annotation events are append-only'); END"
    )
    rebuild_state(conn, columns=EVENT_COLUMNS.replace("imported_from", "NULL"))  # the v3 column is not there yet


def _v3(conn: sqlite3.Connection) -> None:
    # Adding a column is not an UPDATE: the append-only triggers stay in force, and existing events read NULL.
    conn.execute("ALTER TABLE events ADD COLUMN imported_from TEXT")


def _v4(conn: sqlite3.Connection) -> None:
    # The action column is free text (no CHECK constraint), so "adjudicate" needs no change to ``events``.
    conn.execute("""
        CREATE TABLE adjudication_links (
            event_id INTEGER NOT NULL REFERENCES events(event_id),
            resolves INTEGER NOT NULL REFERENCES events(event_id),
            PRIMARY KEY (event_id, resolves)
        )""")
    conn.execute("CREATE INDEX adjudication_links_by_resolves ON adjudication_links(resolves)")
    conn.execute(
        "CREATE TRIGGER adjudication_links_append_only_update BEFORE UPDATE ON adjudication_links "
        "BEGIN SELECT RAISE(ABORT, 'adjudication links are append-only'); END"
    )
    conn.execute(
        "CREATE TRIGGER adjudication_links_append_only_delete BEFORE DELETE ON adjudication_links "
        "BEGIN SELECT RAISE(ABORT, 'adjudication links are append-only'); END"
    )


# version -> (description, function applying it inside an open transaction)
MIGRATIONS: dict[int, tuple[str, Callable[[sqlite3.Connection], None]]] = {
    1: ("events log", _v1),
    2: ("event keys, undo links, record_state projection, append-only triggers", _v2),
    3: ("imported_from: provenance of imported events", _v3),
    4: ("adjudication_links: the reviews an adjudicate event resolves", _v4),
}
SCHEMA_VERSION = max(MIGRATIONS)


def rebuild_state(conn: sqlite3.Connection, columns: str = EVENT_COLUMNS) -> int:
    """Recompute the ``record_state`` table from the event log (inside the caller's transaction).

    Args:
        conn: the connection, inside a write transaction.
        columns: the select list giving :data:`EVENT_COLUMNS` (a migration of an older layout fills in ``NULL``s).

    Returns:
        The number of records with events.
    """
    rows = conn.execute(f"SELECT {columns} FROM events ORDER BY event_id").fetchall()
    states = replay(event_from_row(r) for r in rows)
    conn.execute("DELETE FROM record_state")
    rows = [state_row(s) for s in states.values()]
    conn.executemany("INSERT INTO record_state VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(states)


def state_row(state: RecordState) -> tuple:
    """A ``record_state`` row."""
    return (
        state.record_id,
        json.dumps(list(state.labels), ensure_ascii=False),
        state.status,
        state.note,
        state.reviewer,
        state.updated_at,
        state.last_event_id,
        state.n_events,
    )


def state_from_row(row: tuple) -> RecordState:
    record_id, labels, status, note, reviewer, updated_at, last_event_id, n_events = row
    return RecordState(
        record_id, tuple(json.loads(labels)), status, note, reviewer, updated_at, int(last_event_id), int(n_events)
    )


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's schema version (0 for an empty database)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> list[int]:
    """Bring the database to schema version ``target`` in one ``BEGIN IMMEDIATE`` transaction.

    Two processes opening a new database at once are safe: the second waits for the first's write lock, then finds
    nothing left to do. ``conn`` must be in autocommit mode (``isolation_level=None``).

    Returns:
        The versions applied (empty when the database was up to date).

    Raises:
        SchemaVersionError: the database is newer than this code.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = schema_version(conn)
        if current > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the annotation database has schema version {current}, newer than this code's {SCHEMA_VERSION}; "
                "update the code (or open a copy of the database with the version that wrote it)"
            )
        applied = []
        for version in range(current + 1, target + 1):
            description, apply = MIGRATIONS[version]
            apply(conn)
            conn.execute("INSERT INTO schema_version VALUES (?, ?, ?)", (version, description, utc_now()))
            applied.append(version)
        conn.execute("COMMIT")
        return applied
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def default_state(record_id: str) -> RecordState:
    """The state of a record that has never been annotated."""
    return RecordState(record_id)


def status_title(status: str) -> str:
    """Display text of a status (``"needs_second_opinion"`` -> ``"needs second opinion"``)."""
    return STATUS_TITLES.get(status, status)


__all__ = [
    "ACTIONS",
    "ADJUDICATE",
    "ANNOTATE",
    "DEFAULT_STATUS",
    "FIELDS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "STATUSES",
    "STATUS_TITLES",
    "UNDO",
    "Event",
    "RecordState",
    "apply_event",
    "default_state",
    "migrate",
    "rebuild_state",
    "replay",
    "schema_version",
    "status_title",
    "utc_now",
]
