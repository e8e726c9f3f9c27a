"""The training-record counts behind the measured criteria (core/search/criteria_dev.py) and the ST rule's choice
(core/measure/st_dev.py)."""

from __future__ import annotations

from core.measure.st_dev import group_of
from core.search.criteria_dev import long_qt_counts, rhythm_counts, training_rows, v1_ratios


def _row(labels, split="train", record_id="ptbxl/1", **meas):
    return {"labels": labels, "split": split, "record_id": record_id, "method": "own", "meas": meas}


def test_counts_read_training_rows_only_and_each_finding_as_the_criteria_do():
    rows = training_rows(
        [
            _row(["AFIB"], irregular=True, irregular_without_p=True),
            _row(["SR", "PAC"], irregular=True, irregular_without_p=None),
            _row(["SR"], split="test", irregular=True, irregular_without_p=True),  # held out: not counted
            _row(["STACH"], qtc_ms=480.0, qtc_fridericia_ms=440.0, qrs_ms=90.0),
            _row(["CLBBB"], record_id="ptbxl/2", qtc_ms=500.0, qtc_fridericia_ms=490.0, qrs_ms=150.0, v1_r_to_s=0.1),
            _row(["CLBBB"], record_id="ptbxl/2", v1_r_to_s=0.12),  # the same record at another rate: once
            _row(["CRBBB"], record_id="ptbxl/3", v1_r_to_s=2.0),
        ]
    )
    rhythm = rhythm_counts(rows)
    assert (rhythm[("AFIB", "without_p")], rhythm[("sinus", "n")], rhythm[("sinus", "irregular")]) == (1, 2, 1)
    assert rhythm[("sinus", "without_p")] == 0
    qt = long_qt_counts(rows)
    assert (qt[("STACH", "bazett")], qt[("STACH", "both")]) == (1, 0)
    assert (qt[("CLBBB", "both")], qt[("CLBBB", "both_wide")]) == (1, 1)
    assert v1_ratios(rows) == {"CLBBB": [(0.1, "ptbxl/2")], "CRBBB": [(2.0, "ptbxl/3")]}


def test_st_dev_groups_by_what_the_report_names():
    named = {"elevation": frozenset({"II", "III", "aVF"}), "depression": frozenset({"I", "aVL"})}
    assert group_of({"IMI": 100.0}, named) == "ST elevation named"  # elevation with its reciprocal depression
    assert group_of({"STD_": 100.0}, {"depression": frozenset({"V5"})}) == "only ST depression named"
    assert (
        group_of({"NORM": 100.0, "SR": 0.0}, {}) == "NORM"
        and group_of({"NORM": 100.0, "SR": 0.0, "LVH": 0.0}, {}) is None
    )
    # PTB-XL's INJ codes are subendocardial injury: without a named elevation they are not an elevation group.
    assert group_of({"INJAS": 100.0}, {}) is None


def test_q_dev_groups_and_rules():
    from core.measure.q_dev import RULES, groups_of, meets, two_contiguous

    assert groups_of({"IMI": 100.0, "ASMI": 50.0}, frozenset({"III"})) == [
        "Q named", "inferior infarction", "anterior infarction"
    ]  # fmt: skip
    assert groups_of({"NORM": 100.0, "SR": 0.0}, frozenset()) == ["NORM"] and groups_of({"LVH": 1.0}, frozenset()) == []
    shipped = RULES["universal definition (30 ms and 0.1 mV)"]
    wide = {"q_ms": 35.0, "q_mv": 0.2, "qs": False, "r_mv": 1.0}
    assert meets(shipped, "III", wide) and not meets(RULES["ratio (30 ms and a third of R)"], "III", wide)
    assert not meets(shipped, "V1", {**wide, "qs": True})  # V1 is not read
    assert two_contiguous(shipped, {"III": wide, "aVF": wide}) and not two_contiguous(
        shipped, {"III": wide, "V5": wide}
    )


def test_t_dev_groups_and_counts():
    from core.measure.t_dev import CANDIDATES, groups_of, inverted_leads, two_contiguous

    assert groups_of({"INVT", "ISC_"}, frozenset({"V5"})) == ["T inversion named", "INVT"]
    assert groups_of({"NORM", "SR"}, frozenset()) == ["NORM"] and groups_of({"LVH"}, frozenset()) == []
    amplitudes = {"III": -0.3, "aVF": -0.3, "II": -0.07, "V5": -0.12, "V6": -0.2}
    assert inverted_leads(amplitudes, 0.1) == {"aVF", "V5", "V6"}  # III is not read
    assert inverted_leads(amplitudes, 0.05) == {"II", "aVF", "V5", "V6"}
    assert two_contiguous({"V5", "V6"}) and not two_contiguous({"aVF", "V5"})
    assert next(iter(CANDIDATES)).startswith("median beat")  # the shipped reading is listed first


def test_pr_bound_dev_moves_every_pr_and_scores_both_goals_per_part():
    from core.measure.pr_bound_dev import goals_met, shifted, tradeoff

    def pr_row(labels, pr, source="ptbxl@100", record_id="ptbxl/1"):
        return {**_row(labels, record_id=record_id, pr_ms=pr), "source": source, "status": "ok"}

    rows = [
        pr_row(["1AVB"], 196.0),
        pr_row(["1AVB"], 230.0),
        pr_row(["NORM"], 160.0),
        pr_row(["NORM"], 197.0),
        pr_row(["NORM", "1AVB_TEXT"], 240.0),  # its report states a long PR: no false long PR
        pr_row(["NORM"], None, source="ptbxl@500"),  # not measured: stays missing
        pr_row(["1AVB"], 210.0, source="ptbxl_more@100", record_id="ptbxl/9"),
        pr_row(["NORM"], 150.0, source="ptbxl_more@100", record_id="ptbxl/8"),
    ]
    assert [r["meas"]["pr_ms"] for r in shifted(rows, 6.0)] == [202.0, 236.0, 166.0, 203.0, 246.0, None, 216.0, 156.0]
    table = tradeoff(rows, shifts=(0.0, 6.0))
    block, normal = table[0.0]["ptbxl@100"]
    assert (block["n_positive"], block["n_measured"], normal["n_positive"], normal["n_measured"]) == (1, 2, 0, 2)
    assert not goals_met(block, normal)
    block, normal = table[6.0]["ptbxl@100"]
    assert (block["n_positive"], normal["n_positive"]) == (2, 1)  # both 1AVB found, one normal ECG over 200 ms
    assert not goals_met(block, normal)  # 1 of 2 normal ECGs is over 3 %
    assert table[6.0]["ptbxl@500"][1]["value"] is None
    assert goals_met(*table[0.0]["ptbxl_more@100"]) and goals_met(*table[6.0]["ptbxl_more@100"])
