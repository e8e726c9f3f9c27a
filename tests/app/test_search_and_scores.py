"""The app's text search (hybrid, collapsed, filtered) and zero-shot probabilities of the checkpoint's kind."""

from __future__ import annotations

import json
import re

import gradio as gr
import pandas as pd
import pytest

from app.state import default_checkpoint
from app.views.retrieve import measured_findings_markdown, negation_notice, search_text, word_match_notice
from core.search import contains_phrase
from core.search.examples import MIN_EXAMPLES

PROMPTS = {
    "NORM": ["normal ECG"],
    "MI": ["myocardial infarction"],
    "LBBB": ["left bundle branch block"],
    "AFIB": ["atrial fibrillation"],
}


def _frame(value: dict) -> pd.DataFrame:
    return pd.DataFrame(value["data"], columns=value["headers"])


def test_search_text_keeps_two_argument_calls_and_collapses_reports(client, services):
    explorer = services.explorer()
    ecgs, reports, _ = client.predict("sinus rhythm normal ecg", 4, api_name="/search_text")
    assert len(_frame(ecgs)) == 4
    frame = _frame(reports)
    assert 1 <= len(frame) <= 4 and frame["report (English)"].is_unique
    for _, row in frame.iterrows():
        ids = row["record_ids"].split(", ")
        assert row["count"] == len(ids) and ids[0] == row["record_id"]
        assert all(explorer.record(i).text_en.strip() == row["report (English)"] for i in ids)
    assert list(frame["score"]) == sorted(frame["score"], reverse=True)


def test_search_text_filters_by_dataset_label_and_exclusion(client, services):
    explorer = services.explorer()
    ecgs, reports, _ = client.predict("sinus rhythm", 5, "ludb", "", "", api_name="/search_text")
    ids = list(_frame(ecgs)["record_id"]) + [i for r in _frame(reports)["record_ids"] for i in r.split(", ")]
    assert ids and all(i.startswith("ludb/") for i in ids)

    ecgs, reports, _ = client.predict("sinus rhythm", 22, "all", "NORM", "", api_name="/search_text")
    ids = list(_frame(ecgs)["record_id"]) + [i for r in _frame(reports)["record_ids"] for i in r.split(", ")]
    assert ids and all("NORM" in explorer.record(i).label_list() for i in ids)

    # "not normal" in the query and "normal" in the exclude field drop the same reports and ECGs.
    typed = search_text(services, "sinus rhythm, not normal", 22)
    field = search_text(services, "sinus rhythm", 22, exclude="normal")
    for ecg_frame, report_frame, _ in (typed, field):
        assert not report_frame.empty
        assert not any(contains_phrase(t, "normal") for t in report_frame["report (English)"])
        assert not any(contains_phrase(explorer.record(i).text_en, "normal") for i in ecg_frame["record_id"])
    pd.testing.assert_frame_equal(typed[1], field[1])


def test_a_hedged_report_is_marked_and_follows_the_definite_one(services):
    _, reports, _ = search_text(services, "inferior infarction", 22)
    first = reports.iloc[0]
    assert first["hedged"] == "" and "inferior infarction, age undetermined" in first["report (English)"]
    hedged = reports[reports["hedged"] == "hedged"]
    assert list(hedged["report (English)"]) == [
        "sinus rhythm. left axis. t wave abnormal, probably inferior myocardial damage. qt prolongation."
    ]
    assert set(reports["hedged"]) == {"", "hedged"}
    # A query that itself hedges asks for such reports: nothing is lowered or marked.
    _, asked, _ = search_text(services, "probably inferior myocardial damage", 22)
    assert (asked["hedged"] == "").all()


def test_a_counterpart_finding_is_marked_and_its_embedding_vote_dropped(services):
    """No indexed report states sinus tachycardia; those that state sinus bradycardia say its counterpart."""
    _, reports, _ = search_text(services, "sinus tachycardia", 22)
    texts = list(reports["report (English)"])
    marked = {t for t, mark in zip(texts, reports["counterpart"], strict=True) if mark == "counterpart"}
    assert marked == {t for t in texts if contains_phrase(t, "sinus bradycardia")} and len(marked) >= 3, texts
    assert (reports.loc[reports["counterpart"] == "counterpart", "dense"] == 0).all()
    assert (reports.loc[reports["counterpart"] == "", "dense"] > 0).any()
    # Asked for, the same reports are the finding, not its counterpart.
    _, asked, _ = search_text(services, "sinus bradycardia", 22)
    assert (asked["counterpart"] == "").all()


def test_by_example_moves_away_from_the_ecgs_whose_reports_state_the_counterpart(services):
    """ludb/1 states left ventricular hypertrophy and no left atrial one: a counter-example for the atrial query."""
    found = services.search_text("left atrial hypertrophy", 5)
    assert found.examples >= 3 and found.opposites == 1 and found.counterpart == "left ventricular hypertrophy"
    _, _, html = search_text(services, "left atrial hypertrophy", 5)
    assert "unlike the one whose report states its counterpart (such as “left ventricular hypertrophy”)" in html
    plain = services.search_text("sinus bradycardia", 5)
    assert plain.examples >= 3 and plain.opposites == 0


def test_a_query_no_report_states_says_the_reports_are_ranked_by_meaning(services):
    _, reports, _ = search_text(services, "pericarditis", 5)
    assert len(reports) == 5 and (reports["lexical"] == 0).all()
    notice = word_match_notice(reports)
    assert notice.startswith("<p class='notice'>") and "ranked by meaning only" in notice
    _, reports, _ = search_text(services, "sinus rhythm", 5)
    assert (reports["lexical"] > 0).any() and word_match_notice(reports) == ""
    assert word_match_notice(reports.iloc[:0]) == "" and word_match_notice(None) == ""


def test_a_negated_query_warns_that_the_ecg_list_does_not_read_the_negation():
    for query in ("no P waves", "absence of P waves", "No ST elevation"):
        assert "close to the finding itself" in negation_notice(query), query
        # Ranked by example, the examples' reports state the negation: the list follows it, no warning.
        assert negation_notice(query, examples=4) == "", query
    # An exclusion is applied to the ECGs as a filter, and a plain query negates nothing.
    for query in ("ST depression, not elevation", "ST depression without elevation", "sinus rhythm", "", None):
        assert negation_notice(query) == "", query


def test_sigmoid_checkpoint_scores_classes_independently(services):
    key = "ptbxl/00002"
    fewer = dict(PROMPTS)
    del fewer["AFIB"]
    sig_all, sig_fewer = (
        services.zero_shot(key, PROMPTS, "tiny-b").scores,
        services.zero_shot(key, fewer, "tiny-b").scores,
    )
    assert sig_all.kind == "sigmoid"
    p_all = dict(zip(sig_all.names, sig_all.probability, strict=True))
    for name, p in zip(sig_fewer.names, sig_fewer.probability, strict=True):
        assert p == pytest.approx(p_all[name], abs=1e-6)
    soft = services.zero_shot(key, PROMPTS, "tiny-a").scores
    assert soft.kind == "softmax" and sum(soft.probability) == pytest.approx(1, abs=1e-4)


def test_analyze_and_zeroshot_say_which_probability_they_show(client):
    out = client.predict("ptbxl/00005", PROMPTS, 3, "tiny-b", api_name="/analyze")
    assert out["score_kind"] == "sigmoid"
    assert client.predict("ptbxl/00005", PROMPTS, 3, "tiny-a", api_name="/analyze")["score_kind"] == "softmax"


def test_default_checkpoint_is_the_best_by_the_evaluation_json(tmp_path):
    checkpoints = {"METS": tmp_path / "checkpoints" / "mets", "FG-CLEP": tmp_path / "checkpoints" / "fgclep"}
    results = tmp_path / "results.json"
    assert default_checkpoint(checkpoints, results) == "METS"  # no file: the first available
    run = {"datasets": {"ptbxl": {"zeroshot": {"superclass": {"macro_auc": 0.7}}}}}
    better = {"datasets": {"ptbxl": {"zeroshot": {"superclass": {"macro_auc": 0.8}}}}}
    results.write_text(
        json.dumps(
            {
                "runs": [
                    {"checkpoint": str(checkpoints["METS"]), **run},
                    {"checkpoint": str(checkpoints["FG-CLEP"]), **better},
                ]
            }
        )
    )
    assert default_checkpoint(checkpoints, results) == "FG-CLEP"
    assert default_checkpoint({"METS": checkpoints["METS"]}, results) == "METS"  # the winner is not served


def test_a_request_the_user_can_fix_gives_one_message_and_empty_tables(client):
    ecgs, reports, html = client.predict("   ", 5, api_name="/search_text")
    assert _frame(ecgs).empty and _frame(reports).empty
    assert "type a query" in html and html.count("⚠️") == 1
    table, html = client.predict("ptbxl/99999", 5, api_name="/retrieve_reports")
    assert _frame(table).empty and "not in the index" in html


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (
            {"index": [0, 4], "value": "sinus", "row_value": [1, "ptbxl/00003 (this ECG)", 0.9, "", ""]},
            "ptbxl/00003",
        ),
        ({"index": [2, 0], "value": 3, "row_value": [3, "ludb/4", 0.8, "", ""]}, "ludb/4"),
        ({"index": 2, "value": "ptbxl/00007"}, "ptbxl/00007"),  # a thumbnail row (HTML)
    ],
)
def test_a_clicked_result_opens_its_record(data, key):
    import gradio as gr

    from app.views.retrieve import picked_record

    assert picked_record(gr.SelectData(None, data)) == key


def test_the_ecg_list_says_how_it_was_ranked_and_by_example_can_be_switched_off(client, services):
    phrase = "sinus rhythm"  # stated by most of the small test index's reports
    count = services.example_count(phrase)
    assert count >= MIN_EXAMPLES
    ecgs, _, html = client.predict(phrase, 5, "all", "", "", True, api_name="/search_text")
    assert f"ranked by example: like the {count} indexed ECGs whose reports state it" in html
    # The hits whose own report says it are tagged as examples; the others (look-alikes) are not.
    explorer = services.explorer()
    for rid in _frame(ecgs)["record_id"]:
        row = html.split(f"data-ecg='{rid}'")[1].split("</tr>")[0]
        assert ("example-tag" in row) == ("sinus rhythm" in explorer.record(rid).text_en.lower()), rid
    by_text_ecgs, _, by_text_html = client.predict(phrase, 5, "all", "", "", False, api_name="/search_text")
    assert "ranked by the model&#x27;s embedding of the text (sim. = cosine to the text)" in by_text_html
    assert "example-tag" not in by_text_html
    assert list(_frame(ecgs)["similarity"]) != list(_frame(by_text_ecgs)["similarity"])
    # The default (two-argument calls) ranks by example; a query no report states falls back and says why.
    _, _, default_html = client.predict(phrase, 5, api_name="/search_text")
    assert "ranked by example" in default_html
    _, _, html = search_text(services, "xylophone rhythm", 5)
    assert "ranked by the model&#x27;s embedding of the text: no indexed report states it" in html


def test_the_by_example_switch_takes_booleans_only(services):
    """Through the API a checkbox value is whatever the caller sends: "false" must not read as true."""
    _, _, as_string = search_text(services, "sinus rhythm", 5, by_example="false")
    assert "ranked by the model&#x27;s embedding of the text (sim. = cosine to the text)" in as_string
    _, _, as_number = search_text(services, "sinus rhythm", 5, by_example=1)
    assert "ranked by example" in as_number
    with pytest.raises(gr.Error, match="by_example .* must be true or false, not 'maybe'"):
        search_text(services, "sinus rhythm", 5, by_example="maybe")


def test_search_text_says_which_ecgs_meet_the_measured_criteria(client):
    """ "sinus bradycardia" names a heart rate under 60: the heading says so and every row whether it meets it; the
    seventh argument turns the re-ordering off."""
    _, _, page = client.predict("sinus bradycardia", 5, api_name="/search_text")
    assert "a measurement defines, HR &lt; 60 bpm (bradycardia); P waves before the QRS (sinus rhythm): of the" in page
    tags = re.findall(r"class='criteria-tag' data-met='(True|None|False)'>([^<]+)<", page)
    assert len(tags) == 5 and tags[0][0] == "True"
    # Each tag is followed by the reading behind it.
    met = r"✓ meets the criteria: HR \d+ bpm \(&lt; 60 bpm: met\); P waves before the QRS: yes \(met\)"
    assert re.fullmatch(met, tags[0][1]), tags[0]
    order = [{"True": 0, "None": 1, "False": 2}[met] for met, _ in tags]
    assert order == sorted(order)
    _, _, off = client.predict("sinus bradycardia", 5, "all", "", "", True, False, api_name="/search_text")
    assert "criteria-tag" not in off and "a measurement defines" not in off


def test_the_retrieve_tab_lists_the_findings_read_by_measurement_as_the_search_reads_them():
    from core.search.criteria import EXAMPLE_QUERIES

    table = measured_findings_markdown()
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| a query")]
    assert len(rows) == len(EXAMPLE_QUERIES)
    assert "| WPW | PR &lt; 120 ms and QRS ≥ 110 ms, not paced (pre-excitation) | yes |" in rows  # < > as entities
    assert "| first degree AV block | PR &gt; 200 ms (first-degree AV block) |  |" in rows
