"""Review queue ordering on hand-made cases, zero-shot inputs with a fake text encoder, and the CLI."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pytest

from core.__main__ import main
from core.annotations import AnnotationError, AnnotationStore
from core.annotations.desk import AnnotationDesk, QueueUnavailableError
from core.annotations.modelscores import zero_shot_inputs
from core.annotations.queue import entropy, next_in_queue, review_queue

PROBS = {
    "agree": {"NORM": 0.95, "MI": 0.03, "STTC": 0.02},
    "mislabelled": {"NORM": 0.02, "MI": 0.96, "STTC": 0.02},  # reference says NORM, model is sure of MI
    "half": {"NORM": 0.50, "MI": 0.45, "STTC": 0.05},
    "unsure": {"NORM": 0.34, "MI": 0.33, "STTC": 0.33},
}
REFERENCE = {"agree": ["NORM"], "mislabelled": ["NORM"], "half": ["NORM"], "unsure": ["MI"]}


def test_disagreement_puts_the_likeliest_label_error_first():
    q = review_queue(PROBS, REFERENCE, method="disagreement")
    assert [i.record_id for i in q] == ["mislabelled", "unsure", "half", "agree"]
    assert q[0].score == pytest.approx(0.5 * (0.98 + 0.96 + 0.02))  # total variation distance
    assert q[0].reason == "reference NORM: model 0.02; model: MI 0.96 (not in reference)"
    assert q[-1].score == pytest.approx(0.5 * (0.05 + 0.03 + 0.02))


def test_multi_label_reference_is_not_penalised_for_having_several_labels():
    # softmax probabilities cannot give 1.0 to two classes: a record with two reference labels that the model splits
    # evenly is in full agreement, and ranks below a single-label record the model contradicts
    probs = {
        "two": {"A": 0.5, "B": 0.5, "C": 0.0},
        "wrong": {"A": 0.1, "B": 0.0, "C": 0.9},
        "none": {"A": 0.9, "B": 0.1, "C": 0.0},
    }
    reference = {"two": ["A", "B"], "wrong": ["A"], "none": ["Z"]}
    q = review_queue(probs, reference)
    assert [(i.record_id, round(i.score, 3)) for i in q] == [("wrong", 0.9), ("none", 0.0), ("two", 0.0)]
    assert q[1].reason == "no reference label among the model's classes"
    # independent (sigmoid) probabilities: mean |p - y|
    q = review_queue({"r": {"A": 0.9, "B": 0.2}}, {"r": ["A", "B"]}, multi_label=True)
    assert q[0].score == pytest.approx((0.1 + 0.8) / 2)


def test_max_disagreement_and_uncertainty():
    q = review_queue(PROBS, REFERENCE, method="max_disagreement")
    assert [i.record_id for i in q][:2] == ["mislabelled", "unsure"]
    q = review_queue(PROBS, REFERENCE, method="uncertainty")
    # entropies: unsure 1.00, half 0.75, agree 0.21 (0.95/0.03/0.02), mislabelled 0.18 (0.96/0.02/0.02)
    assert [i.record_id for i in q] == ["unsure", "half", "agree", "mislabelled"]
    assert q[0].score == pytest.approx(entropy([0.34, 0.33, 0.33]))
    assert q[0].reason.startswith("entropy 1.00")
    assert entropy([1.0, 0.0]) == 0.0 and entropy([0.5, 0.5]) == pytest.approx(1.0)


def test_ties_exclusion_limit_and_next():
    probs = {"b": {"X": 0.5}, "a": {"X": 0.5}, "c": {"X": 0.9}}
    q = review_queue(probs, {}, exclude={"c"})
    assert [i.record_id for i in q] == ["a", "b"]  # equal scores: by record id
    assert [i.record_id for i in review_queue(probs, {}, method="uncertainty", limit=1)] == ["a"]
    assert [i.record_id for i in review_queue(probs, {"c": ["X"]}, limit=1)] == ["c"]
    ids = ["c", "a", "b"]
    assert next_in_queue(ids) == "c"
    assert next_in_queue(ids, "c") == "a"
    assert next_in_queue(ids, "a", skip={"b"}) == "c"  # wraps around
    assert next_in_queue(ids, "zzz") == "c"
    assert next_in_queue(["a"], "a") is None and next_in_queue([]) is None
    with pytest.raises(ValueError, match="unknown queue method"):
        review_queue(probs, {}, method="random")


@dataclass
class _Rec:
    record_id: str
    dataset: str
    labels: dict = field(default_factory=dict)


def test_zero_shot_inputs_with_a_fake_text_encoder(tmp_path):
    (tmp_path / "toy_superclass.json").write_text(
        json.dumps({"label_set": "toy_superclass", "classes": {"NORM": ["normal"], "MI": ["infarct"]}}),
        encoding="utf-8",
    )
    vectors = {"normal": [1.0, 0.0], "infarct": [0.0, 1.0]}

    def encode(texts):
        return np.array([vectors[t] for t in texts], np.float32)

    records = [
        _Rec("toy/1", "toy", {"superclass": ["NORM"], "form": ["X"]}),
        _Rec("toy/2", "toy", {"superclass": ["NORM"]}),
        _Rec("other/1", "other", {"superclass": ["NORM"]}),
    ]
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], np.float32)
    probs, reference = zero_shot_inputs(records, emb, encode, logit_scale=10.0, prompts_dir=tmp_path)
    assert set(probs) == {"toy/1", "toy/2"}  # "other" has no prompt set
    assert probs["toy/1"]["NORM"] > 0.99 and probs["toy/2"]["MI"] > 0.99
    assert reference["toy/1"] == ["NORM"]  # only the prompt set's label set
    assert review_queue(probs, reference)[0].record_id == "toy/2"


def test_cli_export_import_history_check(tmp_path, capsys):
    db = tmp_path / "a.sqlite3"
    with AnnotationStore(db) as store:
        store.annotate("ptbxl/00001", reviewer="ana", status="confirmed", note='a, "b"')
    out = tmp_path / "records.csv"
    assert main(["annotations", "--db", str(db), "export", "--kind", "records", "--out", str(out)]) == 0
    assert "wrote 1 records" in capsys.readouterr().out
    db2 = tmp_path / "b.sqlite3"
    assert main(["annotations", "--db", str(db2), "import", str(out), "--reviewer", "bo"]) == 0
    assert "1 event written" in capsys.readouterr().out
    assert main(["annotations", "--db", str(db2), "history"]) == 0
    assert "status: unreviewed → confirmed" in capsys.readouterr().out
    assert main(["annotations", "--db", str(db2), "check"]) == 0
    assert capsys.readouterr().out.strip().endswith("ok")
    bad = tmp_path / "bad.csv"
    bad.write_text("record_id,status\nx,nope\n", encoding="utf-8")
    assert main(["annotations", "--db", str(db2), "import", str(bad)]) == 1
    assert "nothing written" in capsys.readouterr().out
    assert main(["annotations", "--db", str(tmp_path / "missing.sqlite3"), "check"]) == 2


def test_orders_without_a_model_reviewer_disagreement_and_unreviewed_first(tmp_path):
    ids = ["r/1", "r/2", "r/3", "r/4"]
    store = AnnotationStore(tmp_path / "a.sqlite3", known_record_ids=set(ids))
    desk = AnnotationDesk(store=lambda: store, record_ids=lambda: ids)  # no model at all
    store.annotate("r/2", reviewer="ana", labels=["MI"])
    store.annotate("r/2", reviewer="bo", labels=["NORM"])
    store.annotate("r/3", reviewer="ana", labels=["NORM"])
    store.annotate("r/3", reviewer="bo", labels=["NORM"])  # they agree: not in the disagreement queue
    store.annotate("r/4", reviewer="ana", labels=["STTC"])
    queue = desk.queue("reviewer_disagreement")
    assert [e.item.record_id for e in queue] == ["r/2"] and queue[
        0
    ].item.reason == "reviewers disagree: ana: MI; bo: NORM"
    assert desk.next_record(None, "reviewer_disagreement", reviewer="ana") == "r/2"  # ana's own review does not hide it
    # unreviewed first: nobody's review first, in dataset order; skipping is per reviewer
    everything = [(e.item.record_id, e.item.reason) for e in desk.queue("unreviewed", skip_reviewed=False)]
    assert everything == [
        ("r/1", "not reviewed yet"),
        ("r/2", "reviewed by ana, bo"),
        ("r/3", "reviewed by ana, bo"),
        ("r/4", "reviewed by ana"),
    ]
    assert [e.item.record_id for e in desk.queue("unreviewed", reviewer="bo")] == ["r/1", "r/4"]
    assert desk.next_record("r/1", "unreviewed", reviewer="bo") == "r/4"  # the top, the current record excepted
    assert [(p.reviewer, p.done, p.remaining) for p in desk.progress(["cy"])] == [
        ("ana", 3, 1),
        ("bo", 2, 2),
        ("cy", 0, 4),
    ]
    store.adjudicate("r/2", ["MI"], adjudicator="dee")
    assert desk.queue("reviewer_disagreement") == []
    with pytest.raises(QueueUnavailableError, match="no model is available for this queue order"):
        desk.queue("disagreement")
    with pytest.raises(AnnotationError, match="unknown queue order 'random'"):
        desk.queue("random")
    store.close()
