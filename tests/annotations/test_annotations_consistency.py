"""Preconditions of every write (issue 14, item 2): nothing is written when an undo or an import would make the
history inconsistent, and ``store.check()`` finds every inconsistency an import could cause."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from core.annotations import AnnotationError, AnnotationStore, UndoError
from core.annotations.desk import AnnotationDesk
from core.annotations.export import export, import_file

A, B = "ptbxl/00001", "ptbxl/00002"


def _events_doc(*events: dict) -> dict:
    return {"format": "ecg-annotations/events", "version": 1, "events": list(events)}


def _ev(key: str, record_id: str = A, *, action: str = "annotate", reverts_key: str | None = None, **kw) -> dict:
    before, after = ({"note": "x"}, {"note": ""}) if action == "undo" else ({"note": ""}, {"note": "x"})
    row = dict(event_key=key, record_id=record_id, ts="2024-05-01T10:00:00+00:00", reviewer="ana", action=action)
    return {**row, "before": before, "after": after, "reverts_key": reverts_key, **kw}


def test_undo_of_another_records_event_writes_nothing(store):
    desk = AnnotationDesk(store=lambda: store)
    store.annotate(A, reviewer="ana", status="confirmed")
    other = store.annotate(B, reviewer="ana", status="corrected")
    n = store.count_events()
    with pytest.raises(UndoError, match=f"belongs to '{B}', not '{A}'"):
        desk.undo(A, "ana", other.event_id)
    with pytest.raises(UndoError, match="belongs to"):
        store.undo(other.event_id, reviewer="ana", record_id=A)
    assert store.count_events() == n and store.get(B).status == "corrected" and store.check() == []
    # B's own undo still works, exactly once
    desk.undo(B, "ana", other.event_id)
    with pytest.raises(UndoError, match="already undone"):
        desk.undo(B, "ana", other.event_id)
    assert store.get(B).status == "unreviewed" and store.count_events() == n + 1


def test_undo_key_reused_for_another_record_is_refused(store):
    a = store.annotate(A, reviewer="ana", note="a")
    b = store.annotate(B, reviewer="ana", note="b")
    store.undo(a.event_id, reviewer="ana", key="k1")
    with pytest.raises(AnnotationError, match="already used"):
        store.undo(b.event_id, reviewer="ana", key="k1")
    assert store.get(B).note == "b"


MALICIOUS = {
    "undo tied to another record's event": [_ev("a1", A), _ev("u1", B, action="undo", reverts_key="a1")],
    "event undone twice": [
        _ev("a1"),
        _ev("u1", action="undo", reverts_key="a1"),
        _ev("u2", action="undo", reverts_key="a1"),
    ],
    "undo of an event that is nowhere": [_ev("u1", action="undo", reverts_key="ghost")],
    "time in the future": [_ev("a1", ts="2099-01-01T00:00:00+00:00")],
    "time without a time zone": [_ev("a1", ts="2024-01-01T00:00:00")],
    "malformed time": [_ev("a1", ts="yesterday")],
    "HTML reviewer": [_ev("a1", reviewer="<img src=x onerror=alert(1)>")],
    "Markdown image reviewer": [_ev("a1", reviewer="![x](http://127.0.0.1:9/p.png)")],
    "formula reviewer": [_ev("a1", reviewer="=HYPERLINK(1)")],
    "repeated event key": [_ev("a1"), _ev("a1")],
    "annotate event that reverts another": [_ev("a1"), _ev("a2", reverts_key="a1")],
}


@pytest.mark.parametrize("fmt", ["json", "csv"])
@pytest.mark.parametrize("case", list(MALICIOUS))
def test_malicious_events_import_is_refused_whole(store, tmp_path, case, fmt):
    store.annotate(A, reviewer="ana", note="before")
    n = store.count_events()
    path = tmp_path / f"bad.{fmt}"
    rows = [_ev("ok-first", "ludb/1"), *MALICIOUS[case]]  # a valid row first: it must not be written either
    if fmt == "json":
        path.write_text(json.dumps(_events_doc(*rows)), encoding="utf-8")
    else:
        _write_events_csv(path, rows)
    for as_admin in (False, True):
        with pytest.raises(AnnotationError):
            import_file(store, path, reviewer="admin", as_admin=as_admin)
        assert store.count_events() == n and store.check() == []


def _write_events_csv(path: Path, rows: list[dict]) -> None:
    import csv

    from core.annotations.export import EVENT_COLUMNS

    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=EVENT_COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({**r, "before": json.dumps(r["before"]), "after": json.dumps(r["after"])})


def test_import_cannot_undo_a_store_event_of_another_record_or_twice(store, tmp_path):
    a = store.annotate(A, reviewer="ana", note="a")
    store.annotate(B, reviewer="ana", note="b")
    path = export(store, tmp_path / "log.json", kind="events")
    doc = json.loads(path.read_text(encoding="utf-8"))
    cross = _events_doc(*doc["events"], _ev("u-b", B, action="undo", reverts_key=a.event_key))
    path.write_text(json.dumps(cross), encoding="utf-8")
    with pytest.raises(AnnotationError, match="cross-record undo"):
        import_file(store, path, as_admin=True)
    store.undo(a.event_id, reviewer="ana")
    twice = _events_doc(_ev("u-a", A, action="undo", reverts_key=a.event_key))
    path.write_text(json.dumps(twice), encoding="utf-8")
    with pytest.raises(AnnotationError, match="double undo"):
        import_file(store, path, as_admin=True)
    assert store.count_events() == 3 and store.check() == []


def test_imported_events_are_marked_and_keep_reviewer_and_time_only_for_an_admin(store, tmp_path):
    rows = [_ev("a1", reviewer="zoe", ts="2024-05-01T10:00:00+00:00")]
    path = tmp_path / "log.json"
    path.write_text(json.dumps(_events_doc(*rows)), encoding="utf-8")
    with AnnotationStore(tmp_path / "user.sqlite3") as user_store:
        import_file(user_store, path, reviewer="bo")
        (e,) = user_store.history()
        assert e.reviewer == "bo" and e.ts > "2025" and user_store.get(A).reviewer == "bo"
        assert e.imported_from["source"] == "log.json" and e.imported_from["as_admin"] is False
        assert (e.imported_from["claimed_reviewer"], e.imported_from["claimed_ts"]) == ("zoe", rows[0]["ts"])
    with AnnotationStore(tmp_path / "admin.sqlite3") as admin_store:
        desk = AnnotationDesk(store=lambda: admin_store)
        desk.import_file(path, "root", as_admin=True)
        (e,) = admin_store.history()
        assert (e.reviewer, e.ts) == ("zoe", rows[0]["ts"])
        assert e.imported_from["by"] == "root" and e.imported_from["as_admin"] is True
        assert "claimed_reviewer" not in e.imported_from
    # a records import is marked too; events written here are not
    store.annotate(B, reviewer="ana", note="here")
    records = export(store, tmp_path / "records.csv")
    with AnnotationStore(tmp_path / "r.sqlite3") as other:
        import_file(other, records, reviewer="bo")
        assert [e.imported_from["source"] for e in other.history()] == ["records.csv"]
    assert store.history()[0].imported_from is None


def _raw_insert(db: Path, *rows: tuple) -> None:
    """Events written behind the store's back (foreign keys off, as in a plain ``sqlite3`` session)."""
    conn = sqlite3.connect(db)
    conn.executemany(
        "INSERT INTO events (event_key, record_id, ts, reviewer, action, before, after, reverts) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([("u", B, "2024-01-01T00:00:00+00:00", "x", "undo", '{"note":"a"}', '{"note":""}', 1)], "cross-record undo"),
        (
            [
                ("u1", A, "2024-01-01T00:00:00+00:00", "x", "undo", '{"note":"a"}', '{"note":""}', 1),
                ("u2", A, "2024-01-01T00:00:00+00:00", "x", "undo", '{"note":"a"}', '{"note":""}', 1),
            ],
            "double undo",
        ),
        ([("f", A, "2099-01-01T00:00:00+00:00", "x", "annotate", '{"note":""}', '{"note":"z"}', None)], "future"),
        ([("t", A, "not a time", "x", "annotate", '{"note":""}', '{"note":"z"}', None)], "not an ISO 8601"),
        ([("m", A, "2024-01-01T00:00:00+00:00", "x", "undo", '{"note":"a"}', '{"note":""}', 99)], "does not exist"),
        ([("n", A, "2024-01-01T00:00:00+00:00", "x", "undo", '{"note":"a"}', '{"note":""}', None)], "without"),
        ([("l", A, "2024-01-01T00:00:00+00:00", "x", "undo", '{"note":"a"}', '{"note":""}', 5)], "later event"),
        ([("r", A, "2024-01-01T00:00:00+00:00", "x", "annotate", '{"note":""}', '{"note":"z"}', 1)], "reverts"),
        ([("k", A, "2024-01-01T00:00:00+00:00", "x", "delete", '{"note":""}', '{"note":"z"}', None)], "action"),
    ],
)
def test_check_reports_every_inconsistency_an_import_could_cause(store, db_path, rows, problem):
    store.annotate(A, reviewer="ana", note="a")  # event #1
    assert store.check() == []
    if problem == "later event":
        rows = [
            *rows,
            *[(f"p{i}", A, "2024-01-01T00:00:00+00:00", "x", "annotate", "{}", "{}", None) for i in range(3)],
        ]
    _raw_insert(db_path, *rows)
    problems = store.check()
    assert any(problem in p for p in problems), problems
