"""Several reviewers on the same records: per-reviewer labels, agreement (Cohen's / Fleiss' kappa), the
disagreement queue, adjudication and their exports."""

from __future__ import annotations

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
