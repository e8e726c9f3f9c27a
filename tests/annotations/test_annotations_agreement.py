"""Several reviewers on the same records: per-reviewer labels, agreement (Cohen's / Fleiss' kappa), the
disagreement queue, adjudication and their exports."""

from __future__ import annotations

import pytest

from core.annotations.agreement import agreement
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
