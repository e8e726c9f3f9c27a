"""Property-based test (hypothesis): random sequences of annotate / undo / adjudicate / import / export on a store in
a temporary folder. After every sequence replaying the log gives exactly the stored state, ``check()`` finds
nothing, refused writes wrote nothing, and the CSV and JSON round trips of the event log and of the records are exact.

Sized to run in a few seconds of CI (``max_examples`` below); ``deadline=None`` since SQLite commits vary in time.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.annotations import AnnotationError, AnnotationStore
from core.annotations.export import dumps_events, event_rows, events_equal_ignoring_ids, export, import_file
from core.annotations.schema import STATUSES, replay

RECORD_IDS = ["ptbxl/00001", "ptbxl/00002", "ludb/1"]
LABELS = ["MI", "NORM", "a, b", '"q"', "=1+1", "Zoë", "![x](http://127.0.0.1:9/p.png)"]
NOTES = ["", "plain", 'comma, "quote"\nnew line', "=HYPERLINK(1)", "'", "<img src=x onerror=alert(1)>", "ü\tß"]
REVIEWERS = ["ana", "Jürgen", "bo b.", "o'neil"]

annotate_op = st.tuples(
    st.just("annotate"),
    st.sampled_from(RECORD_IDS),
    st.sampled_from(REVIEWERS),
    st.none() | st.lists(st.sampled_from(LABELS), max_size=3),
    st.none() | st.sampled_from(STATUSES),
    st.none() | st.sampled_from(NOTES),
)
undo_last_op = st.tuples(st.just("undo_last"), st.sampled_from(RECORD_IDS), st.sampled_from(REVIEWERS))
undo_id_op = st.tuples(st.just("undo_id"), st.sampled_from(RECORD_IDS), st.integers(0, 30))
import_op = st.tuples(st.just("reimport"), st.sampled_from(["records", "events"]), st.sampled_from(["csv", "json"]))
bad_import_op = st.tuples(st.just("bad_import"), st.sampled_from(["csv", "json"]), st.sampled_from(["cross", "twice"]))
adjudicate_op = st.tuples(st.just("adjudicate"), st.integers(0, 5), st.lists(st.sampled_from(LABELS), max_size=2))
ops = st.lists(
    st.one_of(annotate_op, annotate_op, undo_last_op, undo_id_op, import_op, bad_import_op, adjudicate_op),
    max_size=25,
)


def _apply(store: AnnotationStore, op: tuple, folder: Path) -> None:
    n = store.count_events()
    kind = op[0]
    try:
        if kind == "annotate":
            _, record_id, reviewer, labels, status, note = op
            store.annotate(record_id, reviewer=reviewer, labels=labels, status=status, note=note)
        elif kind == "adjudicate":
            reviewed = sorted({record_id for record_id, _ in store.reviewer_states()})
            if reviewed:  # resolves every current review of one reviewed record
                store.adjudicate(reviewed[op[1] % len(reviewed)], op[2], adjudicator="dee")
        elif kind == "undo_last":
            store.undo_last(op[1], reviewer=op[2])
        elif kind == "undo_id":
            events = store.history()
            if events:
                target = events[op[2] % len(events)]
                store.undo(target.event_id, reviewer="ana", record_id=op[1])
        elif kind == "reimport":
            # importing the store's own export changes nothing (same states; same event keys)
            path = export(store, folder / f"self-{n}.{op[2]}", kind=op[1])
            report = import_file(store, path, reviewer="ana", as_admin=True)
            assert report.written == 0
        elif kind == "bad_import":
            events = [e for e in store.history() if e.action == "annotate"]
            if events:
                target = events[0]
                undone = {e.reverts for e in store.history() if e.reverts}
                other = next(r for r in RECORD_IDS if r != target.record_id)
                rows = [
                    {
                        "event_key": f"evil-{n}-{i}",
                        "record_id": other if op[2] == "cross" else target.record_id,
                        "ts": target.ts,
                        "reviewer": "mallory",
                        "action": "undo",
                        "before": target.after,
                        "after": target.before,
                        "reverts_key": target.event_key,
                        "reverts": None,
                        "event_id": 0,
                    }
                    for i in range(1 if op[2] == "cross" or target.event_id in undone else 2)
                ]
                path = folder / f"bad-{n}.{op[1]}"
                path.write_text(dumps_events(rows, op[1]), encoding="utf-8")
                try:
                    import_file(store, path, reviewer="ana", as_admin=True)
                    raise AssertionError("an inconsistent events file was imported")
                except AnnotationError:
                    pass
                assert store.count_events() == n
    except AnnotationError:
        assert store.count_events() == n  # a refused write wrote nothing


def _round_trips(store: AnnotationStore, folder: Path) -> None:
    events = store.history()
    for fmt in ("csv", "json"):
        path = export(store, folder / f"events.{fmt}", kind="events")
        with AnnotationStore(folder / f"events-{fmt}.sqlite3", synchronous="OFF") as other:
            import_file(other, path, reviewer="admin", as_admin=True)
            copy = other.history()
            assert len(copy) == len(events)
            assert all(events_equal_ignoring_ids(a, b) for a, b in zip(events, copy, strict=True))
            assert other.states() == store.states() and other.undone_ids() == store.undone_ids()
            assert other.check() == []
            # exporting the copy gives the same rows (only the provenance mark differs)
            strip = [{k: v for k, v in r.items() if k != "imported_from"} for r in event_rows(other)]
            assert strip == [{k: v for k, v in r.items() if k != "imported_from"} for r in event_rows(store)]
        path = export(store, folder / f"records.{fmt}", kind="records")
        with AnnotationStore(folder / f"records-{fmt}.sqlite3", synchronous="OFF") as other:
            import_file(other, path, reviewer="bo")
            for record_id, state in store.states().items():
                assert other.get(record_id).values() == state.values()
    json.loads((folder / "events.json").read_text(encoding="utf-8"))  # valid JSON


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_random_histories_replay_to_the_stored_state_and_round_trip_exactly(sequence):
    with tempfile.TemporaryDirectory(prefix="annotations-hypothesis-") as tmp:
        folder = Path(tmp)
        with AnnotationStore(folder / "a.sqlite3", known_record_ids=set(RECORD_IDS), synchronous="OFF") as store:
            for op in sequence:
                _apply(store, op, folder)
            assert replay(store.history()) == store.states()
            assert store.check() == []
            _round_trips(store, folder)
