"""Hedged findings rank after definite ones: the scope rules, and the search on the real PTB-XL reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import core.search.hybrid as hybrid
from core.data.catalogs import load_catalog
from core.search import HybridReportSearch
from core.search.hedges import hedge_flags, only_hedged, query_words
from core.search.lexical import words
from core.search.twins import contrast_pairs, states_twin

LVH = query_words("left ventricular hypertrophy")


def _flags(clause_text: str) -> list[bool]:
    (clause,) = words(clause_text)
    return hedge_flags(clause)


def test_a_cue_governs_the_words_after_it_or_before_it_at_the_clause_end():
    assert _flags("possible old inferior myocardial infarction") == [True] * 4  # "myocardial" is a stopword
    assert _flags("left ventricular hypertrophy possible") == [True] * 4
    assert _flags("old anteroseptal infarct cannot be excluded") == [True] * 5
    assert _flags("old infarct cannot be ruled out") == [True] * 4 + [False]  # "out" is after the cue
    assert _flags("voltages are high in chest leads suggesting lvh") == [False] * 4 + [True] * 4
    assert _flags("left ventricular hypertrophy") == [False] * 3


@pytest.mark.parametrize(
    ("report", "hedged"),
    [
        ("sinus rhythm. left ventricular hypertrophy possible.", True),
        ("sinus rhythm. possible left ventricular hypertrophy. left axis.", True),  # the unhedged "left" is elsewhere
        ("sinus rhythm. voltages are high in chest leads suggesting lvh.", True),
        ("sinus rhythm. possible left atrial enlargement. left ventricular hypertrophy.", False),
        ("sinus rhythm. voltage criteria for left ventricular hypertrophy.", False),
        ("sinus rhythm. normal ecg.", False),  # nothing of the query: not hedged, just not matching
    ],
)
def test_the_clause_that_states_the_finding_decides(report: str, hedged: bool):
    assert only_hedged(report, LVH) is hedged


def test_a_hedged_age_does_not_hedge_the_infarction():
    report = "sinus rhythm. qrs(t) abnormal: anterior infarction, probably old."
    assert not only_hedged(report, query_words("anterior infarction"))
    assert not only_hedged(report, query_words("old anterior infarction"))


def test_a_hedged_query_asks_for_the_hedged_reports():
    assert query_words("possible LVH") == frozenset()
    assert query_words("LVH") == {"left", "ventricular", "hypertrophy"}


@pytest.fixture(scope="module")
def training_reports(shared_data: Path) -> list[str]:
    out = []
    for folder in ("ptb-xl/1.0.3", "ptbxl_more"):
        if (shared_data / folder / "ptbxl_database.csv").is_file():
            out += [r.text_en for r in load_catalog("ptbxl", root=shared_data / folder, download=False).records]
    return out


def test_definite_reports_come_first_and_hedged_ones_still_follow(training_reports):
    search = HybridReportSearch(training_reports)
    hits = search.search("left ventricular hypertrophy", 200)
    assert len(hits) == 200
    top = hits[:5]
    assert not any(h.hedged for h in top), [h.text for h in top]
    assert all("left ventricular hypertrophy" in h.text for h in top)
    hedged = [h for h in hits if h.hedged]
    assert hedged and all("left ventricular hypertrophy possible" not in h.text for h in top)
    assert any("left ventricular hypertrophy possible" in h.text for h in hedged)  # still found
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_the_lazy_ranking_is_the_full_ranking(training_reports):
    """Hedges and opposite findings are read lazily (only for reports that could still place); the order must be that
    of lowering every hedged or opposite report's score and sorting all of them."""
    search = HybridReportSearch(training_reports)
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(len(training_reports), 8)).astype(np.float32)
    query_vector = rng.normal(size=(1, 8))
    with_dense = HybridReportSearch(training_reports, dense, lambda q: query_vector)
    for engine in (search, with_dense):
        for query in (
            "old inferior infarction",
            "left atrial enlargement",
            "lateral ischemia",
            "LBBB",
            "right axis deviation",
        ):
            got = [h.text for h in engine.search(query, 30)]
            assert got == _brute_force(engine, query)[:30], query


def _brute_force(engine: HybridReportSearch, query: str) -> list[str]:
    lexical = engine.lexical.scores(query)
    lex = lexical / lexical.max()
    if engine.dense is None:
        fused, weight = lex, 1.0
    else:
        cos = engine._cosines(query)
        fused, weight = engine.alpha * lex + (1 - engine.alpha) * hybrid._minmax(cos), engine.alpha
    wanted, pairs = query_words(query), contrast_pairs(query)
    dense = np.zeros_like(lex) if engine.dense is None else hybrid._minmax(engine._cosines(query))
    final = [
        f
        - (weight * (1 - hybrid.HEDGE_FACTOR) * x if x > 0 and only_hedged(t, wanted) else 0.0)
        - ((1 - weight) * (1 - hybrid.TWIN_FACTOR) * d if d > 0 and states_twin(t, pairs) else 0.0)
        for f, x, d, t in zip(fused, lex, dense, engine.texts, strict=True)
    ]
    order = np.argsort(-np.asarray(final), kind="stable")
    return [engine.texts[i] for i in order]
