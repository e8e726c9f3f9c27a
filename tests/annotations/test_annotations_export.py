"""Export -> import round trips (CSV and JSON; records and events) with unicode, commas, quotes and newlines."""

from __future__ import annotations

import csv
import json

import pytest

from core.annotations import (
    AnnotationError,
    AnnotationStore,
    ImportFormatError,
    InvalidStatusError,
    UnknownRecordError,
)
from core.annotations.export import events_equal_ignoring_ids, export, import_file

NOTES = {
    "ptbxl/00001": 'Vorhofflimmern, "sicher"; check V1–V3\nsecond line\twith tab, and a trailing comma,',
    "ptbxl/00002": "ÄÖÜ ß — 心电图 — 😀 — ‘quotes’ \"double\" ''",
    "ludb/1": '=1+2 looks like a formula, """ and ,,, and \n\n\n blank lines',
    "ptbxl/00003": "",
}


def _populate(store: AnnotationStore) -> None:
    store.annotate(
        "ptbxl/00001",
        reviewer="Zoë",
        status="corrected",
        labels=["MI", "atrial flutter, typical"],
        note=NOTES["ptbxl/00001"],
    )
    store.annotate(
        "ptbxl/00002",
        reviewer="Jürgen",
        status="needs_second_opinion",
        labels=['say "NORM"'],
        note=NOTES["ptbxl/00002"],
    )
    store.annotate("ludb/1", reviewer="ana, b.", status="confirmed", note=NOTES["ludb/1"])
    store.annotate("ptbxl/00003", reviewer="ana", labels=["STTC"])
    store.annotate("ptbxl/00003", reviewer="ana", status="confirmed")
    store.undo_last("ptbxl/00003", reviewer="ana")  # an undo link that must survive the round trip


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_records_round_trip(store, tmp_path, fmt):
    _populate(store)
    path = export(store, tmp_path / f"records.{fmt}", kind="records")
    with AnnotationStore(tmp_path / "b.sqlite3") as other:
        report = import_file(other, path, reviewer="importer")
        assert (report.kind, report.rows, report.written) == ("records", 4, 4)
        assert {r: s.values() for r, s in other.states().items()} == {r: s.values() for r, s in store.states().items()}
        assert other.get("ptbxl/00001").note == NOTES["ptbxl/00001"]
        assert all(e.reviewer == "importer" for e in other.history())
        # importing the same file again changes nothing
        again = import_file(other, path, reviewer="importer")
        assert (again.written, again.skipped) == (0, 4) and other.count_events() == 4


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_events_round_trip(store, tmp_path, fmt):
    _populate(store)
    path = export(store, tmp_path / f"events.{fmt}", kind="events")
    with AnnotationStore(tmp_path / "b.sqlite3") as other:
        report = import_file(other, path, reviewer="admin", as_admin=True)
        assert (report.kind, report.rows, report.written, report.skipped) == ("events", 6, 6, 0)
        a, b = store.history(), other.history()
        assert len(a) == len(b) and all(events_equal_ignoring_ids(x, y) for x, y in zip(a, b, strict=True))
        assert other.states() == store.states()  # same ids here, so even last_event_id matches
        assert other.undone_ids() == store.undone_ids()
        assert other.check() == []
        assert all(e.imported_from["source"] == path.name and e.imported_from["by"] == "admin" for e in b)
        # duplicates are detected by event key: a second import writes nothing
        assert import_file(other, path).written == 0 and other.count_events() == 6


def test_events_merge_into_a_store_that_has_part_of_the_log(store, tmp_path):
    store.annotate("ptbxl/00001", reviewer="ana", note="one")
    first = export(store, tmp_path / "first.json", kind="events")
    store.annotate("ptbxl/00001", reviewer="ana", note="two")
    full = export(store, tmp_path / "full.json", kind="events")
    with AnnotationStore(tmp_path / "b.sqlite3") as other:
        import_file(other, first)
        report = import_file(other, full)
        assert (report.written, report.skipped) == (1, 1)
        assert other.get("ptbxl/00001").note == "two"


def test_csv_is_plain_csv(store, tmp_path):
    _populate(store)
    path = export(store, tmp_path / "records.csv")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    by_id = {r["record_id"]: r for r in rows}
    assert json.loads(by_id["ptbxl/00001"]["labels"]) == ["MI", "atrial flutter, typical"]
    assert by_id["ptbxl/00001"]["note"] == NOTES["ptbxl/00001"]
    assert by_id["ludb/1"]["status"] == "confirmed"


FORMULA_NOTES = [
    '=HYPERLINK("http://x")',
    "+1",
    "-0.5 mV ST depression",
    "@SUM(A1)",
    "\tindented",
    "'=already",
    "''",
    "'hello'",
    "'",
    "plain",
]
EVIL_REVIEWER = "=cmd|' /C calc'!A0"


def test_csv_cells_that_spreadsheets_would_run_are_escaped_and_read_back_exactly(store, tmp_path):
    ids = sorted(store.known_record_ids)[: len(FORMULA_NOTES)]
    for record_id, note in zip(ids, FORMULA_NOTES, strict=True):
        store.annotate(record_id, reviewer=EVIL_REVIEWER, note=note)
    records = export(store, tmp_path / "records.csv", kind="records")
    events = export(store, tmp_path / "events.csv", kind="events")
    with open(records, newline="", encoding="utf-8") as f:
        cells = {row["record_id"]: row for row in csv.DictReader(f)}
    assert [cells[r]["note"] for r in ids] == [
        """'=HYPERLINK("http://x")""",
        "'+1",
        "'-0.5 mV ST depression",
        "'@SUM(A1)",
        "'\tindented",
        "''=already",
        "'''",
        "'hello'",
        "'",
        "plain",
    ]
    assert {row["reviewer"] for row in cells.values()} == {"'" + EVIL_REVIEWER}
    with open(events, newline="", encoding="utf-8") as f:
        assert {row["reviewer"] for row in csv.DictReader(f)} == {"'" + EVIL_REVIEWER}

    with AnnotationStore(tmp_path / "b.sqlite3") as other:
        import_file(other, records, reviewer="importer")
        assert [other.get(r).note for r in ids] == FORMULA_NOTES
    with AnnotationStore(tmp_path / "c.sqlite3") as other:
        # the formula is not a plain reviewer name: an events import refuses the whole file, even an admin's
        with pytest.raises(AnnotationError, match="not a plain name"):
            import_file(other, events, as_admin=True)
        assert other.count_events() == 0


def test_hand_written_csv_with_bom_and_semicolon_labels(store, tmp_path):
    path = tmp_path / "hand.csv"
    path.write_text('\ufeffrecord_id,status,labels,note\nptbxl/00005,corrected,"MI; STTC","a, b"\n', encoding="utf-8")
    import_file(store, path, reviewer="ana")
    s = store.get("ptbxl/00005")
    assert (s.status, s.labels, s.note) == ("corrected", ("MI", "STTC"), "a, b")


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ("record_id,status\nptbxl/00001,confirmed\nptbxl/00002,finished\n", InvalidStatusError, "row 2"),
        ("record_id,status\nptbxl/00001,confirmed\nnope/1,confirmed\n", UnknownRecordError, "row 2"),
        ("a,b\n1,2\n", ImportFormatError, "unknown CSV header"),
        ("record_id,status\nptbxl/00001,confirmed,extra\n", ImportFormatError, "more cells"),
    ],
)
def test_bad_csv_import_writes_nothing(store, tmp_path, content, error, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(error, match=message):
        import_file(store, path, reviewer="ana")
    assert store.count_events() == 0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": "something else"}', "not an annotation export"),
        (
            '{"format": "ecg-annotations/events", "version": 1, "events": '
            '[{"event_key": "k", "record_id": "ptbxl/00001", "ts": "2024-01-01T00:00:00+00:00", '
            '"reviewer": "a", "action": "undo", '
            '"before": {"note": ""}, "after": {"note": "x"}, '
            '"reverts_key": "missing"}]}',
            "reverts_key",
        ),
        (
            '{"format": "ecg-annotations/events", "version": 1, "events": '
            '[{"event_key": "k", "record_id": "ptbxl/00001", "ts": "2024-01-01T00:00:00+00:00", '
            '"reviewer": "a", "action": "annotate", '
            '"before": {"note": ""}, "after": {"colour": "x"}}]}',
            "unknown field",
        ),
    ],
)
def test_bad_json_import_writes_nothing(store, tmp_path, doc, message):
    path = tmp_path / "bad.json"
    path.write_text(doc, encoding="utf-8")
    with pytest.raises(ImportFormatError if "field" not in message else ValueError, match=message):
        import_file(store, path)
    assert store.count_events() == 0


def test_unknown_suffix(store, tmp_path):
    with pytest.raises(ImportFormatError, match="unknown format"):
        export(store, tmp_path / "x.xlsx")
