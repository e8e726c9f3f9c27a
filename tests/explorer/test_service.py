"""The query service (core/explorer/service.py): user actions as dataclasses, content-keyed caches, error family."""

from __future__ import annotations

import re

import numpy as np
import pytest

from core.ecg import ECG
from core.errors import UserFacingError
from core.explorer import (
    InvalidRequestError,
    Neighbour,
    NoDataError,
    QueryService,
    RecordNotFoundError,
    ReportMatch,
    ServiceConfig,
    TextSearch,
    ZeroShot,
)
from core.explorer import service as service_module
from core.search.criteria import CRITERIA_POOL
from core.search.examples import OPPOSITE_WEIGHT

LBBB = {"CLBBB", "ILBBB"}


def _synthetic_ecg(seed: int = 0) -> ECG:
    rng = np.random.default_rng(seed)
    t = np.arange(5000) / 500.0
    signal = 0.5 * np.sin(2 * np.pi * 1.2 * t)[None] + 0.05 * rng.normal(size=(12, 5000))
    return ECG(signal_mv=signal.astype(np.float32), fs_hz=500.0, lead_mask=np.ones(12, bool), source="synthetic")


def test_retrieve_text_query_reaches_the_index_and_returns_dataclasses(ptbxl_service):
    found = ptbxl_service.search_text("left bundle branch block", 3)
    assert isinstance(found, TextSearch) and found.query == "left bundle branch block" and found.exclude == []
    assert len(found.ecgs) == 3 and all(isinstance(n, Neighbour) for n in found.ecgs)
    assert all(n.thumbnail_svg.startswith("<svg") for n in found.ecgs)
    assert [n.similarity for n in found.ecgs] == sorted((n.similarity for n in found.ecgs), reverse=True)
    assert found.reports and all(isinstance(m, ReportMatch) for m in found.reports)
    # The report rows for "left bundle branch block" are LBBB records (BM25 leads the hybrid ranking).
    top = found.reports[0]
    assert "left bundle branch block" in top.hit.text.lower()
    assert all(LBBB & set(r.label_list()) for r in top.records), [(r.record_id, r.label_list()) for r in top.records]
    # Filters: only LBBB-labelled records; "..., not left" drops every report that says it.
    labelled = ptbxl_service.search_text("bundle branch block", 5, label="CLBBB")
    ids = [n.record.record_id for n in labelled.ecgs] + [i for m in labelled.reports for i in m.record_ids]
    assert ids and all("CLBBB" in ptbxl_service.explorer().record(i).label_list() for i in ids)
    without = ptbxl_service.search_text("bundle branch block, not left", 5)
    assert without.exclude == ["left"] and all("left" not in m.hit.text.lower() for m in without.reports)
    # Only an exclusion: the error says how to ask for an absent finding instead.
    with pytest.raises(InvalidRequestError, match="type 'no ...', e.g. 'no P waves'"):
        ptbxl_service.search_text("without P waves", 5)


def test_record_actions_return_plain_results(ptbxl_service):
    opened = ptbxl_service.open_record("ptbxl/00180", measure=False)
    assert opened.record.record_id == "ptbxl/00180" and opened.ecg.signal_mv.shape[0] == 12
    assert "CLBBB" in opened.record.label_list() and opened.measurements is None
    reports = ptbxl_service.nearest_reports("ptbxl/00180", 4)
    assert len(reports) == 4 and all(isinstance(n, Neighbour) and n.thumbnail_svg for n in reports)
    ecgs = ptbxl_service.nearest_ecgs("ptbxl/00180", 3, thumbnails=False)
    assert ecgs[0].record.record_id == "ptbxl/00180" and ecgs[0].similarity == pytest.approx(1.0, abs=1e-4)
    view = ptbxl_service.map("superclass", "ptbxl/00180")
    assert view.xy.shape == (300, 2) and len(view.groups) == 300
    np.testing.assert_allclose(view.highlight, ptbxl_service.place("ptbxl/00180"))
    scores = ptbxl_service.zero_shot("ptbxl/00180", {"LBBB": ["left bundle branch block"], "NORM": ["normal ECG"]})
    assert (
        isinstance(scores, ZeroShot)
        and scores.checkpoint == "tiny"
        and sorted(scores.scores.names)
        == [
            "LBBB",
            "NORM",
        ]
    )
    with pytest.raises(RecordNotFoundError, match="not in the index"):
        ptbxl_service.open_record("ptbxl/99999")
    with pytest.raises(InvalidRequestError, match="type a query"):
        ptbxl_service.search_text("  ")


def test_caches_are_keyed_by_content(ptbxl_service):
    hits = ptbxl_service.nearest_reports("ptbxl/00001", 2)
    explorer = ptbxl_service.explorer()
    assert explorer.key.startswith(ptbxl_service.embedder().checkpoint_hash[:16])
    assert all((explorer.key, h.record.record_id) in ptbxl_service._thumbs for h in hits)
    key = ptbxl_service.put_upload(_synthetic_ecg(0))
    assert key == ptbxl_service.put_upload(_synthetic_ecg(0))  # same content, same key
    ptbxl_service.zero_shot(key, {"A": ["sinus rhythm"]})
    assert (ptbxl_service.embedder().checkpoint_hash, key) in ptbxl_service._embeddings
    for cache in vars(ptbxl_service).values():
        if hasattr(cache, "maxsize"):
            assert not any(isinstance(k, int) for k in cache), "no id()-style keys"


def test_zero_shot_with_5000_prompts_keeps_every_text_of_the_call(tiny_mets, monkeypatch, tmp_path):
    """More distinct prompts than the text cache holds: every text of the call is still used (a bounded cache once
    evicted texts of the same call: "all input arrays must have the same shape")."""
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(service_module, "TEXT_CACHE_SIZE", 1000)  # well below the call, as 4,096 is below 5,000
    service = QueryService(ServiceConfig(checkpoints={"tiny": tiny_mets}, build_in_background=False))
    key = service.put_upload(_synthetic_ecg(1))
    classes = {f"class {i}": [f"rhythm {i}", f"finding {i}"] for i in range(2500)}  # 5,000 distinct prompts
    result = service.zero_shot(key, classes)
    assert len(result.scores.names) == 2500 and sum(result.scores.probability) == pytest.approx(1.0, abs=1e-3)
    assert len(service._texts) == 1000
    # The same call again (its class embeddings cached) and one that re-encodes gives the same scores.
    again = service.zero_shot(key, dict(reversed(list(classes.items()))))
    assert dict(zip(again.scores.names, again.scores.similarity, strict=True)) == pytest.approx(
        dict(zip(result.scores.names, result.scores.similarity, strict=True)), abs=1e-5
    )


def test_errors_a_user_can_fix_are_user_facing(tiny_mets, monkeypatch, tmp_path):
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path))
    service = QueryService(ServiceConfig(checkpoints={"tiny": tiny_mets}))
    for call, error in [
        (lambda: service.embedder("nope"), InvalidRequestError),
        (lambda: service.ecg("upload/000000000000"), RecordNotFoundError),
        (lambda: service.zero_shot("upload/x", {}), InvalidRequestError),
        (lambda: service.prompt_set("no_such_set"), InvalidRequestError),
        (lambda: service.upload([]), InvalidRequestError),
    ]:
        with pytest.raises(error) as info:
            call()
        assert isinstance(info.value, UserFacingError)
    assert issubclass(NoDataError, UserFacingError) and str(RecordNotFoundError("x y")) == "x y"


def test_annotation_exports_know_the_indexed_reports_and_files(ptbxl_service):
    desk = ptbxl_service.annotation_desk()
    record_id = ptbxl_service.explorer().records[0].record_id
    assert desk.record_text(record_id)  # the English report, for Label Studio tasks
    path = desk.record_path(record_id)
    assert path is not None and path.with_suffix(".hea").is_file()  # the WFDB record, for header copies
    assert desk.record_path("upload/0000") is None


def test_a_large_map_sends_a_fixed_sample_and_the_current_ecgs_neighbourhood(ptbxl_service, monkeypatch):
    monkeypatch.setattr(service_module, "MAP_MAX_POINTS", 50)
    monkeypatch.setattr(service_module, "MAP_NEIGHBOURHOOD", 10)
    explorer = ptbxl_service.explorer()
    plain = ptbxl_service.map("dataset")
    assert len(plain.records) == 50 and plain.total == 300 and plain.neighbours == 0 and plain.highlight is None
    view = ptbxl_service.map("dataset", "ptbxl/00180")
    drawn = [r.record_id for r in view.records]
    near = [n.record.record_id for n in ptbxl_service.nearest_ecgs("ptbxl/00180", 10, thumbnails=False)]
    # The same sample whatever the current ECG, plus its 10 nearest (itself first), each drawn once.
    assert set(r.record_id for r in plain.records) | set(near) == set(drawn) and len(drawn) == len(set(drawn))
    assert "ptbxl/00180" in drawn and view.neighbours == 10 and 50 <= len(drawn) <= 60
    rows = [explorer.row(rid) for rid in drawn]
    np.testing.assert_array_equal(view.xy, np.asarray(explorer.map_xy)[rows])
    assert view.groups == [explorer.record(rid).dataset for rid in drawn]


def test_text_search_ranks_ecgs_by_the_indexed_ecgs_whose_reports_state_the_query(ptbxl_service):
    explorer = ptbxl_service.explorer()
    phrase = "left bundle branch block"
    stating = [i for i, r in enumerate(explorer.records) if phrase in r.text_en.lower()]
    assert len(stating) >= 3, "the demo index should hold a few LBBB reports"
    # (the measured criterion the phrase names, QRS >= 120 ms, would re-order the list: its own test is below)
    found = ptbxl_service.search_text(phrase, 5, by_measurement=False)
    assert found.examples == len(stating) == ptbxl_service.example_count(phrase)
    # Counter-examples: the reports that state the counterpart (a complete RBBB, an incomplete LBBB) and not LBBB.
    counterpart = re.compile(r"(?<!incomplete )right bundle branch block|incomplete left bundle branch block")
    opposite = [i for i, r in enumerate(explorer.records) if counterpart.search(r.text_en.lower()) and i not in stating]
    assert found.opposites == len(opposite) >= 3
    # The similarity shown is the cosine to the examples' mean direction less OPPOSITE_WEIGHT x the counterparts',
    # computed here independently.
    emb = np.asarray(explorer.ecg_emb, dtype=np.float64)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    centre = unit[stating].mean(axis=0) - OPPOSITE_WEIGHT * unit[opposite].mean(axis=0)
    centre /= np.linalg.norm(centre)
    expected = sorted(unit @ centre, reverse=True)[:5]
    assert [n.similarity for n in found.ecgs] == pytest.approx(expected, abs=1e-4)
    # The hits that are themselves examples, for the view's tag.
    stating_ids = {explorer.records[i].record_id for i in stating}
    assert found.example_hits == {n.record.record_id for n in found.ecgs} & stating_ids
    # Off, or with too few reports stating the query: the text embedding ranks them (examples 0).
    measured = ptbxl_service.search_text(phrase, 5)
    assert measured.example_hits == {n.record.record_id for n in measured.ecgs} & stating_ids
    by_text = ptbxl_service.search_text(phrase, 5, by_example=False, by_measurement=False)
    assert (
        by_text.examples == 0
        and not by_text.example_hits
        and [n.similarity for n in by_text.ecgs] != [n.similarity for n in found.ecgs]
    )
    assert ptbxl_service.search_text("xylophone rhythm", 5).examples == 0 == ptbxl_service.example_count("xylophone")


def test_a_query_naming_a_measured_finding_lists_the_ecgs_that_meet_it_first(ptbxl_service):
    """ "sinus bradycardia" is a heart rate under 60 with P waves before the QRS: of the 50 nearest ECGs, those
    measured so come first, in the model's order, then those undecided, then the rest; the reports are the same
    either way."""
    query = "sinus bradycardia"
    found = ptbxl_service.search_text(query, 8)
    plain = ptbxl_service.search_text(query, CRITERIA_POOL, by_measurement=False)
    assert found.criteria == ("HR < 60 bpm (bradycardia)", "P waves before the QRS (sinus rhythm)")
    assert found.criteria_pool == CRITERIA_POOL
    assert plain.criteria == () and plain.criteria_met == () and plain.criteria_pool == 0 and plain.criteria_why == ()
    met = list(found.criteria_met)
    assert len(met) == len(found.ecgs) == 8
    assert met == sorted(met, key=lambda v: {True: 0, None: 1, False: 2}[v])
    assert met.count(True) >= 3  # the index holds bradycardic ECGs among the nearest
    for n, ok, why in zip(found.ecgs, met, found.criteria_why, strict=True):
        m = n.measurements
        hr, pr = (m.hr_bpm, m.pr_ms) if m is not None else (None, None)
        slow = None if hr is None else hr < 60.0
        p_waves = True if pr is not None else (False if m is not None and m.irregular_without_p else None)
        expected = False if False in (slow, p_waves) else None if None in (slow, p_waves) else True
        assert ok is expected, (n.record.record_id, hr, pr, ok)
        rate = "HR not measured" if hr is None else f"HR {hr:.0f} bpm (< 60 bpm: {'met' if slow else 'not met'})"
        if ok or (ok is False and slow is False) or (ok is None and slow is None):
            assert why.startswith(rate), (why, rate)
    pool = [r.record.record_id for r in plain.ecgs]
    meeting = [n.record.record_id for n, ok in zip(found.ecgs, met, strict=True) if ok]
    assert meeting == [i for i in pool if i in meeting]  # the model's order kept among them
    assert [m.record_ids for m in found.reports] == [m.record_ids for m in plain.reports[:8]]
    # A query with no measured finding is the model's list, untouched.
    normal = ptbxl_service.search_text("poor R wave progression", 5)
    assert normal.criteria == () and normal.criteria_met == () and normal.criteria_pool == 0
