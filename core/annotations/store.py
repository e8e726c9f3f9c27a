"""The annotation store: an append-only SQLite event log (stdlib ``sqlite3``, WAL mode) with derived record states.

Safe under concurrent use from threads and processes:

- one connection per thread (``sqlite3`` connections are not shared), ``busy_timeout`` so writers queue instead of
  failing, WAL so readers never block the writer;
- every write is a ``BEGIN IMMEDIATE`` transaction: the ``before`` values are read under the write lock, so they are
  exactly the state the change was applied to, and the event and the ``record_state`` projection commit together;
- every event has an idempotency key (unique in the database): a retried write with the same key returns the event
  already written instead of adding a second one;
- ``synchronous=FULL``: a committed event survives a crash of the process (and of the machine).

Usage::

    store = AnnotationStore.open_default(known_record_ids={"ptbxl/00001", ...})
    store.annotate("ptbxl/00001", reviewer="ana", status="corrected", labels=["MI"], note="Q waves in III, aVF")
    store.undo_last("ptbxl/00001", reviewer="ana")
    store.get("ptbxl/00001").status   # "unreviewed"
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

from core.annotations.errors import AnnotationError, PermissionDeniedError, UndoError, UnknownEventError
from core.annotations.reviews import (
    Adjudication,
    Disagreement,
    ReviewerState,
    adjudicated_states,
    disagreements,
    reviewer_states,
)
from core.annotations.schema import (
    ADJUDICATE,
    ANNOTATE,
    DEFAULT_STATUS,
    EVENT_COLUMNS,
    FIELDS,
    SCHEMA_VERSION,
    UNDO,
    Event,
    RecordState,
    apply_event,
    dumps,
    event_from_row,
    migrate,
    rebuild_state,
    replay,
    schema_version,
    state_from_row,
    state_row,
    utc_now,
)
from core.annotations.validation import (
    RecordIds,
    check_labels,
    check_note,
    check_record_id,
    check_reviewer,
    check_status,
    link_problems,
    log_problems,
)
from core.paths import data_dir

logger = logging.getLogger(__name__)

DB_NAME = "annotations.sqlite3"
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")


def default_path() -> Path:
    """``core.paths.data_dir() / "annotations" / "annotations.sqlite3"`` (``/data/...`` on Spaces)."""
    return data_dir() / "annotations" / DB_NAME


def new_key() -> str:
    """A fresh idempotency key."""
    return uuid.uuid4().hex


class AnnotationStore:
    """Append-only annotation events in one SQLite file, with the current state of each record.

    Args:
        path: the database file (created, with its folder, and migrated to the current schema on open).
        known_record_ids: which record ids may be annotated: a set of ids or a predicate; ``None`` accepts any
            well-formed id.
        vocabulary: when given, labels must be in it (a closed vocabulary); by default free labels are allowed.
        busy_timeout_s: how long a writer waits for another writer's lock before giving up.
        synchronous: SQLite ``synchronous`` setting; ``FULL`` makes each commit durable.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        known_record_ids: RecordIds = None,
        vocabulary: Collection[str] | None = None,
        busy_timeout_s: float = 30.0,
        synchronous: str = "FULL",
    ):
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {_SYNCHRONOUS}, not {synchronous!r}")
        self.path = Path(path).expanduser()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.known_record_ids = known_record_ids
        self.vocabulary = vocabulary
        self.busy_timeout_s = float(busy_timeout_s)
        self.synchronous = synchronous.upper()
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        # Writers of this process queue on a Python lock (an immediate hand-off) rather than in SQLite's busy
        # handler, which polls with sleeps of up to 100 ms; other processes still serialise through SQLite's lock.
        self._write_lock = threading.Lock()
        conn = self._connect(first=True)
        applied = migrate(conn)
        if applied:
            logger.info("annotation store %s: applied schema migrations %s", self.path, applied)

    @classmethod
    def open_default(cls, **kwargs) -> AnnotationStore:
        """The store in the app's data directory (:func:`default_path`)."""
        return cls(default_path(), **kwargs)

    # ---- connections -----------------------------------------------------------------------------------------------
    def _connect(self, first: bool = False) -> sqlite3.Connection:
        # isolation_level=None: autocommit; transactions are opened explicitly with BEGIN IMMEDIATE.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False)
        if first:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                logger.warning("annotation store %s: WAL mode unavailable (journal_mode=%s)", self.path, mode)
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        self._local.conn, self._local.pid = conn, os.getpid()
        with self._conns_lock:
            self._conns.append(conn)
        return conn

    def _conn(self) -> sqlite3.Connection:
        """This thread's connection (a forked child opens its own)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = self._connect()
        return conn

    def close(self) -> None:
        """Close every connection this store opened (call when no other thread is using the store)."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            with contextlib.suppress(sqlite3.ProgrammingError):
                conn.close()
        self._local = threading.local()

    def __enter__(self) -> AnnotationStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- writes ----------------------------------------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One write transaction (``BEGIN IMMEDIATE``): everything in it commits together, or nothing does.

        Example::

            with store.transaction() as tx:
                tx.annotate("ludb/1", reviewer="ana", status="confirmed")
                tx.annotate("ludb/2", reviewer="ana", status="confirmed")
        """
        if getattr(self._local, "in_transaction", False):
            raise RuntimeError("annotation transactions do not nest")
        conn = self._conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            self._local.in_transaction = True
            try:
                yield Transaction(self, conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            else:
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                self._local.in_transaction = False

    def annotate(
        self,
        record_id: str,
        *,
        reviewer: str,
        labels: Iterable[str] | None = None,
        status: str | None = None,
        note: str | None = None,
        key: str | None = None,
    ) -> Event | None:
        """Set any of a record's labels (``[]`` clears them), status and note; one event for the whole change.

        Args:
            record_id: the record.
            reviewer: who makes the change.
            labels: the complete new label list (``None``: unchanged).
            status: new status (``None``: unchanged).
            note: new note (``None``: unchanged; ``""`` clears it).
            key: idempotency key; a second call with the same key writes nothing and returns the first event.

        When nothing changes for the record but the values differ from this reviewer's own current review (see
        :mod:`core.annotations.reviews`; e.g. a second reviewer agreeing with the first), an event with those
        fields is still written (``before == after``): it is their independent review, counted for agreement.

        Returns:
            The event written (or the earlier event with the same ``key``); ``None`` when nothing changes, neither
            for the record nor for this reviewer's review.

        Raises:
            AnnotationError: a bad value (see :mod:`core.annotations.validation`); nothing is written.
        """
        changes = self._validate(record_id, reviewer, labels, status, note)  # before the lock: fail fast
        with self.transaction() as tx:
            return tx._annotate(record_id, reviewer.strip(), changes, key, review=True)

    def undo(
        self,
        event_id: int,
        *,
        reviewer: str,
        key: str | None = None,
        force: bool = False,
        record_id: str | None = None,
        only_by: str | None = None,
    ) -> Event:
        """Revert one event by appending a compensating event (``action="undo"``, ``reverts=event_id``).

        Args:
            event_id: the event to revert.
            reviewer: who undoes it.
            key: idempotency key.
            force: undo even when a later change touched the same fields.
            record_id: when given, the event must belong to this record (checked under the write lock).
            only_by: when given, the event must have been made by this reviewer (an annotator undoes only their own
                changes; checked under the write lock).

        Raises:
            UnknownEventError: no such event.
            PermissionDeniedError: the event was made by someone other than ``only_by``.
            UndoError: it belongs to another record than ``record_id``, it was undone already, or (unless
                ``force``) a later change touched the same fields. Nothing is written.
        """
        check_reviewer(reviewer)
        with self.transaction() as tx:
            return tx.undo(event_id, reviewer=reviewer, key=key, force=force, record_id=record_id, only_by=only_by)

    def undo_last(self, record_id: str, *, reviewer: str, key: str | None = None, only_by: str | None = None) -> Event:
        """Undo the record's latest change that is not an undo and has not been undone (repeat to step back);
        with ``only_by``, the latest such change made by that reviewer.

        Raises:
            UndoError: the record has nothing left to undo (by ``only_by``).
        """
        check_reviewer(reviewer)
        with self.transaction() as tx:
            return tx.undo_last(record_id, reviewer=reviewer, key=key, only_by=only_by)

    def adjudicate(
        self,
        record_id: str,
        labels: Iterable[str],
        *,
        adjudicator: str,
        resolves: Iterable[int] | None = None,
        key: str | None = None,
    ) -> Event:
        """Settle reviewers' disagreement on a record: one ``adjudicate`` event that sets the record's labels and
        links the reviews (annotate events) it resolves.

        Args:
            record_id: the record.
            labels: the adjudicated label list.
            adjudicator: who decides.
            resolves: ids of the reviews it resolves; default: every reviewer's current review of the record.
            key: idempotency key.

        Raises:
            AnnotationError: a bad value; a linked event that is missing, not an annotate event, of another
                record, or undone; nothing to resolve. Nothing is written.
        """
        check_record_id(record_id, self.known_record_ids)
        adjudicator = check_reviewer(adjudicator)
        labels = check_labels(labels, self.vocabulary)
        resolves = None if resolves is None else list(resolves)
        with self.transaction() as tx:
            return tx.adjudicate(record_id, labels, adjudicator=adjudicator, resolves=resolves, key=key)

    def _validate(self, record_id, reviewer, labels, status, note) -> dict:
        check_record_id(record_id, self.known_record_ids)
        check_reviewer(reviewer)
        changes = {}
        if labels is not None:
            changes["labels"] = check_labels(labels, self.vocabulary)
        if status is not None:
            changes["status"] = check_status(status)
        if note is not None:
            changes["note"] = check_note(note)
        return changes

    # ---- reads -----------------------------------------------------------------------------------------------------
    def get(self, record_id: str) -> RecordState:
        """Current state of a record (the default, unreviewed state when it has no events)."""
        row = self._conn().execute("SELECT * FROM record_state WHERE record_id = ?", (record_id,)).fetchone()
        return state_from_row(row) if row else RecordState(record_id)

    def states(self) -> dict[str, RecordState]:
        """Current state of every record that has events."""
        rows = self._conn().execute("SELECT * FROM record_state ORDER BY record_id").fetchall()
        return {r[0]: state_from_row(r) for r in rows}

    def history(self, record_id: str | None = None, *, after_id: int = 0, limit: int | None = None) -> list[Event]:
        """Events in log order (of one record, or all), after event id ``after_id``."""
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE event_id > ?"
        params: list = [after_id]
        if record_id is not None:
            sql += " AND record_id = ?"
            params.append(record_id)
        sql += " ORDER BY event_id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return [event_from_row(r) for r in self._conn().execute(sql, params).fetchall()]

    def reviewer_states(self, record_id: str | None = None) -> dict[tuple[str, str], ReviewerState]:
        """``(record_id, reviewer)`` -> that reviewer's current review (of one record, or all), derived from the log
        (see :mod:`core.annotations.reviews`)."""
        return reviewer_states(self.history(record_id))

    def event(self, event_id: int) -> Event:
        """One event by id (``UnknownEventError`` if absent)."""
        return _event(self._conn(), event_id)

    def count_events(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def undone_ids(self) -> dict[int, int]:
        """Reverted event id -> id of the undo event that reverted it."""
        rows = self._conn().execute("SELECT reverts, event_id FROM events WHERE reverts IS NOT NULL").fetchall()
        return {int(a): int(b) for a, b in rows}

    def adjudicated(self) -> dict[str, Adjudication]:
        """record id -> its current adjudicated labels (records with a live ``adjudicate`` event)."""
        return adjudicated_states(self.history(), self.adjudication_links())

    def disagreements(self, include_resolved: bool = False) -> list[Disagreement]:
        """The disagreement queue: records whose reviewers' current label sets differ and that have not been
        adjudicated since (all of them when ``include_resolved``), by record id."""
        events = self.history()
        adjudicated = adjudicated_states(events, self.adjudication_links())
        return disagreements(reviewer_states(events), adjudicated, include_resolved=include_resolved)

    def adjudication_links(self) -> dict[int, list[int]]:
        """Adjudicate event id -> ids of the reviews it resolves."""
        rows = self._conn().execute("SELECT event_id, resolves FROM adjudication_links ORDER BY 1, 2").fetchall()
        out: dict[int, list[int]] = {}
        for event_id, resolves in rows:
            out.setdefault(int(event_id), []).append(int(resolves))
        return out

    @property
    def schema_version(self) -> int:
        return schema_version(self._conn())

    def check(self) -> list[str]:
        """Problems found (empty when healthy): SQLite ``integrity_check``; the log's own consistency (undo links
        to a missing event, to a later one or to another record's, events undone twice, times in the future or
        malformed: :func:`core.annotations.validation.log_problems`); the projection vs a replay of the log."""
        conn = self._conn()
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall() if r[0] != "ok"]
        if self.schema_version != SCHEMA_VERSION:
            problems.append(f"schema version {self.schema_version}, expected {SCHEMA_VERSION}")
        events = self.history()
        problems += log_problems(events)
        links = self.adjudication_links()
        problems += link_problems(events, [(a, r) for a, rs in links.items() for r in rs])
        problems += [
            f"adjudicate event #{e.event_id} resolves no review"
            for e in events
            if e.action == ADJUDICATE and not links.get(e.event_id)
        ]
        replayed = replay(events)
        stored = self.states()
        for record_id in sorted(set(replayed) | set(stored)):
            if replayed.get(record_id) != stored.get(record_id):
                problems.append(f"record_state of {record_id!r} differs from the replayed log")
        return problems

    def rebuild(self) -> int:
        """Recompute every record's state from the log; returns the number of records."""
        with self.transaction() as tx:
            return rebuild_state(tx.conn)


class Transaction:
    """Writes inside one :meth:`AnnotationStore.transaction` (same validation as the store's methods)."""

    def __init__(self, store: AnnotationStore, conn: sqlite3.Connection):
        self.store = store
        self.conn = conn

    def annotate(
        self,
        record_id: str,
        *,
        reviewer: str,
        labels: Iterable[str] | None = None,
        status: str | None = None,
        note: str | None = None,
        key: str | None = None,
        imported_from: dict | None = None,
    ) -> Event | None:
        """See :meth:`AnnotationStore.annotate` (``imported_from`` marks an event written by an import)."""
        changes = self.store._validate(record_id, reviewer, labels, status, note)
        return self._annotate(record_id, reviewer.strip(), changes, key, imported_from)

    def _annotate(
        self,
        record_id: str,
        reviewer: str,
        changes: dict,
        key: str | None,
        imported_from: dict | None = None,
        review: bool = False,
    ) -> Event | None:
        if key is not None:
            existing = self._by_key(key, record_id)
            if existing is not None:
                return existing
        current = self.state(record_id).values()
        after = {k: v for k, v in changes.items() if current[k] != v}
        if review and not after and changes and self.state(record_id).n_events:
            # nothing new for the record; maybe new for this reviewer (their own, independent review)
            own = reviewer_states(self.history(record_id)).get((record_id, reviewer))
            seen = None if own is None else {"labels": list(own.labels), "status": own.status, "note": own.note}
            after = {k: v for k, v in changes.items() if seen is None or seen[k] != v}
        if not after:
            return None
        before = {k: current[k] for k in after}
        return self.append(record_id, reviewer, ANNOTATE, before, after, key=key, imported_from=imported_from)

    def undo(
        self,
        event_id: int,
        *,
        reviewer: str,
        key: str | None = None,
        force: bool = False,
        record_id: str | None = None,
        only_by: str | None = None,
    ) -> Event:
        """See :meth:`AnnotationStore.undo`."""
        reviewer = check_reviewer(reviewer)
        target = _event(self.conn, event_id)
        if only_by is not None and target.reviewer != only_by:
            raise PermissionDeniedError(
                f"change #{target.event_id} was made by {target.reviewer}: only an admin can undo another "
                "reviewer's change"
            )
        # Every precondition is checked before anything is written (the idempotent retry included: a key reused
        # for another record's event is refused, not answered with that event).
        if record_id is not None and target.record_id != record_id:
            raise UndoError(
                f"event #{target.event_id} belongs to {target.record_id!r}, not {record_id!r}: nothing was undone"
            )
        if key is not None:
            existing = self._by_key(key, target.record_id)
            if existing is not None:
                return existing
        done = self.conn.execute("SELECT event_id FROM events WHERE reverts = ?", (target.event_id,)).fetchone()
        if done:
            raise UndoError(f"event #{target.event_id} was already undone by event #{done[0]}")
        current = self.state(target.record_id).values()
        changed = [f for f in FIELDS if f in target.after and current[f] != target.after[f]]
        if changed and not force:
            raise UndoError(
                f"cannot undo event #{target.event_id} of {target.record_id!r}: {', '.join(changed)} changed after "
                "it; undo the later changes first"
            )
        fields = [f for f in FIELDS if f in target.after]
        before = {f: current[f] for f in fields}
        after = {f: target.before.get(f, RecordState(target.record_id).values()[f]) for f in fields}
        return self.append(target.record_id, reviewer, UNDO, before, after, reverts=target.event_id, key=key)

    def adjudicate(
        self,
        record_id: str,
        labels: list[str],
        *,
        adjudicator: str,
        resolves: list[int] | None = None,
        key: str | None = None,
    ) -> Event:
        """See :meth:`AnnotationStore.adjudicate` (every link is checked before anything is written)."""
        if key is not None:
            existing = self._by_key(key, record_id)
            if existing is not None:
                return existing
        undone = {int(r) for (r,) in self.conn.execute("SELECT reverts FROM events WHERE reverts IS NOT NULL")}
        if resolves is None:
            resolves = [s.event_id for s in reviewer_states(self.history(record_id)).values()]
            if not resolves:
                raise AnnotationError(f"record {record_id!r} has no reviews to adjudicate")
        if not resolves:
            raise AnnotationError("an adjudication must resolve at least one review (event ids of annotate events)")
        ids = []
        for event_id in resolves:
            target = _event(self.conn, event_id)
            if target.record_id != record_id:
                raise AnnotationError(
                    f"event #{target.event_id} belongs to {target.record_id!r}, not {record_id!r}: nothing was written"
                )
            if target.action != ANNOTATE:
                raise AnnotationError(f"event #{target.event_id} is an {target.action!r} event, not a review")
            if target.event_id in undone:
                raise AnnotationError(f"event #{target.event_id} was undone: it is no longer a review to resolve")
            ids.append(target.event_id)
        current = self.state(record_id).values()
        event = self.append(
            record_id, adjudicator, ADJUDICATE, {"labels": current["labels"]}, {"labels": labels}, key=key
        )
        self.conn.executemany(
            "INSERT INTO adjudication_links (event_id, resolves) VALUES (?, ?)",
            [(event.event_id, i) for i in sorted(set(ids))],
        )
        return event

    def undo_last(self, record_id: str, *, reviewer: str, key: str | None = None, only_by: str | None = None) -> Event:
        """See :meth:`AnnotationStore.undo_last`."""
        if key is not None:
            existing = self._by_key(key, record_id)
            if existing is not None:
                return existing
        sql = (
            "SELECT e.event_id FROM events e WHERE e.record_id = ? AND e.action != ? AND NOT EXISTS "
            "(SELECT 1 FROM events u WHERE u.reverts = e.event_id)"
        )
        params: list = [record_id, UNDO]
        if only_by is not None:
            sql += " AND e.reviewer = ?"
            params.append(only_by)
        row = self.conn.execute(sql + " ORDER BY e.event_id DESC LIMIT 1", params).fetchone()
        if row is None:
            mine = f" made by {only_by}" if only_by is not None else ""
            raise UndoError(f"record {record_id!r} has no change{mine} left to undo")
        return self.undo(int(row[0]), reviewer=reviewer, key=key, record_id=record_id, only_by=only_by)

    def history(self, record_id: str) -> list[Event]:
        """The record's events in log order (read inside this transaction)."""
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE record_id = ? ORDER BY event_id"
        return [event_from_row(r) for r in self.conn.execute(sql, (record_id,)).fetchall()]

    def state(self, record_id: str) -> RecordState:
        row = self.conn.execute("SELECT * FROM record_state WHERE record_id = ?", (record_id,)).fetchone()
        return state_from_row(row) if row else RecordState(record_id)

    def append(
        self,
        record_id: str,
        reviewer: str,
        action: str,
        before: dict,
        after: dict,
        *,
        reverts: int | None = None,
        key: str | None = None,
        ts: str | None = None,
        imported_from: dict | None = None,
    ) -> Event:
        """Append one (already validated) event and update the record's projected state."""
        key = key or new_key()
        ts = ts or utc_now()
        cur = self.conn.execute(
            "INSERT INTO events (event_key, record_id, ts, reviewer, action, before, after, reverts, imported_from) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                key,
                record_id,
                ts,
                reviewer,
                action,
                dumps(before),
                dumps(after),
                reverts,
                None if imported_from is None else dumps(imported_from),
            ),
        )
        event = Event(int(cur.lastrowid), key, record_id, ts, reviewer, action, before, after, reverts, imported_from)
        self.conn.execute(
            "INSERT OR REPLACE INTO record_state VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            state_row(apply_event(self.state(record_id), event)),
        )
        return event

    def _by_key(self, key: str, record_id: str | None = None) -> Event | None:
        row = self.conn.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE event_key = ?", (key,)).fetchone()
        if row is None:
            return None
        event = event_from_row(row)
        if record_id is not None and event.record_id != record_id:
            raise AnnotationError(f"event key {key!r} was already used for record {event.record_id!r}")
        return event

    def event_by_key(self, key: str) -> Event | None:
        return self._by_key(key)


def _event(conn: sqlite3.Connection, event_id: int) -> Event:
    try:
        event_id = int(event_id)
    except (TypeError, ValueError):
        raise UnknownEventError(f"{event_id!r} is not an event id") from None
    row = conn.execute(f"SELECT {EVENT_COLUMNS} FROM events WHERE event_id = ?", (event_id,)).fetchone()
    if row is None:
        raise UnknownEventError(f"no annotation event #{event_id}")
    return event_from_row(row)


def filter_records(
    store: AnnotationStore,
    status: str | None = None,
    label: str | None = None,
    record_ids: Iterable[str] | None = None,
) -> set[str]:
    """Record ids whose current annotation has ``status`` and carries ``label`` (``None`` = any).

    Args:
        store: the annotation store.
        status: keep records with this status (``"unreviewed"`` includes records never annotated when
            ``record_ids`` lists the universe).
        label: keep records whose annotated labels include this one.
        record_ids: all candidate records (e.g. the Browse table's); default: the records with events.
    """
    status = check_status(status) if status else None
    sql, params = "SELECT record_id, status FROM record_state WHERE 1", []
    if label is not None:
        sql += " AND EXISTS (SELECT 1 FROM json_each(record_state.labels) WHERE json_each.value = ?)"
        params.append(label)
    annotated = dict(store._conn().execute(sql, params).fetchall())
    matching = {r for r, s in annotated.items() if status is None or s == status}
    if record_ids is None:
        return matching
    universe = set(record_ids)
    out = matching & universe
    if status == DEFAULT_STATUS and label is None:
        # never-annotated records of the universe are unreviewed too
        all_annotated = {r for (r,) in store._conn().execute("SELECT record_id FROM record_state").fetchall()}
        out |= universe - all_annotated
    return out
