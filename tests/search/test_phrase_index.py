"""The phrase index (core/search/phrase_index.py) answers as reading every report would."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.data.catalogs import load_catalog
from core.search import contains_phrase
from core.search.phrase_index import PhraseIndex
from core.search.twins import contrast_pairs, states_twin

# Words that make clauses, negations and near-twins (left/right, elevation/depression).
VOCAB = ["left", "right", "bundle", "branch", "block", "no", "st", "elevation", "depression", "sinus", "rhythm", "lbbb"]
SEPARATORS = [" ", " ", " ", ". ", ", "]


def scan(texts: list[str], phrases: list[str]) -> list[int]:
    """The reference: every report read for every query."""
    return [i for i, t in enumerate(texts) if any(contains_phrase(t, p) for p in phrases)]


@st.composite
def sentence(draw, max_words: int = 8) -> str:
    n = draw(st.integers(0, max_words))
    out = ""
    for _ in range(n):
        out += draw(st.sampled_from(VOCAB)) + draw(st.sampled_from(SEPARATORS))
    return out.strip()


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(sentence(), min_size=0, max_size=12), phrases=st.lists(sentence(4), min_size=1, max_size=3))
def test_the_index_finds_what_reading_every_report_finds(texts, phrases):
    assert PhraseIndex(texts).stating_rows(phrases).tolist() == scan(texts, phrases)


@pytest.fixture(scope="module")
def ptbxl_texts(shared_data: Path) -> list[str]:
    return [r.text_en for r in load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", download=False).records]


@pytest.mark.parametrize(
    "phrase",
    [
        "left bundle branch block",
        "right bundle branch block",
        "first degree atrioventricular block",  # the reports say "AV"
        "no ST elevation",
        "sinus rhythm",
        "pericarditis",
    ],
)
def test_real_reports_agree_with_the_scan(ptbxl_texts, phrase):
    index = PhraseIndex(ptbxl_texts)
    rows = index.stating_rows([phrase])
    assert rows.tolist() == scan(ptbxl_texts, [phrase])
    assert index.n_texts < len(ptbxl_texts)  # machine statements repeat: each distinct text is read once
    if phrase in ("left bundle branch block", "first degree atrioventricular block", "sinus rhythm"):
        assert len(rows) > 0
    mask = index.stating([phrase])
    assert mask.dtype == np.bool_ and mask.sum() == len(rows)


def scan_opposites(texts: list[str], phrases: list[str]) -> list[int]:
    """The reference for opposites: every distinct text read, those that state a phrase left out."""
    distinct = list(dict.fromkeys(texts))
    stating = set(scan(distinct, phrases))
    return [
        j
        for j, t in enumerate(distinct)
        if j not in stating and any(states_twin(t, contrast_pairs(p)) for p in phrases)
    ]


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(sentence(), min_size=0, max_size=12), phrases=st.lists(sentence(4), min_size=1, max_size=3))
def test_the_index_finds_the_opposites_that_reading_every_report_finds(texts, phrases):
    assert PhraseIndex(texts).opposite_texts(phrases).tolist() == scan_opposites(texts, phrases)


@pytest.mark.parametrize(
    "phrase", ["left bundle branch block", "st elevation", "inferior infarction", "atrial flutter"]
)
def test_real_opposites_agree_with_the_scan(ptbxl_texts, phrase):
    found = PhraseIndex(ptbxl_texts).opposite_texts([phrase]).tolist()
    assert found == scan_opposites(ptbxl_texts, [phrase]) and found


def test_st_segment_depression_states_st_depression_and_is_the_counterpart_of_st_elevation():
    texts = ["st segment depression in v5", "st depression in v6", "st segments are depressed in i", "t wave inversion"]
    index = PhraseIndex(texts)
    assert index.stating_rows(["st depression"]).tolist() == [0, 1, 2]
    assert index.stating_rows(["ST segment depression"]).tolist() == [0, 1, 2]
    assert index.opposite_texts(["st elevation"]).tolist() == [0, 1, 2]
    assert index.stating_rows(["t inversion"]).tolist() == []  # only "segment" is skipped, not "wave"
