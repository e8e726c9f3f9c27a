"""Hedged findings: "possible old inferior infarction" is weaker evidence than "old inferior infarction".

Reports hedge often (281 of the 2,730 shared PTB-XL reports say possible, probable, suspected or questionable), and a
hedged report holds every word of the finding, so BM25 ranks it with the definite ones: for "old inferior
infarction" 8 of the top 10 training reports said "possible" / "probable" / "suggesting" while reports stating it
("q waves in ii, iii, avf consistent with old inferior myocardial infarction") waited lower. The search
(:class:`core.search.hybrid.HybridReportSearch`) lowers the lexical part of a report whose best match for the query
is hedged, so definite statements come first and hedged ones still follow.

Scope, per clause (punctuation ends it, as for negation in :mod:`core.search.lexical`): a cue before a finding
governs the rest of the clause ("possible old inferior infarction", "st-t abnormal, probably inferior ischemia");
a cue that ends the clause, and "cannot be excluded" / "not excluded" / "cannot be ruled out", govern the words before
it ("left ventricular hypertrophy possible"). "Anterior infarction, probably old" hedges the age only: its comma makes
"probably old" a clause of its own.
"""

from __future__ import annotations

from collections.abc import Collection

from core.search.lexical import NEGATED, NOT_EXCLUDED, TURNS, words

HEDGE_CUES = frozenset(
    {
        "possible", "possibly", "probable", "probably", "likely", "may", "suspected", "questionable",
        "suggesting", "suggestive", "suggests", "consider", "borderline",
    }
)  # fmt: skip
# Cues that govern the words before them: "old anteroseptal infarct cannot be excluded" (the words that make a negation
# say "possible", :data:`core.search.lexical.NOT_EXCLUDED`).
_BEFORE_CUES = NOT_EXCLUDED


def hedge_flags(clause: list[str]) -> list[bool]:
    """Per word of a clause (:func:`core.search.lexical.words`), whether a hedge governs it (the cue included)."""
    flags = [False] * len(clause)
    for i, word in enumerate(clause):
        if word in _BEFORE_CUES or (word in HEDGE_CUES and i == len(clause) - 1 and i > 0):
            start = max((k + 1 for k in range(i) if clause[k] in TURNS), default=0)
            flags[start : i + 1] = [True] * (i + 1 - start)
        elif word in HEDGE_CUES:
            flags[i:] = [True] * (len(clause) - i)
            break
    return flags


def query_words(query: str) -> frozenset[str]:
    """The words a hedge check looks for; empty when the query itself hedges ("possible LVH" asks for those)."""
    found = [w for clause in words(query) for w in clause]
    if any(w in HEDGE_CUES or w in _BEFORE_CUES for w in found):
        return frozenset()
    return frozenset(w for w in found if not w.startswith(NEGATED))


def only_hedged(text: str, wanted: Collection[str]) -> bool:
    """Whether the clauses of ``text`` that hold the most of ``wanted`` hold them only hedged.

    The best clauses decide, not any word: in "possible left atrial enlargement. left ventricular hypertrophy", the
    query "left ventricular hypertrophy" is stated in the second clause, and the hedged "left" of the first does not
    matter; in "sinus rhythm. possible left ventricular hypertrophy. left axis" the finding is hedged although "left"
    also occurs unhedged.
    """
    if not wanted:
        return False
    best, best_hedged = 0, False
    for clause in words(text):
        flags = hedge_flags(clause)
        matched = {w for w in clause if w in wanted}
        definite = {w for w, hedged in zip(clause, flags, strict=True) if w in wanted and not hedged}
        if len(matched) > best:
            best, best_hedged = len(matched), not definite
        elif matched and len(matched) == best:
            best_hedged = best_hedged and not definite
    return best > 0 and best_hedged
