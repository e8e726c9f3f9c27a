"""Export and import of annotations as CSV or JSON: current record states, and the full event log.

Files (the format follows the suffix, ``.csv`` or ``.json``):

- records: one row per annotated record: ``record_id, status, labels, note, reviewer, updated_at, n_events,
  last_event_id``.
  In CSV, ``labels`` is a JSON array (``["MI", "atrial flutter, typical"]``), since labels may contain commas.
- events: one row per event: ``event_id, event_key, record_id, ts, reviewer, action, before, after, reverts,
  reverts_key, imported_from, resolves_keys``. In CSV, ``before`` / ``after`` / ``imported_from`` are JSON objects
  and ``resolves_keys`` (the reviews an ``adjudicate`` event resolves, by event key) a JSON array.
- reviewers (export only): one row per record and reviewer, that reviewer's current review: ``record_id, reviewer,
  labels, status, note, event_id, ts`` (see :mod:`core.annotations.reviews`).
- adjudicated (export only): one row per adjudicated record: ``record_id, labels, adjudicator, event_id, ts,
  resolves`` (``resolves``: the review event ids; a JSON array in CSV).

JSON files are ``{"format": "ecg-annotations/records" | "ecg-annotations/events", "version": 1, "exported_at": ...,
"records" | "events": [...]}``. CSV is UTF-8 (a BOM, as Excel writes it, is accepted on import), quoted by the
``csv`` module, so notes with commas, quotes, newlines and any unicode read back unchanged. A note or reviewer cell
that a spreadsheet would run as a formula (it begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) is
written with a leading ``'`` (OWASP's advice against CSV injection), and so is one that begins with ``'`` followed by
one of those or another ``'``; import removes exactly that ``'``, so the round trip stays exact.

Imports are validated whole, then applied in one transaction, or not at all; an error names the file and the row.
Every event an import writes is marked with ``imported_from`` (the file, who imported it, when).

- Importing records sets each record's labels / status / note through ordinary ``annotate`` events by the importing
  reviewer; rows equal to the current state write nothing, so importing the same file twice is harmless.
- Importing events appends them with their original keys; events whose key is already in the store are skipped (so
  a log can be merged into a store that already holds part of it). They keep their reviewers and times only when
  an admin imports them (``as_admin=True``); otherwise they are the importing reviewer's, at the import time. A file
  whose events would make the log inconsistent (an undo of another record's event, an event undone twice, an undo
  of an event that is nowhere, a time in the future, a reviewer name with markup) is refused whole.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.annotations.errors import AnnotationError, ImportFormatError
from core.annotations.schema import ACTIONS, ADJUDICATE, UNDO, Event, RecordState, utc_now
from core.annotations.store import AnnotationStore
from core.annotations.validation import (
    check_changes,
    check_imported_reviewer,
    check_record_id,
    check_reviewer,
    check_time,
    link_problems,
    log_problems,
)

FORMAT_VERSION = 1
RECORDS_FORMAT = "ecg-annotations/records"
EVENTS_FORMAT = "ecg-annotations/events"
RECORD_COLUMNS = ["record_id", "status", "labels", "note", "reviewer", "updated_at", "n_events", "last_event_id"]
EVENT_COLUMNS = [
    "event_id",
    "event_key",
    "record_id",
    "ts",
    "reviewer",
    "action",
    "before",
    "after",
    "reverts",
    "reverts_key",
    "imported_from",
    "resolves_keys",
]
FORMATS = ("csv", "json")
KINDS = ("records", "events")
# Export only (not importable): each reviewer's current review per record, and the adjudicated labels per record.
REVIEW_KINDS = ("reviewers", "adjudicated")
REVIEWERS_FORMAT = "ecg-annotations/reviewers"
ADJUDICATED_FORMAT = "ecg-annotations/adjudicated"
REVIEWER_COLUMNS = ["record_id", "reviewer", "labels", "status", "note", "event_id", "ts"]
ADJUDICATED_COLUMNS = ["record_id", "labels", "adjudicator", "event_id", "ts", "resolves"]


@dataclass(frozen=True)
class ImportReport:
    """What an import did.

    Attributes:
        kind: ``"records"`` or ``"events"``.
        rows: rows read from the file.
        written: events appended.
        skipped: rows that changed nothing (records equal to the current state, events already present).
    """

    kind: str
    rows: int
    written: int
    skipped: int

    def __str__(self) -> str:
        def n(k: int, word: str) -> str:
            return f"{k} {word}{'' if k == 1 else 's'}"

        return (
            f"{n(self.rows, self.kind[:-1] + ' row')} read: {n(self.written, 'event')} written, "
            f"{self.skipped} unchanged or already present"
        )


def _format(path: Path, fmt: str | None) -> str:
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ImportFormatError(f"{path}: unknown format {fmt!r}; use a .csv or .json file")
    return fmt


def _json_cell(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


# Free-text CSV columns, and what makes a spreadsheet read a cell as a formula.
_TEXT_COLUMNS = ("note", "reviewer")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = "'"


def _formula_safe(value: str | None) -> str | None:
    """``value`` with a leading ``'`` when a spreadsheet would evaluate it (or when it already starts with the
    escape, so that :func:`_formula_unsafe` can tell the two apart)."""
    if not value:
        return value
    if value.startswith(_FORMULA_START) or (value[0] == _QUOTE and value[1:2] in (*_FORMULA_START, _QUOTE)):
        return _QUOTE + value
    return value


def _formula_unsafe(value: str | None) -> str | None:
    """The inverse of :func:`_formula_safe` (hand-written cells such as ``'quoted'`` are left as they are)."""
    if value and value[0] == _QUOTE and value[1:2] in (*_FORMULA_START, _QUOTE):
        return value[1:]
    return value


# ---- rows ----------------------------------------------------------------------------------------------------------
def record_rows(store: AnnotationStore, record_ids: Iterable[str] | None = None) -> list[dict]:
    """One dict per annotated record (or per id of ``record_ids``), sorted by record id."""
    states = store.states()
    ids = sorted(states) if record_ids is None else sorted(set(record_ids))
    return [(states.get(r) or RecordState(r)).to_dict() for r in ids]


def event_rows(store: AnnotationStore) -> list[dict]:
    """One dict per event in log order, with ``reverts_key`` (an undo's target) and ``resolves_keys`` (the reviews an
    adjudication resolves) so links survive renumbering on import."""
    events = store.history()
    keys = {e.event_id: e.event_key for e in events}
    links = store.adjudication_links()
    return [
        {
            **e.to_dict(),
            "reverts_key": keys.get(e.reverts) if e.reverts else None,
            "resolves_keys": [keys[i] for i in links[e.event_id]] if e.event_id in links else None,
        }
        for e in events
    ]


def reviewer_rows(store: AnnotationStore) -> list[dict]:
    """One dict per (record, reviewer) current review, by record id then reviewer."""
    return [s.to_dict() for s in store.reviewer_states().values()]


def adjudicated_rows(store: AnnotationStore) -> list[dict]:
    """One dict per adjudicated record (its current adjudication), by record id."""
    return [a.to_dict() for a in store.adjudicated().values()]


# ---- export --------------------------------------------------------------------------------------------------------
def dumps_reviewers(rows: list[dict], fmt: str) -> str:
    """Per-reviewer rows as CSV or JSON text."""
    return _dumps_rows(
        rows,
        fmt,
        doc_format=REVIEWERS_FORMAT,
        doc_key="reviews",
        columns=REVIEWER_COLUMNS,
        csv_row=lambda r: {
            **r,
            "labels": _json_cell(list(r["labels"])),
            "reviewer": _formula_safe(r["reviewer"]),
            "note": _formula_safe(r["note"]),
        },
    )


def dumps_adjudicated(rows: list[dict], fmt: str) -> str:
    """Adjudicated-label rows as CSV or JSON text."""
    return _dumps_rows(
        rows,
        fmt,
        doc_format=ADJUDICATED_FORMAT,
        doc_key="adjudications",
        columns=ADJUDICATED_COLUMNS,
        csv_row=lambda r: {
            **r,
            "labels": _json_cell(list(r["labels"])),
            "adjudicator": _formula_safe(r["adjudicator"]),
            "resolves": _json_cell(list(r["resolves"])),
        },
    )


def dumps_kind(store: AnnotationStore, kind: str, fmt: str) -> str:
    """The ``kind`` export (records, events, reviewers or adjudicated) of ``store`` as CSV or JSON text."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    if kind == "records":
        return dumps_records(record_rows(store), fmt)
    if kind == "events":
        return dumps_events(event_rows(store), fmt)
    if kind == "reviewers":
        return dumps_reviewers(reviewer_rows(store), fmt)
    if kind == "adjudicated":
        return dumps_adjudicated(adjudicated_rows(store), fmt)
    raise ValueError(f"kind must be one of {(*KINDS, *REVIEW_KINDS)}, not {kind!r}")


def dumps_records(rows: list[dict], fmt: str) -> str:
    """Record rows as CSV or JSON text."""
    return _dumps_rows(
        rows, fmt, doc_format=RECORDS_FORMAT, doc_key="records", columns=RECORD_COLUMNS, csv_row=_record_cells
    )


def dumps_events(rows: list[dict], fmt: str) -> str:
    """Event rows as CSV or JSON text."""
    return _dumps_rows(
        rows, fmt, doc_format=EVENTS_FORMAT, doc_key="events", columns=EVENT_COLUMNS, csv_row=_event_cells
    )


def _record_cells(row: dict) -> dict:
    """A record row's CSV cells: labels as a JSON list, free text made formula-safe."""
    return {**row, "labels": _json_cell(list(row["labels"])), **{c: _formula_safe(row[c]) for c in _TEXT_COLUMNS}}


def _event_cells(row: dict) -> dict:
    """An event row's CSV cells: values as JSON, empty cells for absent links, the reviewer made formula-safe."""
    return {
        **row,
        "reviewer": _formula_safe(row["reviewer"]),
        "before": _json_cell(row["before"]),
        "after": _json_cell(row["after"]),
        "reverts": "" if row["reverts"] is None else row["reverts"],
        "reverts_key": row["reverts_key"] or "",
        "imported_from": "" if row.get("imported_from") is None else _json_cell(row["imported_from"]),
        "resolves_keys": "" if row.get("resolves_keys") is None else _json_cell(row["resolves_keys"]),
    }


def _dumps_rows(
    rows: list[dict],
    fmt: str,
    *,
    doc_format: str,
    doc_key: str,
    columns: Sequence[str],
    csv_row: Callable[[dict], dict],
) -> str:
    """``rows`` as a JSON document (``format``, ``version``, ``exported_at`` and the rows under ``doc_key``) when
    ``fmt`` is ``"json"``, else as CSV with a header of ``columns``, each row made into cells by ``csv_row``."""
    if fmt == "json":
        doc = {"format": doc_format, "version": FORMAT_VERSION, "exported_at": utc_now(), doc_key: rows}
        return json.dumps(doc, ensure_ascii=False, indent=1) + "\n"
    buf = io.StringIO(newline="")
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(csv_row(row))
    return buf.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.replace(tmp, path)


def export(
    store: AnnotationStore,
    path: str | Path,
    kind: str = "records",
    fmt: str | None = None,
    record_ids: Iterable[str] | None = None,
) -> Path:
    """Write the records (current states) or the event log to ``path`` (format from the suffix unless ``fmt``).

    Args:
        store: the annotation store.
        path: the output file (written atomically).
        kind: ``"records"``, ``"events"``, ``"reviewers"`` (each reviewer's current review per record) or
            ``"adjudicated"`` (each adjudicated record's labels, adjudicator and the reviews resolved); the last two
            are for analysis and cannot be imported.
        fmt: ``"csv"`` or ``"json"`` (default: the suffix of ``path``).
        record_ids: records to include (records export only; default: every annotated record).

    Returns:
        The path written.
    """
    path = Path(path)
    fmt = _format(path, fmt)
    if kind == "records":
        text = dumps_records(record_rows(store, record_ids), fmt)
    elif kind in (*KINDS, *REVIEW_KINDS):
        text = dumps_kind(store, kind, fmt)
    else:
        raise ValueError(f"kind must be one of {(*KINDS, *REVIEW_KINDS)}, not {kind!r}")
    _write_atomic(path, text)
    return path


# ---- import --------------------------------------------------------------------------------------------------------
def _read_rows(path: Path, fmt: str) -> tuple[str, list[dict]]:
    """(kind, rows) of an export file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImportFormatError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    if fmt == "json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
        if isinstance(doc, dict) and doc.get("format") == RECORDS_FORMAT and isinstance(doc.get("records"), list):
            return "records", doc["records"]
        if isinstance(doc, dict) and doc.get("format") == EVENTS_FORMAT and isinstance(doc.get("events"), list):
            return "events", doc["events"]
        raise ImportFormatError(
            f'{path}: not an annotation export (expected "format": "{RECORDS_FORMAT}" or '
            f'"{EVENTS_FORMAT}" with a list of rows)'
        )
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = set(reader.fieldnames or [])
    if header == set(REVIEWER_COLUMNS) or header == set(ADJUDICATED_COLUMNS):
        raise ImportFormatError(
            f"{path}: a per-reviewer or adjudicated-labels export is for analysis and cannot be imported; "
            "import a records or events export"
        )
    if {"event_key", "before", "after"} <= header:
        kind = "events"
    elif "record_id" in header and header & {"status", "labels", "note"}:
        kind = "records"
    else:
        raise ImportFormatError(
            f"{path}: unknown CSV header {sorted(header)}; expected the columns of a records "
            f"export ({', '.join(RECORD_COLUMNS)}) or an events export"
        )
    rows = []
    for row in reader:
        if None in row:
            raise ImportFormatError(f"{path}: row {reader.line_num} has more cells than the header")
        rows.append({k: _formula_unsafe(v) if k in _TEXT_COLUMNS else v for k, v in row.items()})
    return kind, rows


def _cell_json(value, what: str):
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise ImportFormatError(f"{what} is not valid JSON: {value[:60]!r}") from None


def _parse_labels(value) -> list[str]:
    if isinstance(value, list):
        return value
    if value is None or not str(value).strip():
        return []
    value = str(value).strip()
    if value.startswith("["):
        parsed = _cell_json(value, "labels")
        if not isinstance(parsed, list):
            raise ImportFormatError("labels must be a JSON list")
        return parsed
    return [v for v in (p.strip() for p in value.split(";")) if v]  # hand-written "MI; NORM"


def import_file(
    store: AnnotationStore,
    path: str | Path,
    *,
    reviewer: str = "import",
    fmt: str | None = None,
    as_admin: bool = False,
) -> ImportReport:
    """Import a records or events export (the kind is recognised from the file), all or nothing.

    Args:
        store: the annotation store.
        path: a file written by :func:`export` (or by hand in the same layout).
        reviewer: who imports; the events written are attributed to them, except an admin's events import.
        fmt: ``"csv"`` or ``"json"`` (default: the suffix).
        as_admin: the importing reviewer is an admin: an events import keeps the file's reviewers and times.
            Otherwise every event gets ``reviewer`` and the import time (the file's values are kept in
            ``imported_from`` as claims). Either way each event is marked with ``imported_from``.

    Raises:
        ImportFormatError: the file is malformed; AnnotationError: a row holds a bad value, or the events would make
            the log inconsistent (an undo of another record's event, an event undone twice, a time in the future).
            Nothing is written then.
    """
    path = Path(path)
    kind, rows = _read_rows(path, _format(path, fmt))
    try:
        if kind == "records":
            return import_records(store, rows, reviewer=reviewer, source=path.name)
        return import_events(store, rows, reviewer=reviewer, as_admin=as_admin, source=path.name)
    except ImportFormatError as exc:
        raise ImportFormatError(f"{path}: {exc}") from None
    except AnnotationError as exc:
        raise type(exc)(f"{path}: {exc}") from None


def _provenance(source: str, reviewer: str, at: str, as_admin: bool) -> dict:
    return {"source": str(source)[:200], "by": reviewer, "at": at, "as_admin": bool(as_admin)}


def import_records(store: AnnotationStore, rows: list[dict], *, reviewer: str, source: str = "rows") -> ImportReport:
    """Set labels / status / note of each row's record (all rows validated first; one transaction); the events are
    the importing reviewer's and carry ``imported_from``."""
    reviewer = check_reviewer(reviewer)
    changes = []
    for n, row in enumerate(rows, start=1):
        where = f"records row {n}"
        if not isinstance(row, dict) or "record_id" not in row:
            raise ImportFormatError(f"{where}: no record_id")
        try:
            labels = _parse_labels(row["labels"]) if "labels" in row else None
            status = row.get("status") or None
            note = row.get("note")
            if note is not None and not isinstance(note, str):
                raise ImportFormatError(f"note must be text, not {type(note).__name__}")
            store._validate(row["record_id"], reviewer, labels, status, note)
        except AnnotationError as exc:
            raise type(exc)(f"{where} ({row.get('record_id')!r}): {exc}") from None
        changes.append((row["record_id"], labels, status, note))
    written = 0
    provenance = _provenance(source, reviewer, utc_now(), False)
    with store.transaction() as tx:
        for record_id, labels, status, note in changes:
            event = tx.annotate(
                record_id, reviewer=reviewer, labels=labels, status=status, note=note, imported_from=provenance
            )
            written += event is not None
    return ImportReport("records", len(rows), written, len(rows) - written)


def _parse_event(row: dict, known) -> dict:
    if not isinstance(row, dict):
        raise ImportFormatError("not an object")
    missing = [c for c in ("event_key", "record_id", "ts", "reviewer", "action", "before", "after") if c not in row]
    if missing:
        raise ImportFormatError(f"missing {', '.join(missing)}")
    key = str(row["event_key"] or "").strip()
    if not key:
        raise ImportFormatError("empty event_key")
    action = row["action"]
    if action not in ACTIONS:
        raise ImportFormatError(f"unknown action {action!r} (one of {', '.join(ACTIONS)})")
    resolves_keys = row.get("resolves_keys")
    resolves_keys = _cell_json(resolves_keys, "resolves_keys") if resolves_keys not in (None, "") else None
    if action == ADJUDICATE:
        if (
            not isinstance(resolves_keys, list)
            or not resolves_keys
            or not all(isinstance(k, str) and k for k in resolves_keys)
        ):
            raise ImportFormatError("an adjudicate event needs resolves_keys (a non-empty list of event keys)")
    elif resolves_keys is not None:
        raise ImportFormatError(f"a {action!r} event cannot resolve reviews (resolves_keys {resolves_keys!r})")
    before = check_changes(_cell_json(row["before"], "before"))
    after = check_changes(_cell_json(row["after"], "after"))
    if set(before) != set(after) or not after:
        raise ImportFormatError("before and after must name the same, non-empty set of fields")
    if not str(row["ts"] or ""):
        raise ImportFormatError("empty ts")
    reverts_key = row.get("reverts_key") or None
    if action == UNDO and not reverts_key:
        raise ImportFormatError("an undo event needs reverts_key")
    if action != UNDO and reverts_key:
        raise ImportFormatError(f"a {action!r} event cannot revert another (reverts_key {reverts_key!r})")
    return {
        "key": key,
        "record_id": check_record_id(row["record_id"], known),
        "ts": check_time(row["ts"]),
        "reviewer": check_imported_reviewer(row["reviewer"]),
        "action": action,
        "before": before,
        "after": after,
        "reverts_key": reverts_key,
        "resolves_keys": resolves_keys,
    }


def import_events(
    store: AnnotationStore,
    rows: list[dict],
    *,
    reviewer: str = "import",
    as_admin: bool = False,
    source: str = "rows",
) -> ImportReport:
    """Append an exported event log; events whose key is already in the store are skipped.

    The whole file is validated first, row by row and then as a log appended to the store's (inside the write
    transaction, so against exactly the state it is applied to): an undo must revert an event of the same record
    (earlier in the file, or in the store) that nothing else undoes, and no time may lie in the future. Any problem
    refuses the whole file; otherwise every event is appended in the same transaction.

    Args:
        store: the annotation store.
        rows: event rows (as :func:`event_rows` writes them).
        reviewer: who imports (the events' reviewer unless ``as_admin``).
        as_admin: keep the file's reviewers and times (only an admin may); otherwise they are kept in
            ``imported_from`` as ``claimed_reviewer`` / ``claimed_ts``.
        source: where the rows come from (the file name), recorded in ``imported_from``.
    """
    reviewer = check_reviewer(reviewer)
    parsed, seen = [], {}
    for n, row in enumerate(rows, start=1):
        try:
            ev = _parse_event(row, store.known_record_ids)
        except AnnotationError as exc:
            raise type(exc)(f"events row {n}: {exc}") from None
        if ev["key"] in seen:
            raise ImportFormatError(f"events row {n}: event_key {ev['key']!r} repeats row {seen[ev['key']]}")
        seen[ev["key"]] = n
        parsed.append(ev)
    now = utc_now()
    written = 0
    with store.transaction() as tx:
        # 1. resolve keys against the store and build the events as they would be appended (nothing written yet)
        log = store.history()
        ids = {e.event_key: e.event_id for e in log}
        next_id = max(ids.values(), default=0) + 1
        new, rows_of, links = [], {}, {}
        for n, ev in enumerate(parsed, start=1):
            existing = tx.event_by_key(ev["key"])
            if existing is not None:
                if existing.record_id != ev["record_id"]:
                    raise ImportFormatError(
                        f"events row {n}: key {ev['key']!r} belongs to another record "
                        f"({existing.record_id!r}) in this store"
                    )
                continue
            for key in ev["resolves_keys"] or ():
                if key not in ids:
                    raise ImportFormatError(
                        f"events row {n}: resolves_keys names {key!r}, which is not in the file before it, nor in "
                        "the store"
                    )
            if ev["resolves_keys"]:
                links[next_id] = sorted({ids[k] for k in ev["resolves_keys"]})
            reverts = None
            if ev["reverts_key"]:
                reverts = ids.get(ev["reverts_key"])
                if reverts is None:
                    raise ImportFormatError(
                        f"events row {n}: reverts_key {ev['reverts_key']!r} is not in the file before it, nor in "
                        "the store"
                    )
            provenance = _provenance(source, reviewer, now, as_admin)
            if not as_admin:
                provenance.update(claimed_reviewer=ev["reviewer"], claimed_ts=ev["ts"])
            event = Event(
                next_id,
                ev["key"],
                ev["record_id"],
                ev["ts"] if as_admin else now,
                ev["reviewer"] if as_admin else reviewer,
                ev["action"],
                ev["before"],
                ev["after"],
                reverts,
                provenance,
            )
            ids[event.event_key], rows_of[next_id] = next_id, n
            new.append(event)
            next_id += 1
        # 2. the log with these events appended must be consistent (only the new events' problems count)
        problems = log_problems([*log, *new], only=set(rows_of))
        problems += link_problems([*log, *new], [(a, r) for a, rs in links.items() for r in rs])
        if problems:
            first = problems[0].split(": ", 1)[-1]
            n = rows_of[int(problems[0].split()[1].lstrip("#"))]
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise ImportFormatError(f"events row {n}: {first}{more}; nothing was imported")
        # 3. append (event ids are assigned by SQLite; undo links follow the keys)
        real = {}
        for event in new:
            reverts = real.get(event.reverts, event.reverts) if event.reverts is not None else None
            written_event = tx.append(
                event.record_id,
                event.reviewer,
                event.action,
                event.before,
                event.after,
                reverts=reverts,
                key=event.event_key,
                ts=event.ts,
                imported_from=event.imported_from,
            )
            real[event.event_id] = written_event.event_id
            if event.event_id in links:
                tx.conn.executemany(
                    "INSERT INTO adjudication_links (event_id, resolves) VALUES (?, ?)",
                    [(written_event.event_id, real.get(i, i)) for i in links[event.event_id]],
                )
            written += 1
    return ImportReport("events", len(rows), written, len(rows) - written)


def events_equal_ignoring_ids(a: Event, b: Event) -> bool:
    """Same change (key, record, time, reviewer, action, values), whatever the local event ids."""
    return (a.event_key, a.record_id, a.ts, a.reviewer, a.action, a.before, a.after) == (
        b.event_key,
        b.record_id,
        b.ts,
        b.reviewer,
        b.action,
        b.before,
        b.after,
    )
