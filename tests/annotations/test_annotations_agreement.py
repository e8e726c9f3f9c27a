"""Several reviewers on the same records: per-reviewer labels, agreement (Cohen's / Fleiss' kappa), the
disagreement queue, adjudication and their exports."""

from __future__ import annotations

import json

import pytest

from core.annotations import AnnotationError, AnnotationStore
from core.annotations.agreement import agreement
from core.annotations.export import export, import_file
from core.annotations.reviews import reviewer_states

R1, R2, R3 = "ptbxl/00001", "ptbxl/00002", "ptbxl/00003"


def test_per_reviewer_labels_are_derived_from_the_same_log(store):
    store.annotate(R1, reviewer="ana", labels=["MI"], status="corrected")
    store.annotate(R1, reviewer="bo", labels=["NORM"], status="corrected")
    # cy agrees with the record as it is now: still her own review (before == after), counted for agreement
    e = store.annotate(R1, reviewer="cy", labels=["NORM"], status="corrected")
    assert e is not None and e.before == e.after == {"labels": ["NORM"], "status": "corrected"}
    # ... but repeating one's own review writes nothing
    assert store.annotate(R1, reviewer="cy", labels=["NORM"], status="corrected") is None
    views = store.reviewer_states()
    assert {k: v.labels for k, v in views.items()} == {
        (R1, "ana"): ("MI",),
        (R1, "bo"): ("NORM",),
        (R1, "cy"): ("NORM",),
    }
    assert store.get(R1).labels == ("NORM",)  # the record state is unchanged by the per-reviewer view
    # an undone review falls back to none; the view is a pure function of the log
    store.undo(e.event_id, reviewer="cy", record_id=R1)
    assert (R1, "cy") not in store.reviewer_states()
    assert reviewer_states(store.history()) == store.reviewer_states()
    assert store.reviewer_states(R2) == {}
    assert store.check() == []


R4 = "ptbxl/00004"


def _review(store, table: dict[str, dict[str, list[str]]]) -> None:
    """reviewer -> record -> labels."""
    for reviewer, records in table.items():
        for record_id, labels in records.items():
            store.annotate(record_id, reviewer=reviewer, labels=labels, status="corrected")


def test_cohen_kappa_hand_checked_equals_sklearn_and_identical_raters_give_one(store):
    from sklearn.metrics import cohen_kappa_score

    # MI: ana 1,1,0,0; bo 1,0,0,0 -> po = 3/4, pe = .5*.25 + .5*.75 = .5, kappa = (.75 - .5) / .5 = .5
    _review(
        store,
        {
            "ana": {R1: ["MI"], R2: ["MI"], R3: ["NORM"], R4: ["NORM"]},
            "bo": {R1: ["MI"], R2: ["NORM"], R3: ["NORM"], R4: ["NORM"]},
            "cy": {R1: ["MI"], R2: ["MI"], R3: ["NORM"], R4: ["NORM"]},  # same as ana
        },
    )
    rows = {row.label: row for row in agreement(store.reviewer_states())}
    assert set(rows) == {"MI", "NORM"}
    pairs = {p.pair: p for p in rows["MI"].pairs}
    assert set(pairs) == {("ana", "bo"), ("ana", "cy"), ("bo", "cy")}
    assert pairs[("ana", "bo")].kappa == pytest.approx(0.5)
    assert pairs[("ana", "bo")].kappa == pytest.approx(cohen_kappa_score([1, 1, 0, 0], [1, 0, 0, 0]))
    assert pairs[("ana", "bo")].n == 4
    assert pairs[("ana", "cy")].kappa == pytest.approx(1.0)
    assert rows["MI"].to_dict()["pairs"][0]["pair"] == ["ana", "bo"]


def test_fleiss_kappa_small_case(store):
    # 3 raters x 4 records, MI votes per record 3, 0, 2, 1 -> P = 1, 1, 1/3, 1/3; Pbar = 2/3; p = (.5, .5);
    # Pe = .5 -> kappa = (2/3 - .5) / .5 = 1/3
    _review(
        store,
        {
            "ana": {R1: ["MI"], R2: ["NORM"], R3: ["MI"], R4: ["MI"]},
            "bo": {R1: ["MI"], R2: ["NORM"], R3: ["MI"], R4: ["NORM"]},
            "cy": {R1: ["MI"], R2: ["NORM"], R3: ["NORM"], R4: ["NORM"]},
        },
    )
    mi = {row.label: row for row in agreement(store.reviewer_states())}["MI"]
    assert mi.fleiss.reviewers == ("ana", "bo", "cy") and mi.fleiss.n == 4
    assert mi.fleiss.kappa == pytest.approx(1 / 3)


def test_kappa_is_none_with_a_reason_when_undefined(store):
    _review(store, {"ana": {R1: ["MI"], R2: ["NORM"]}})
    (mi, _norm) = agreement(store.reviewer_states())
    assert mi.pairs == [] and mi.fleiss.kappa is None and "need 2" in mi.fleiss.reason
    _review(store, {"bo": {R1: ["MI"]}})
    mi = agreement(store.reviewer_states())[0]
    assert mi.pairs[0].kappa is None and mi.pairs[0].n == 1 and "need 2" in mi.pairs[0].reason
    assert agreement({}) == []


def test_disagreement_queue_lists_exactly_the_disagreeing_records(store):
    _review(
        store,
        {
            "ana": {R1: ["MI"], R2: ["NORM"], R3: ["MI", "STTC"], R4: ["NORM"]},
            "bo": {R1: ["MI"], R2: ["MI"], R3: ["MI"]},  # R4: ana only
        },
    )
    queue = store.disagreements()
    assert [d.record_id for d in queue] == [R2, R3]
    assert queue[0].reviews == {"ana": ("NORM",), "bo": ("MI",)} and queue[0].open
    assert queue[0].to_dict()["reviews"] == {"ana": ["NORM"], "bo": ["MI"]}


def test_adjudicate_writes_one_event_links_the_reviews_and_sets_the_labels(store):
    _review(store, {"ana": {R1: ["MI"], R2: ["MI"]}, "bo": {R1: ["NORM"], R2: ["NORM"]}})
    item = store.disagreements()[0]
    n = store.count_events()
    e = store.adjudicate(R1, ["MI", "STTC"], adjudicator="dee", resolves=list(item.event_ids.values()))
    assert store.count_events() == n + 1 and e.action == "adjudicate" and e.reviewer == "dee"
    assert store.adjudication_links() == {e.event_id: sorted(item.event_ids.values())}
    assert store.get(R1).labels == ("MI", "STTC")  # the record's labels are the adjudicated ones
    adj = store.adjudicated()[R1]
    assert (adj.labels, adj.adjudicator, adj.resolves) == (
        ("MI", "STTC"),
        "dee",
        tuple(sorted(item.event_ids.values())),
    )
    # the reviewers' own labels are unchanged, and R1 leaves the open queue
    assert store.reviewer_states()[(R1, "ana")].labels == ("MI",)
    assert [d.record_id for d in store.disagreements()] == [R2]
    assert [d.record_id for d in store.disagreements(include_resolved=True)] == [R1, R2]
    # default links: every current review of the record
    e2 = store.adjudicate(R2, ["MI"], adjudicator="dee")
    assert store.adjudication_links()[e2.event_id] == sorted(store.disagreements(True)[1].event_ids.values())
    assert store.check() == []
    # undoing an adjudication reopens the record
    store.undo(e2.event_id, reviewer="dee", record_id=R2)
    assert [d.record_id for d in store.disagreements()] == [R2] and R2 not in store.adjudicated()
    assert store.check() == []


@pytest.mark.parametrize("bad", ["other_record", "undo_event", "missing", "undone", "empty"])
def test_adjudicate_refuses_bad_links_and_writes_nothing(store, bad):
    _review(store, {"ana": {R1: ["MI"], R2: ["MI"]}, "bo": {R1: ["NORM"]}})
    reviews = store.reviewer_states()
    links = {
        "other_record": [reviews[(R1, "ana")].event_id, reviews[(R2, "ana")].event_id],
        "missing": [999],
        "empty": [],
    }
    if bad == "undo_event":
        links[bad] = [store.undo(reviews[(R1, "bo")].event_id, reviewer="bo").event_id]
    if bad == "undone":
        links[bad] = [reviews[(R1, "bo")].event_id]
        store.undo(reviews[(R1, "bo")].event_id, reviewer="bo")
    n, state = store.count_events(), store.get(R1)
    with pytest.raises(AnnotationError):
        store.adjudicate(R1, ["MI"], adjudicator="dee", resolves=links[bad])
    assert store.count_events() == n and store.adjudication_links() == {} and store.get(R1) == state
    assert store.check() == []


def test_check_finds_a_forged_adjudication_link(store):
    _review(store, {"ana": {R1: ["MI"], R2: ["MI"]}, "bo": {R1: ["NORM"]}})
    e = store.adjudicate(R1, ["MI"], adjudicator="dee")
    other = store.reviewer_states()[(R2, "ana")].event_id
    store._conn().execute("INSERT INTO adjudication_links VALUES (?, ?)", (e.event_id, other))
    assert any("not an earlier review of the same record" in p for p in store.check())


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_adjudications_round_trip_through_the_events_export(store, tmp_path, fmt):
    from core.annotations.export import events_equal_ignoring_ids

    _review(store, {"ana": {R1: ["MI"]}, "bo": {R1: ["NORM"]}})
    store.adjudicate(R1, ["MI"], adjudicator="dee")
    path = export(store, tmp_path / f"events.{fmt}", kind="events")
    with AnnotationStore(tmp_path / "other.sqlite3") as other:
        import_file(other, path, reviewer="admin", as_admin=True)
        assert all(events_equal_ignoring_ids(a, b) for a, b in zip(store.history(), other.history(), strict=True))
        assert other.adjudicated() == store.adjudicated() and other.adjudication_links() == store.adjudication_links()
        assert other.check() == []
        assert import_file(other, path, reviewer="admin", as_admin=True).written == 0


def test_an_imported_adjudication_must_link_reviews_of_its_record(store, tmp_path):
    _review(store, {"ana": {R1: ["MI"], R2: ["MI"]}, "bo": {R1: ["NORM"]}})
    store.adjudicate(R1, ["MI"], adjudicator="dee")
    rows = json.loads(export(store, tmp_path / "e.json", kind="events").read_text(encoding="utf-8"))
    r2_key = next(e.event_key for e in store.history(R2))
    rows["events"][-1]["resolves_keys"] = [r2_key]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(rows), encoding="utf-8")
    with AnnotationStore(tmp_path / "other.sqlite3") as other:
        with pytest.raises(AnnotationError, match="not an earlier review of the same record"):
            import_file(other, bad, reviewer="admin", as_admin=True)
        assert other.count_events() == 0


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_export_reviewers_and_adjudicated_kinds_from_the_cli(store, db_path, tmp_path, fmt, capsys):
    import csv
    import io
    import json

    from core.__main__ import main

    _review(store, {"ana": {R1: ["MI"], R2: ["=1+1"]}, "bo": {R1: ["NORM", "MI"]}})
    e = store.adjudicate(R1, ["MI"], adjudicator="dee")
    reviews = store.reviewer_states()
    out = tmp_path / f"reviewers.{fmt}"
    assert main(["annotations", "--db", str(db_path), "export", "--kind", "reviewers", "--out", str(out)]) == 0
    assert "wrote 3 reviewers" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        doc = json.loads(text)
        assert doc["format"] == "ecg-annotations/reviewers"
        rows = [(r["record_id"], r["reviewer"], r["labels"], r["event_id"]) for r in doc["reviews"]]
    else:
        rows = [
            (r["record_id"], r["reviewer"], json.loads(r["labels"]), int(r["event_id"]))
            for r in csv.DictReader(io.StringIO(text))
        ]
    assert rows == [(r, v, list(s.labels), s.event_id) for (r, v), s in reviews.items()]
    assert rows[0][:3] == (R1, "ana", ["MI"]) and rows[1][:3] == (R1, "bo", ["MI", "NORM"])

    out = tmp_path / f"adjudicated.{fmt}"
    assert main(["annotations", "--db", str(db_path), "export", "--kind", "adjudicated", "--out", str(out)]) == 0
    assert "wrote 1 adjudicated" in capsys.readouterr().out
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        (row,) = json.loads(text)["adjudications"]
    else:
        (row,) = list(csv.DictReader(io.StringIO(text)))
        row = {**row, "labels": json.loads(row["labels"]), "resolves": json.loads(row["resolves"])}
        row["event_id"] = int(row["event_id"])
    assert (row["record_id"], row["labels"], row["adjudicator"], row["event_id"]) == (R1, ["MI"], "dee", e.event_id)
    assert row["resolves"] == sorted(s.event_id for (r, _), s in reviews.items() if r == R1)
    # these exports are for analysis: importing one is refused, nothing written
    with AnnotationStore(tmp_path / "other.sqlite3") as other:
        with pytest.raises(AnnotationError):
            import_file(other, out, reviewer="ana")
        assert other.count_events() == 0
