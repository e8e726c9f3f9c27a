"""Opposite findings: which reports state the twin of a query's finding, and their place in the search."""

from __future__ import annotations

import pytest

from core.search.twins import are_twins, contrast_pairs, counterpart_phrases, states_twin


@pytest.mark.parametrize(
    ("query", "report", "twin"),
    [
        ("complete left bundle branch block", "sinus rhythm. right bundle branch block.", True),
        ("complete left bundle branch block", "sinus rhythm. left axis. left bundle branch block.", False),
        ("LBBB", "left anterior fascicular block and right bundle branch block", True),
        ("LBBB", "incomplete left bundle branch block", True),
        ("complete right bundle branch block", "incomplete right bundle branch block", True),
        ("incomplete right bundle branch block", "sinus rhythm. right bundle branch block", True),
        ("incomplete right bundle branch block", "incomplete right bundle branch block. left axis", False),
        ("inferior myocardial infarction", "anteroseptal infarction, probably old", True),
        ("inferior myocardial infarction", "inferior and anterior infarction", False),  # a list states each wall
        ("anteroseptal myocardial infarction", "anterior infarction", False),  # anteroseptal is anterior
        ("ST segment elevation", "st depression in v5, v6", True),
        ("ST segment elevation", "st segment elevation in ii, iii, avf. st depression in v5", False),
        ("inferior st elevation", "anterior st elevation", True),
        ("inferior st elevation", "st elevation in ii, iii, avf", False),
        ("sinus bradycardia", "sinus tachycardia. otherwise normal ecg", True),
        ("atrial fibrillation", "atrial flutter with 2:1 block", True),
        ("premature ventricular contractions", "sinus rhythm. premature atrial contractions", True),
        ("premature ventricular contractions", "supraventricular extrasystoles", False),
        ("ventricular extrasystoles", "supraventricular extrasystoles", True),
        ("left ventricular hypertrophy", "right ventricular hypertrophy", True),
        ("left ventricular hypertrophy", "left atrial enlargement. left ventricular hypertrophy", False),
        ("left axis deviation", "right axis deviation", True),
        ("left axis deviation", "left axis. right bundle branch block", False),
        ("first degree AV block", "second degree av block, mobitz i", True),
        ("left anterior fascicular block", "left posterior fascicular block", True),
        ("normal ECG", "sinus rhythm. right bundle branch block", False),  # no side in the query
        ("no st elevation", "st depression", False),  # a negated query has no twin
        ("T wave inversion", "t wave inversion in v1-v3", False),
    ],
)
def test_a_report_is_a_twin_when_it_swaps_a_word_the_query_tells_twins_by(query: str, report: str, twin: bool):
    assert states_twin(report, contrast_pairs(query)) is twin


def test_twins_are_words_of_one_kind_that_share_no_part():
    assert are_twins("left", "right") and are_twins("elevation", "depression")
    assert are_twins("inferior", "anteroseptal") and not are_twins("anterior", "anteroseptal")
    assert are_twins("supraventricular", "ventricular") and not are_twins("supraventricular", "atrial")
    assert not are_twins("left", "anterior") and not are_twins("left", "block")
    assert contrast_pairs("bundle branch block") == []


def test_counterpart_phrases_swap_one_word_for_each_of_its_twins():
    assert counterpart_phrases("ST elevation") == ["ST depression"]
    assert "atrial fibrillation" in counterpart_phrases("atrial flutter")
    assert "anterior myocardial infarction" in counterpart_phrases("Inferior myocardial infarction")
    assert counterpart_phrases("bundle branch block") == []
    assert counterpart_phrases("LBBB") == ["right bundle branch block"]  # abbreviations spelled out first


def test_abbreviations_are_spelled_out_plural_ones_too_and_other_words_kept():
    from core.search.lexical import spell_out

    assert spell_out("LBBB and PVCs in leads V1-V3") == (
        "left bundle branch block and premature ventricular contraction in leads V1-V3"
    )
    assert spell_out("AF with RVR") == "atrial fibrillation with rapid ventricular response"
    assert spell_out("mass effects") == "mass effects"  # a plural whose singular is no abbreviation stays


def test_the_lexical_search_reads_a_plural_abbreviation_as_its_singular():
    from core.search.lexical import words

    assert words("frequent PVCs") == words("frequent PVC") == [["frequent", "premature", "ventricular", "contraction"]]
    assert words("no PACs") == words("no PAC")  # negated alike
    assert words("mass effects") == [["mass", "effects"]]
