"""Hybrid report search on the real PTB-XL reports (English text through the catalog): clinical words count."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from core.data.catalogs import load_catalog
from core.search import HybridReportSearch, contains_phrase, negated_words, parse_query, record_mask, tokens

LEFT = {"CLBBB", "ILBBB"}
RIGHT = {"CRBBB", "IRBBB"}


@pytest.fixture(scope="module")
def records(shared_data: Path) -> list:
    """PTB-XL records of both shared folders (the first 500 and, when present, the 2,230 more)."""
    out = list(load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", download=False).records)
    more = shared_data / "ptbxl_more"
    if (more / "ptbxl_database.csv").is_file():
        out += load_catalog("ptbxl", root=more, download=False).records
    return out


@pytest.fixture(scope="module")
def lexical(records) -> HybridReportSearch:
    return HybridReportSearch([r.text_en for r in records], None, None)


def _codes(records, hit) -> set[str]:
    return {c for i in hit.indices for c in records[i].labels.get("diagnostic", [])}


def test_tokens_keep_opposites_and_phrases():
    toks = tokens("Sinus rhythm. Left axis. RBBB.")
    assert {"left", "right", "right_bundle", "bundle_branch"} <= set(toks)
    assert "axis_right" not in toks and "axis_bundle" not in toks  # no pair across a clause boundary
    assert "left_bundle" not in toks
    assert "elevation" in tokens("ST elevation") and "depression" not in tokens("ST elevation")
    # Pairs up to two words apart: "st segment elevation" and "ST elevation" share their pair.
    assert "st_elevation" in tokens("st segment elevation in v2")
    assert tokens("left bundle branch block", pair_weight=2).count("left_bundle") == 2


def test_spelling_variants_find_each_other(lexical):
    """British and American spellings, "infarct" and "infarction", "atrioventricular" and the reports' "AV"."""
    assert tokens("anterior ischaemia") == tokens("anterior ischemia")
    assert tokens("old inferior infarct") == tokens("old inferior infarction")
    assert tokens("1st degree atrioventricular block") == tokens("first degree AV block") == tokens("1AVB")
    assert tokens("ventricular premature beats") == tokens("ventricular premature beat")
    # Each spelling's query finds reports written the other way too (both occur in the shared reports).
    for query, other in (("ischemia", "ischaemia"), ("ischaemia", "ischemia")):
        hits = lexical.search(query, 40)
        assert any(re.search(rf"\b{other}\b", h.text) for h in hits), query
    hits = lexical.search("first degree atrioventricular block", 5)
    assert len(hits) == 5 and all("first degree av block" in h.text for h in hits)


def test_an_incomplete_block_is_not_the_block(records, lexical):
    """ "Incomplete right bundle branch block" holds every word of an RBBB but is another finding (QRS < 120 ms)."""
    irbbb = "sinus rhythm. incomplete right bundle branch block. otherwise normal ecg."
    assert not contains_phrase(irbbb, "right bundle branch block") and not contains_phrase(irbbb, "RBBB")
    assert contains_phrase(irbbb, "incomplete right bundle branch block") and contains_phrase(irbbb, "IRBBB")
    assert "right_bundle" not in tokens(irbbb) and tokens("IRBBB") == tokens("incomplete right bundle branch block")
    # The qualifier stops at the block it qualifies: a finding after it in the clause keeps its words.
    assert contains_phrase("incomplete rbbb with left anterior fascicular block", "left anterior fascicular block")
    for query in ("RBBB", "right bundle branch block"):
        hits = lexical.search(query, 10)
        assert len(hits) == 10 and all("incomplete" not in h.text for h in hits), query
        # Labels disagree with a report now and then ("sinus arrhythmia. right bundle branch block." is labelled IRBBB).
        assert sum("CRBBB" in _codes(records, h) for h in hits[:5]) >= 4, query
    hits = lexical.search("incomplete RBBB", 5)
    assert len(hits) == 5 and all("incomplete right bundle branch block" in h.text for h in hits)
    assert sum("IRBBB" in _codes(records, h) for h in hits) >= 4


def test_bundle_branch_blocks_are_told_apart(records, lexical):
    for query, want, other in (("left bundle branch block", LEFT, RIGHT), ("right bundle branch block", RIGHT, LEFT)):
        hits = lexical.search(query, 5)
        assert len(hits) == 5
        side = query.split()[0]
        for hit in hits:
            codes = _codes(records, hit)
            assert not (codes & other and not codes & want), (query, hit.text, codes)
            assert f"{side} bundle branch block" in hit.text, (query, hit.text)
    # The abbreviation finds the same reports as the words.
    words = [h.text for h in lexical.search("left bundle branch block", 5)]
    assert [h.text for h in lexical.search("LBBB", 5)] == words


def test_premature_beats_are_told_apart_by_their_origin(lexical):
    """No word pair across the word that tells twins apart: "premature atrial contraction" and "premature ventricular
    contraction" once shared the pair "premature_contraction", and a PVC report matched a PAC query through it."""
    assert "premature_contraction" not in tokens("premature atrial contraction(s). sinus rhythm.")
    assert "left_branch" in tokens("left bundle branch block")  # a pair over a word twins share stays
    assert "st_elevation" in tokens("st segment elevation")
    for query, origin, other in (
        ("premature atrial contractions", "atrial", "ventricular"),
        ("premature ventricular contractions", "ventricular", "atrial"),
    ):
        hits = lexical.search(query, 10)
        assert len(hits) == 10
        assert all(f"premature {origin} contraction" in h.text for h in hits), [h.text for h in hits]
        assert not any(f"premature {other} contraction" in h.text and origin not in h.text for h in hits)


def test_st_elevation_before_depression_and_anterior_before_inferior(lexical):
    cases = (
        ("ST elevation", "elevation", "depression"),
        ("ST depression", "depression", "elevation"),
        ("anterior myocardial infarction", "anterior", "inferior"),
        ("inferior myocardial infarction", "inferior", "anterior"),
    )
    for query, word, opposite in cases:
        hits = lexical.search(query, 5)
        # Every hit says the finding (a report may say both, e.g. anterior and inferior infarction).
        assert all(word in h.text for h in hits), [h.text for h in hits]
        if query.startswith("ST"):
            assert not any(opposite in h.text for h in hits), [h.text for h in hits]


def test_identical_reports_collapse_with_their_records(records, lexical):
    texts = [r.text_en.strip() for r in records]
    hits = lexical.search("sinus rhythm normal ecg", 20)
    assert len({h.text for h in hits}) == len(hits)
    assert sum(h.count > 1 for h in hits) >= 1
    for hit in hits:
        assert hit.count == texts.count(hit.text)
        assert all(texts[i] == hit.text for i in hit.indices)
    assert len(lexical) == len(set(texts))


def test_st_segment_is_the_st_of_a_phrase():
    # Exclusions and examples read phrases: "not ST depression" must drop "st segments are depressed" too.
    assert contains_phrase("sinus rhythm. st segments are depressed in i, v5,6.", "ST depression")
    assert contains_phrase("st depression in v5", "ST segment depression")
    assert not contains_phrase("st segments are elevated in v2", "ST depression")
    search = HybridReportSearch(["st segments are depressed in v5", "st elevation in v2", "normal ecg"])
    assert [h.text for h in search.search("ST changes, not ST depression", 3)] == ["st elevation in v2", "normal ecg"]


def test_a_negated_finding_is_not_the_finding(lexical):
    assert "hypertrophy" not in tokens("no ECG evidence of LVH or ischaemia")
    assert "no_ischemia" in tokens("no ischaemia")
    assert negated_words("Sinus rhythm. No P waves; LBBB") == ["p", "wave"] and negated_words("P waves") == []
    assert "bradycardia" in tokens("the cause of the bradycardia is not evident")  # the cue governs what follows
    assert "infarction" in tokens("infarct not excluded") and "damage" in tokens("damage cannot be excluded")
    # "unlikely" governs the words before it, back to a turn of the sentence.
    hedged = tokens("poor r progression v1-2 but previous anteroseptal infarct unlikely")
    assert {"progression", "no_infarction", "no_anteroseptal"} <= set(hedged) and "infarction" not in hedged
    assert "pericarditis" not in tokens("acute pericarditis would be unlikely in the absence of tachycardia")
    assert all("pericarditis" not in h.text for h in lexical.search("pericarditis", 5))
    for query in ("ischaemia", "myocardial ischaemia"):
        hits = lexical.search(query, 5)
        assert hits and all(re.search("ischa?emia", h.text) and "no ecg evidence" not in h.text for h in hits), query
    # "no P waves" (junctional rhythm) and "P waves" are different findings; before negation was read, the first
    # query returned "broad p waves".
    negated = lexical.search("no P waves", 5)
    assert len(negated) == 5 and all(re.search(r"\bno p waves? (found|identified)", h.text) for h in negated)
    assert all("no p wave" not in h.text for h in lexical.search("P waves", 10))


def test_exclusions_in_the_query_and_as_argument(records, lexical):
    assert parse_query("LBBB, not RBBB or incomplete") == ("LBBB", ["RBBB", "incomplete"])
    assert parse_query("ST depression without elevation") == ("ST depression", ["elevation"])
    assert parse_query("sinus rhythm") == ("sinus rhythm", [])
    plain = lexical.search("bundle branch block", 30)
    assert any("right bundle branch block" in h.text for h in plain)
    for hits in (
        lexical.search("bundle branch block, not RBBB", 30),
        lexical.search("bundle branch block", 30, exclude=["right bundle branch block"]),
    ):
        assert hits and all("right bundle branch block" not in h.text for h in hits)
        assert any("left bundle branch block" in h.text for h in hits)
    with pytest.raises(ValueError, match="nothing to look for"):
        lexical.search("not RBBB", 5)


def test_record_filters_by_dataset_and_label(records, lexical):
    datasets = ["ptbxl" if i % 2 else "other" for i in range(len(records))]
    labels = [sorted({x for v in r.labels.values() for x in v}) for r in records]
    mask = record_mask(datasets, labels, dataset="ptbxl", label="CLBBB")
    assert mask.sum() >= 1 and all(datasets[i] == "ptbxl" and "CLBBB" in labels[i] for i in np.flatnonzero(mask))
    hits = lexical.search("bundle branch block", 10, allowed=mask)
    assert hits and all(mask[i] for h in hits for i in h.indices)
    dropped = record_mask(datasets, labels, exclude=["crbbb"])
    assert not any("CRBBB" in labels[i] for i in np.flatnonzero(dropped))
    assert record_mask(datasets, labels, dataset="all", label="all").all()


def test_dense_part_orders_within_lexical_ties_but_cannot_override_clinical_words():
    texts = ["left bundle branch block", "right bundle branch block", "right bundle branch block", "normal ecg"]
    # An adversarial encoder that puts the query right on top of the RBBB reports.
    dense = np.array([[0.6, 0.8], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    search = HybridReportSearch(texts, dense, lambda q: np.array([[1.0, 0.0]], np.float32))
    hits = search.search("left bundle branch block", 3)
    assert [h.text for h in hits] == ["left bundle branch block", "right bundle branch block", "normal ecg"]
    assert hits[1].indices == (1, 2) and hits[1].count == 2
    # The RBBB reports state the query's opposite: their embedding's vote (cosine 1) counts nothing.
    assert hits[1].twin and hits[1].dense == 0.0 and hits[1].cosine == pytest.approx(1.0)
    assert not hits[0].twin and not hits[2].twin
    assert hits[0].lexical == pytest.approx(1.0) and 0 < hits[1].lexical < 1
    # No word of the query occurs: the dense ranking alone.
    assert search.search("heart attack", 1)[0].text == "right bundle branch block"


def _sentences_with(text: str, word: str) -> list[str]:
    return [s for s in text.replace(";", ".").split(".") if word in s]


# Lead names as reports write them, per wall ("v4,5,6" names V5 and V6; "i, avl" names I).
INFERIOR = re.compile(r"\b(iii|avf)\b")
ANTERIOR = re.compile(r"\bv[1-4]\b")
LATERAL = re.compile(r"\b(i|avl|v[56])\b|\bv[1-5]\s*[,-]\s*(\d\s*,\s*)*[56]\b")


@pytest.mark.parametrize(
    ("query", "finding", "wall", "opposite"),
    [
        # The reports name leads, the query names the wall (before or after the finding).
        ("inferior ST elevation", "elevat", INFERIOR, None),
        ("anterior ST elevation", "elevat", ANTERIOR, INFERIOR),
        ("inferior ST depression", "depress", INFERIOR, None),
        ("lateral ST depression", "depress", LATERAL, None),
        ("ST elevation in inferior leads", "elevat", INFERIOR, None),
        ("Q waves in inferior leads", "q wave", INFERIOR, None),
    ],
)
def test_a_wall_in_the_query_finds_reports_that_name_its_leads(lexical, query, finding, wall, opposite):
    """ "Inferior ST elevation" once ranked "ST elevation in V2" first (both say ST elevation), and "Q waves in inferior
    leads" ranked Q waves in lateral and chest leads first; now each of the top reports says the finding in a sentence
    that names the wall's leads or the wall (and not only the opposite wall's leads)."""
    name = next(w for w in ("inferior", "anterior", "lateral") if w in query.lower())
    hits = lexical.search(query, 5)
    assert len(hits) == 5
    for hit in hits:
        sentences = _sentences_with(hit.text, finding)
        assert any(wall.search(s) or name in s for s in sentences), (query, hit.text)
        if opposite is not None:
            assert not all(opposite.search(s) and not wall.search(s) for s in sentences), (query, hit.text)


def test_ludb_finding_colon_wall_is_a_wall_too(shared_data: Path):
    """LUDB writes "STEMI: inferior wall"; of its 200 reports only record 64 has an inferior-wall STEMI, and it comes
    first for "inferior ST elevation" (the other STEMI reports name the anterior, lateral or septal wall)."""
    ludb = list(load_catalog("ludb", root=shared_data / "ludb" / "1.0.1", download=False).records)
    inferior_stemi = [r.record_id for r in ludb if re.search(r"\bstemi: inferior wall", r.text_en.lower())]
    assert inferior_stemi == ["ludb/64"]
    search = HybridReportSearch([r.text_en for r in ludb], None, None)
    top = search.search("inferior ST elevation", 3)
    assert [ludb[i].record_id for i in top[0].indices] == ["ludb/64"]
    assert all(re.search(r"\bstemi:", h.text.lower()) for h in top)  # then the nearest wording: another wall's STEMI
