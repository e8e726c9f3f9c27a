from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from core.data.catalogs.base import Record
from core.evaluate.contrast import (
    CONTRAST_SET,
    ContrastPair,
    ReportSet,
    Side,
    load_contrast_set,
    text_to_ecg,
    text_to_report,
)
from core.evaluate.labels import LabelDefinition
from core.evaluate.precision import QUERIES, Query, load_queries, precision_at_k
from core.evaluate.ranking import dense_ranker
from core.search.examples import ExampleSource

# Two findings on orthogonal axes of a 3-d embedding space; the third axis is noise.
AXIS = {"left bundle branch block": 0, "right bundle branch block": 1}
PAIR = ContrastPair(
    "lr",
    Side("LBBB", ("left bundle branch block",), LabelDefinition.from_dict({"toy": {"dx": ["LBBB"]}})),
    Side("RBBB", ("right bundle branch block",), LabelDefinition.from_dict({"toy": {"dx": ["RBBB"]}})),
)


def _records(labels: list[list[str]]) -> list[Record]:
    return [
        Record(f"toy/{i}", "toy", Path("."), " ".join(dx), " ".join(dx) or "normal", {"dx": dx}, "test")
        for i, dx in enumerate(labels)
    ]


def _encode(texts: list[str]) -> np.ndarray:
    out = np.zeros((len(texts), 3))
    for i, t in enumerate(texts):
        out[i, AXIS[t]] = 1.0
    return out


def _ecgs(records: list[Record], swapped: bool = False) -> np.ndarray:
    rng = np.random.default_rng(0)
    emb = 0.1 * rng.random((len(records), 3))
    for i, r in enumerate(records):
        for dx in r.labels["dx"]:
            axis = {"LBBB": 0, "RBBB": 1}.get(dx)
            if axis is not None:
                emb[i, 1 - axis if swapped else axis] += 1.0
    return emb


RECORDS = _records([["LBBB"]] * 6 + [["RBBB"]] * 5 + [["LBBB", "RBBB"]] + [[]] * 4)


def test_a_perfect_model_scores_one_and_a_swapped_model_zero():
    perfect = text_to_ecg([PAIR], RECORDS, _ecgs(RECORDS), _encode, n_bootstrap=50)
    pair = perfect["pairs"][0]
    # The record with both findings is left out of both sides.
    assert (pair["positives_a"], pair["positives_b"]) == (6, 5)
    assert pair["auc_a"] == pair["auc_b"] == pytest.approx(1.0)
    assert perfect["mean_auc"] == pytest.approx(1.0) and perfect["ci95"] == pytest.approx([1.0, 1.0])
    swapped = text_to_ecg([PAIR], RECORDS, _ecgs(RECORDS, swapped=True), _encode, n_bootstrap=50)
    assert swapped["mean_auc"] == pytest.approx(0.0) and swapped["min_pair"] == "lr"


def test_pairs_with_too_few_positives_are_reported_not_dropped():
    records = _records([["LBBB"]] * 6 + [["RBBB"]] * 2)
    result = text_to_ecg([PAIR], records, _ecgs(records), _encode, n_bootstrap=10)
    assert result["pairs"][0]["status"] == "too few" and result["too_few"] == ["lr"]
    assert result["mean_auc"] is None and result["pairs"][0]["positives_by_dataset"] == {
        "a": {"toy": 6},
        "b": {"toy": 2},
    }


def test_text_to_report_right_twin_first():
    reports = ReportSet.from_records(RECORDS)
    # Identical texts merge; the mixed "LBBB RBBB" report belongs to neither twin.
    assert reports.texts == ["LBBB", "LBBB RBBB", "RBBB", "normal"]
    texts_emb = np.array([[1.0, 0, 0], [0.7, 0.7, 0], [0, 1.0, 0], [0, 0, 1.0]])
    good = text_to_report([PAIR], reports, dense_ranker(texts_emb, _encode), "dense")
    assert good["right_first_share"] == 1.0 and good["mean_auc"] == 1.0 and good["n_queries"] == 2
    bad = text_to_report([PAIR], reports, dense_ranker(texts_emb[:, [1, 0, 2]], _encode), "dense")
    assert bad["right_first_share"] == 0.0 and bad["mean_auc"] == 0.0


def test_precision_at_10_and_chance():
    records = _records([["LBBB"]] * 10 + [[]] * 30)
    query = Query("left bundle branch block", LabelDefinition.from_dict({"toy": {"dx": ["LBBB"]}}))
    result = precision_at_k([query], records, _ecgs(records), _encode)
    assert result["mean_precision"] == 1.0 and result["mean_chance"] == pytest.approx(0.25)
    elsewhere = Query("left bundle branch block", LabelDefinition.from_dict({"other": {"dx": ["LBBB"]}}))
    assert precision_at_k([elsewhere], records, _ecgs(records), _encode)["too_few"] == ["left bundle branch block"]


def test_only_rule_and_meta_keys():
    normal = LabelDefinition.from_dict({"toy": {"dx": ["SR"], "only": True}})
    records = _records([["SR"], ["SR", "LVH"], ["LVH"]])
    assert normal.positives(records).tolist() == [True, False, False]
    axis = LabelDefinition.from_dict({"toy": {"meta:heart_axis": ["LAD"]}})
    records[2].meta["heart_axis"] = "LAD"
    assert axis.positives(records).tolist() == [False, False, True]


def test_shipped_sets_have_enough_pairs_and_queries():
    pairs, queries = load_contrast_set(CONTRAST_SET), load_queries(QUERIES)
    assert len(pairs) >= 12 and len(queries) >= 12
    assert all(p.a.queries and p.b.queries and p.a.positives.rules and p.b.positives.rules for p in pairs)


def test_definitions_resolve_on_real_ptbxl(shared_data):
    from core.data.catalogs import load_catalog

    records = load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3").records
    pairs = {p.id: p for p in load_contrast_set()}
    lbbb, rbbb = pairs["bundle-branch-left-right"].members(records)
    assert lbbb.sum() > 0 and rbbb.sum() > 0
    assert all("CLBBB" in records[i].meta["scp_codes"] for i in np.nonzero(lbbb)[0])
    lad, rad = pairs["axis-left-right"].members(records)
    assert lad.sum() > rad.sum() > 0


def test_hybrid_ranker_lets_clinical_words_win_over_a_confused_dense_part():
    from core.evaluate.ranking import make_report_ranker

    texts = ["complete left bundle branch block", "complete right bundle branch block", "sinus rhythm"]
    # The dense part embeds left and right alike, with a slight lean the wrong way (the MiniLM failure of issue 12).
    confused = np.array([[0.45, 0.55, 0.0], [0.55, 0.45, 0.0], [0.0, 0.0, 1.0]])
    rank, name = make_report_ranker(texts, confused, _encode, "hybrid")
    assert name == "hybrid" and int(np.argmax(rank("left bundle branch block"))) == 0
    dense, name = make_report_ranker(texts, confused, _encode, "dense")
    assert name == "dense" and int(np.argmax(dense("left bundle branch block"))) == 1


def test_by_example_ranking_rescues_a_text_encoder_that_confuses_twins():
    def confused(texts: list[str]) -> np.ndarray:  # "left" and "right" embedded alike, as a general LM does
        return np.tile([0.7, 0.7, 0.1], (len(texts), 1))

    text_only = text_to_ecg([PAIR], RECORDS, _ecgs(RECORDS), confused, n_bootstrap=20)
    assert text_only["pairs"][0]["auc"] == pytest.approx(0.5)
    # Training records whose reports state each finding: their ECGs become the queries.
    train = _records([["left bundle branch block"]] * 3 + [["right bundle branch block"]] * 3 + [[]] * 2)
    train_emb = np.zeros((len(train), 3))
    train_emb[:3, 0] = train_emb[3:6, 1] = 1.0
    train_emb[6:, 2] = 1.0
    source = ExampleSource([r.text for r in train], train_emb)
    by_example = text_to_ecg([PAIR], RECORDS, _ecgs(RECORDS), confused, n_bootstrap=20, examples=source)
    pair = by_example["pairs"][0]
    assert pair["examples"] == {"a": 3, "b": 3} and pair["auc"] == pytest.approx(1.0)
    # Too few examples for one side: that side keeps the text embedding, and says so.
    few = ExampleSource([r.text for r in train][1:], train_emb[1:], min_examples=3)
    assert text_to_ecg([PAIR], RECORDS, _ecgs(RECORDS), confused, n_bootstrap=20, examples=few)["pairs"][0][
        "examples"
    ] == {"a": 0, "b": 3}
    records = _records([["LBBB"]] * 10 + [["RBBB"]] * 30)
    query = Query("left bundle branch block", LabelDefinition.from_dict({"toy": {"dx": ["LBBB"]}}))
    assert precision_at_k([query], records, _ecgs(records), confused)["mean_precision"] < 1.0
    result = precision_at_k([query], records, _ecgs(records), confused, examples=source)
    assert result["mean_precision"] == 1.0 and result["queries"][0]["examples"] == 3


def test_the_by_example_choice_split_uses_training_folds_only():
    from core.evaluate.by_example_dev import is_example

    def record(dataset: str, i: int, fold: int | None = None) -> Record:
        meta = {} if fold is None else {"strat_fold": fold}
        return Record(f"{dataset}/{i}", dataset, Path("."), "", "", {}, "train", meta=meta)

    assert [is_example(record("ptbxl", i, fold)) for i, fold in enumerate(range(1, 9))] == [True] * 6 + [False] * 2
    share = np.mean([is_example(record("ludb", i)) for i in range(300)])
    assert 0.55 < share < 0.78  # about two thirds give examples, the rest are scored


def test_precision_with_measured_criteria_reorders_the_nearest_by_their_measurements():
    """A text model that points "left bundle branch block" at the RBBB records, and measurements that say which QRS
    complexes are wide and which V1s mostly downward: the criteria (QRS ≥ 120 ms, V1 R/S < 0.5) put the LBBB records
    first, as the app's search does."""
    records = _records([["LBBB"]] * 10 + [["RBBB"]] * 30)
    query = Query("left bundle branch block", LabelDefinition.from_dict({"toy": {"dx": ["LBBB"]}}))

    def pointed_at_rbbb(texts: list[str]) -> np.ndarray:
        return _encode(["right bundle branch block" for _ in texts])

    def measure(record: Record) -> SimpleNamespace:
        left = "LBBB" in record.labels["dx"]
        return SimpleNamespace(qrs_ms=150.0 if left else 100.0, v1_r_to_s=0.1 if left else 2.0)

    plain = precision_at_k([query], records, _ecgs(records), pointed_at_rbbb)
    assert plain["mean_precision"] == 0.0 and "criteria" not in plain["queries"][0]
    measured = precision_at_k([query], records, _ecgs(records), pointed_at_rbbb, measure=measure)
    assert measured["mean_precision"] == 1.0
    assert measured["queries"][0]["criteria"] == [
        "QRS ≥ 120 ms (complete bundle branch block), not paced",
        "V1 R/S < 0.5 (left bundle branch block)",
    ]
