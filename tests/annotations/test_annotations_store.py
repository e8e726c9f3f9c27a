"""Store basics: annotate, derived state, history, undo, idempotency keys, append-only log, bad input, filters."""

from __future__ import annotations

import sqlite3

import pytest

from core.annotations import (
    AnnotationError,
    AnnotationStore,
    InvalidLabelError,
    InvalidNoteError,
    InvalidReviewerError,
    InvalidStatusError,
    UndoError,
    UnknownEventError,
    UnknownRecordError,
    filter_records,
)
from core.annotations.schema import replay
from core.annotations.validation import MAX_NOTE_CHARS

R1, R2 = "ptbxl/00001", "ptbxl/00002"


def test_annotate_sets_state_and_records_before_after(store):
    e = store.annotate(R1, reviewer=" ana ", status="corrected", labels=["MI", "NORM", "MI"], note="Q waves")
    assert e.event_id == 1 and e.reviewer == "ana" and e.action == "annotate"
    assert e.before == {"labels": [], "status": "unreviewed", "note": ""}
    assert e.after == {"labels": ["MI", "NORM"], "status": "corrected", "note": "Q waves"}
    s = store.get(R1)
    assert (s.labels, s.status, s.note, s.reviewer, s.n_events) == (("MI", "NORM"), "corrected", "Q waves", "ana", 1)
    # only changed fields go into the next event
    e2 = store.annotate(R1, reviewer="bo", status="corrected", labels=["MI"])
    assert e2.before == {"labels": ["MI", "NORM"]} and e2.after == {"labels": ["MI"]}
    assert store.get(R1).reviewer == "bo"
    # a change that changes nothing writes nothing
    assert store.annotate(R1, reviewer="bo", labels=["MI"], note="Q waves") is None
    assert store.count_events() == 2
    # never-annotated records have the default state
    assert store.get(R2).status == "unreviewed" and store.get(R2).labels == () and store.get(R2).n_events == 0


def test_clear_labels_and_note(store):
    store.annotate(R1, reviewer="ana", labels=["STTC"], note="x")
    store.annotate(R1, reviewer="ana", labels=[], note="")
    assert store.get(R1).labels == () and store.get(R1).note == ""


def test_status_spellings(store):
    store.annotate(R1, reviewer="ana", status="Needs second opinion")
    assert store.get(R1).status == "needs_second_opinion"


def test_history_and_replay_match_state(store):
    store.annotate(R1, reviewer="ana", status="confirmed")
    store.annotate(R2, reviewer="bo", labels=["HYP"])
    store.annotate(R1, reviewer="cy", note="check lead III")
    hist = store.history(R1)
    assert [e.reviewer for e in hist] == ["ana", "cy"]
    assert [e.describe() for e in hist] == ["status: unreviewed → confirmed", "note:  → check lead III"]
    assert [e.event_id for e in store.history()] == [1, 2, 3]
    assert store.history(after_id=2)[0].event_id == 3
    assert replay(store.history()) == store.states()
    assert store.check() == []


def test_undo_is_a_compensating_event(store):
    e1 = store.annotate(R1, reviewer="ana", status="corrected", labels=["MI"])
    e2 = store.annotate(R1, reviewer="bo", note="sure?")
    u = store.undo_last(R1, reviewer="cy")
    assert u.action == "undo" and u.reverts == e2.event_id and u.before == {"note": "sure?"} and u.after == {"note": ""}
    assert store.get(R1).note == "" and store.get(R1).status == "corrected"
    u2 = store.undo_last(R1, reviewer="cy")
    assert u2.reverts == e1.event_id
    assert store.get(R1).values() == {"labels": [], "status": "unreviewed", "note": ""}
    with pytest.raises(UndoError, match="nothing|no change left"):
        store.undo_last(R1, reviewer="cy")
    with pytest.raises(UndoError, match="already undone"):
        store.undo(e1.event_id, reviewer="cy")
    # the log kept everything: 2 changes + 2 undos, and undo links are queryable
    assert store.count_events() == 4
    assert store.undone_ids() == {e2.event_id: u.event_id, e1.event_id: u2.event_id}
    # undoing an undo redoes the change
    store.undo(u.event_id, reviewer="cy")
    assert store.get(R1).note == "sure?"


def test_undo_refuses_when_a_later_change_touched_the_field(store):
    e1 = store.annotate(R1, reviewer="ana", status="confirmed")
    store.annotate(R1, reviewer="bo", status="corrected")
    n = store.count_events()
    with pytest.raises(UndoError, match="status changed after"):
        store.undo(e1.event_id, reviewer="ana")
    assert store.count_events() == n
    store.undo(e1.event_id, reviewer="ana", force=True)
    assert store.get(R1).status == "unreviewed"
    with pytest.raises(UnknownEventError):
        store.undo(999, reviewer="ana")


def test_idempotency_key_prevents_duplicates(store):
    e = store.annotate(R1, reviewer="ana", note="once", key="req-1")
    again = store.annotate(R1, reviewer="ana", note="once", key="req-1")
    assert again == e and store.count_events() == 1
    with pytest.raises(AnnotationError, match="already used for record"):
        store.annotate(R2, reviewer="ana", note="other", key="req-1")
    assert store.count_events() == 1


def test_events_are_append_only_in_the_database(store):
    store.annotate(R1, reviewer="ana", note="x")
    conn = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE events SET reviewer = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM events")
    finally:
        conn.close()
    assert store.history()[0].reviewer == "ana"


def test_transaction_is_all_or_nothing(store):
    with pytest.raises(InvalidStatusError):
        with store.transaction() as tx:
            tx.annotate(R1, reviewer="ana", note="first")
            tx.annotate(R2, reviewer="ana", status="bogus")
    assert store.count_events() == 0


BAD_INPUTS = [
    (UnknownRecordError, "unknown record", dict(record_id="ptbxl/99999", reviewer="ana", note="x")),
    (UnknownRecordError, "empty", dict(record_id="", reviewer="ana", note="x")),
    (InvalidStatusError, "unknown status", dict(record_id=R1, reviewer="ana", status="done")),
    (InvalidNoteError, "10,001 characters", dict(record_id=R1, reviewer="ana", note="n" * (MAX_NOTE_CHARS + 1))),
    (InvalidNoteError, "U+0000", dict(record_id=R1, reviewer="ana", note="bad\x00note")),
    (InvalidLabelError, "U+0007", dict(record_id=R1, reviewer="ana", labels=["MI\x07"])),
    (InvalidLabelError, "U+000A", dict(record_id=R1, reviewer="ana", labels=["MI\nNORM"])),
    (InvalidLabelError, "U+2028", dict(record_id=R1, reviewer="ana", labels=["MI\u2028"])),
    (InvalidLabelError, "empty", dict(record_id=R1, reviewer="ana", labels=["NORM", "  "])),
    (InvalidLabelError, "not None", dict(record_id=R1, reviewer="ana", labels=[None])),
    (InvalidReviewerError, "empty", dict(record_id=R1, reviewer="", note="x")),
    (InvalidReviewerError, "empty", dict(record_id=R1, reviewer="   ", note="x")),
    (InvalidReviewerError, "control", dict(record_id=R1, reviewer="ana\x1b[31m", note="x")),
]


@pytest.mark.parametrize(
    ("error", "message", "kwargs"), BAD_INPUTS, ids=[f"{e.__name__}-{m}" for e, m, _ in BAD_INPUTS]
)
def test_bad_input_is_rejected_and_nothing_is_written(store, error, message, kwargs):
    store.annotate(R2, reviewer="ana", note="before")  # some prior content
    before_events, before_states = store.history(), store.states()
    record_id = kwargs.pop("record_id")
    with pytest.raises(error, match=message.replace("+", r"\+")) as info:
        store.annotate(record_id, **kwargs)
    assert isinstance(info.value, ValueError)  # the app and CLI catch ValueError
    assert store.history() == before_events and store.states() == before_states


def test_note_at_the_limit_and_unicode_are_accepted(store):
    note = ('ü€😀, "quoted"\n\ttab ' * 1000)[:MAX_NOTE_CHARS]
    store.annotate(R1, reviewer="Zoë Ørsted", note=note, labels=["Vorhofflimmern", "AV block, 1st degree"])
    assert store.get(R1).note == note and store.get(R1).reviewer == "Zoë Ørsted"
    store.annotate(R2, reviewer="ana", note="a\r\nb\rc")  # newlines are normalised to \n
    assert store.get(R2).note == "a\nb\nc"


def test_known_record_ids_predicate_and_closed_vocabulary(db_path):
    with AnnotationStore(db_path, known_record_ids=lambda r: r.startswith("ludb/"), vocabulary={"NORM"}) as s:
        s.annotate("ludb/7", reviewer="ana", labels=["NORM"])
        with pytest.raises(UnknownRecordError):
            s.annotate("ptbxl/00001", reviewer="ana", labels=["NORM"])
        with pytest.raises(InvalidLabelError, match="not in the label vocabulary"):
            s.annotate("ludb/7", reviewer="ana", labels=["XYZ"])
        assert s.count_events() == 1


def test_filter_records_by_status_and_label(store):
    store.annotate(R1, reviewer="ana", status="confirmed", labels=["MI"])
    store.annotate(R2, reviewer="ana", status="corrected", labels=["MI", "NORM"])
    store.annotate("ludb/1", reviewer="ana", note="looked at it")
    assert filter_records(store) == {R1, R2, "ludb/1"}
    assert filter_records(store, status="confirmed") == {R1}
    assert filter_records(store, label="MI") == {R1, R2}
    assert filter_records(store, status="corrected", label="NORM") == {R2}
    assert filter_records(store, status="unreviewed") == {"ludb/1"}
    # with the universe of records, never-annotated ones count as unreviewed
    assert filter_records(store, status="unreviewed", record_ids=[R1, "ludb/1", "ludb/2"]) == {"ludb/1", "ludb/2"}
    with pytest.raises(InvalidStatusError):
        filter_records(store, status="nope")


def test_reopen_keeps_everything(db_path):
    with AnnotationStore(db_path) as s:
        s.annotate("x/1", reviewer="ana", labels=["A"], note="n")
    with AnnotationStore(db_path) as s:
        assert s.get("x/1").labels == ("A",) and s.count_events() == 1 and s.check() == []
        assert s._conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
