"""Text -> ECG by example (core/search/examples.py): which reports count as examples, and the query they make."""

from __future__ import annotations

import numpy as np
import pytest

from core.search.examples import MIN_EXAMPLES, OPPOSITE_WEIGHT, ExampleSource, example_query
from core.search.phrase_index import PhraseIndex

TEXTS = [
    "sinus rhythm. complete left bundle branch block.",
    "complete left bundle branch block, left axis deviation",
    "atrial fibrillation. complete left bundle branch block",
    "complete right bundle branch block",
    "no left bundle branch block. sinus rhythm",  # negated: not an example
    "left bundle branch block, incomplete",  # words out of the query's order
    "sinus rhythm. complete left bundle branch block.",  # a repeated text still counts per record
]


def test_only_reports_stating_the_phrase_in_order_and_not_negated_are_examples():
    reports = PhraseIndex(TEXTS)
    assert len(reports) == 7 and reports.n_texts == 6
    assert reports.stating_rows(["complete left bundle branch block"]).tolist() == [0, 1, 2, 6]
    # Several wordings of one finding: their union.
    assert reports.stating_rows(["complete right bundle branch block", "atrial fibrillation"]).tolist() == [2, 3]
    # A negated query finds the reports that negate it.
    assert reports.stating_rows(["no left bundle branch block"]).tolist() == [4]
    allowed = np.array([True, False, True, True, True, True, False])
    assert reports.stating_rows(["complete left bundle branch block"], allowed).tolist() == [0, 2]
    assert reports.stating_rows(["pericarditis"]).tolist() == [] and reports.stating_rows([""]).tolist() == []


def test_the_query_is_the_unit_mean_of_the_examples_away_from_the_opposites_and_needs_enough_examples():
    emb = np.zeros((len(TEXTS), 3))
    emb[[0, 1, 2, 6], 0] = [2.0, 1.0, 3.0, 1.0]  # LBBB ECGs point along x, at any length
    emb[[0, 1, 2, 6], 2] = [0.0, 1.0, 0.0, 0.0]
    emb[3, 1] = 5.0  # the RBBB ECG along y
    found = example_query("complete left bundle branch block", TEXTS, emb)
    assert found is not None and found.count == 4 and found.indices.tolist() == [0, 1, 2, 6]
    # The RBBB report states the opposite: its ECG's direction is subtracted (OPPOSITE_WEIGHT of it).
    assert found.opposites.tolist() == [3] and found.counterpart == "complete right bundle branch block"
    expected = np.array([3 + 1 / np.sqrt(2), 0.0, 1 / np.sqrt(2)]) / 4 - OPPOSITE_WEIGHT * np.array([0.0, 1.0, 0.0])
    assert found.vector == pytest.approx(expected / np.linalg.norm(expected), abs=1e-6)
    assert np.linalg.norm(found.vector) == pytest.approx(1.0) and found.vector[1] < 0
    # Outside the allowed rows an opposite is no counter-example.
    allowed = np.array([True, True, True, False, True, True, True])
    alone = example_query("complete left bundle branch block", TEXTS, emb, allowed=allowed)
    assert alone.opposites.tolist() == [] and alone.vector[1] == 0.0
    # One report states RBBB: enough for MIN_EXAMPLES (1), not for 2 (the caller then falls back to the text).
    assert MIN_EXAMPLES == 1 and example_query("complete right bundle branch block", TEXTS, emb).count == 1
    assert example_query("complete right bundle branch block", TEXTS, emb, min_examples=2) is None
    assert example_query("pericarditis", TEXTS, emb) is None
    assert ExampleSource(TEXTS, emb).query(["complete left bundle branch block"]).count == 4
    assert example_query("complete left bundle branch block", PhraseIndex(TEXTS), emb).indices.tolist() == [0, 1, 2, 6]
    with pytest.raises(ValueError, match="7 report texts for 6 ECG embeddings"):
        example_query("left", TEXTS, emb[:6])
