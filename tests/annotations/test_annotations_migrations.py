"""Schema migrations: a version-1 database opens, migrates to the current schema and keeps its history."""

from __future__ import annotations

import json
import sqlite3

import pytest

from core.annotations import AnnotationStore, SchemaVersionError
from core.annotations.schema import SCHEMA_VERSION, migrate, schema_version


def _make_v1(path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn, target=1) == [1]
    rows = [
        (
            "ptbxl/00001",
            "2025-01-01T10:00:00+00:00",
            "ana",
            {"status": "unreviewed", "labels": []},
            {"status": "corrected", "labels": ["MI"]},
        ),
        ("ptbxl/00002", "2025-01-01T10:01:00+00:00", "bo", {"note": ""}, {"note": 'Vorhofflimmern, "sicher"'}),
        ("ptbxl/00001", "2025-01-02T09:00:00+00:00", "cy", {"note": ""}, {"note": "second look"}),
    ]
    for record_id, ts, who, before, after in rows:
        conn.execute(
            "INSERT INTO events (record_id, ts, reviewer, action, before, after) VALUES (?, ?, ?, ?, ?, ?)",
            (record_id, ts, who, "annotate", json.dumps(before), json.dumps(after)),
        )
    conn.close()


def test_v1_database_is_migrated_on_open(tmp_path):
    path = tmp_path / "old.sqlite3"
    _make_v1(path)
    conn = sqlite3.connect(path)
    assert schema_version(conn) == 1
    assert "record_state" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()

    with AnnotationStore(path) as store:
        assert store.schema_version == SCHEMA_VERSION == 4
        events = store.history()
        assert [e.event_key for e in events] == ["v1-1", "v1-2", "v1-3"]
        assert [e.reviewer for e in events] == ["ana", "bo", "cy"]
        s1 = store.get("ptbxl/00001")
        assert (s1.status, s1.labels, s1.note, s1.n_events) == ("corrected", ("MI",), "second look", 2)
        assert store.get("ptbxl/00002").note == 'Vorhofflimmern, "sicher"'
        assert store.check() == []
        # v2 features work on migrated data: undo of a v1 event, and keys
        store.undo_last("ptbxl/00001", reviewer="dee")
        assert store.get("ptbxl/00001").note == ""
        versions = store._conn().execute("SELECT version, description FROM schema_version ORDER BY version").fetchall()
        assert [v for v, _ in versions] == [1, 2, 3, 4] and all(d for _, d in versions)
        assert all(e.imported_from is None for e in store.history())
    # opening again applies nothing
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn) == []
    conn.close()


def test_newer_database_is_refused(tmp_path):
    path = tmp_path / "future.sqlite3"
    AnnotationStore(path).close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO schema_version VALUES (99, 'from the future', '2030-01-01')")
    conn.close()
    with pytest.raises(SchemaVersionError, match="schema version 99"):
        AnnotationStore(path)


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    from core.annotations import schema

    path = tmp_path / "half.sqlite3"
    _make_v1(path)

    def broken(conn):
        conn.execute("ALTER TABLE events ADD COLUMN event_key TEXT")
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(schema.MIGRATIONS, 2, ("broken", broken))
    with pytest.raises(RuntimeError, match="disk on fire"):
        AnnotationStore(path)
    conn = sqlite3.connect(path)
    assert schema_version(conn) == 1
    assert "event_key" not in {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    conn.close()
