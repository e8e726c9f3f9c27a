"""Lexical report scoring: clinical tokenisation + BM25 (``bm25s``).

Reports are short and their meaning sits in word order ("left bundle branch block" vs "left axis. right bundle branch
block" share every word), so each report is indexed as its words **and** its ordered word pairs within a clause, up
to two words apart ("left_bundle", "st_elevation", and "st_elevation" again from "st segment elevation"); a query's
pairs count twice, so they only lift reports that say the phrase. There is no stemming:
the opposites that matter (left/right, elevation/depression, brady/tachy) must stay distinct tokens, and the few
common abbreviations are spelled out (both in reports and queries; plural ones too) so "LBBB" and "left bundle branch
block" match,
and the participles and plurals reports use for ST and T findings become the nouns of a query ("st segments are
elevated" says "st elevation"). A lead list adds the wall it points at (:mod:`core.search.territory`): "ST
elevation in II, III, aVF" is indexed with "inferior", "inferior_elevation" and "inferior_st_elevation"
(:func:`wall_tokens`), so a query for inferior ST elevation finds it and no longer ranks "ST elevation in V2" first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import bm25s
import numpy as np
from bm25s.stopwords import STOPWORDS_EN

from core.search.territory import TERRITORIES, lead_lists

# English function words only; "no"/"not" are in the list: they are read as negation cues before it applies.
# Plus "myocardial", filler in these reports ("inferior myocardial infarction" and "inferior infarction" say the same):
# were it kept, every "... myocardial infarction" report would match an "anterior myocardial infarction" query through
# two words and their pair, above "anterior infarction possible".
STOPWORDS = frozenset(STOPWORDS_EN) | {"myocardial"}
# Abbreviations spelled out before indexing (lower case). Kept small and unambiguous; "st" alone is the ST segment.
ABBREVIATIONS: dict[str, str] = {
    "lbbb": "left bundle branch block",
    "clbbb": "complete left bundle branch block",
    "ilbbb": "incomplete left bundle branch block",
    "rbbb": "right bundle branch block",
    "crbbb": "complete right bundle branch block",
    "irbbb": "incomplete right bundle branch block",
    "lafb": "left anterior fascicular block",
    "lpfb": "left posterior fascicular block",
    "lah": "left anterior hemiblock",
    "lvh": "left ventricular hypertrophy",
    "rvh": "right ventricular hypertrophy",
    "lae": "left atrial enlargement",
    "rae": "right atrial enlargement",
    "afib": "atrial fibrillation",
    "af": "atrial fibrillation",
    "afl": "atrial flutter",
    "avb": "av block",
    "1avb": "first degree av block",
    "pvc": "premature ventricular contraction",
    "pac": "premature atrial contraction",
    "mi": "myocardial infarction",
    "imi": "inferior myocardial infarction",
    "ami": "anterior myocardial infarction",
    "asmi": "anteroseptal myocardial infarction",
    "wpw": "wolff parkinson white",
    "ste": "st elevation",
    "stemi": "st elevation myocardial infarction",
    "std": "st depression",
    "rvr": "rapid ventricular response",
}
# Participles of the ST/T findings as their nouns, and the plurals of the wave words, so that "t waves are inverted"
# says "t wave inversion"; "elevation" and "depression" stay apart (there is no general stemming). Then one spelling
# for words the shared reports write two ways (English of PTB-XL, both folders: "ischaemia" 116 distinct reports,
# "ischemia" 157; "infarct" 35, "infarction" 411) and for what users type instead ("atrioventricular" for the reports'
# "av", "1st degree"), so that a query in either finds both.
WORD_FORMS: dict[str, str] = {
    "elevated": "elevation",
    "depressed": "depression",
    "inverted": "inversion",
    "waves": "wave",
    "segments": "segment",
    "ischaemia": "ischemia",
    "ischaemic": "ischemic",
    "infarct": "infarction",
    "infarcts": "infarction",
    "infarctions": "infarction",
    "atrioventricular": "av",
    "1st": "first",
    "2nd": "second",
    "3rd": "third",
    "beats": "beat",
    "contractions": "contraction",
    "complexes": "complex",
    "extrasystoles": "extrasystole",
    "repolarisation": "repolarization",
    "depolarisation": "depolarization",
}
# Negation (:func:`negate`): a cue marks the rest of its clause; "excluded" after it makes the clause a possibility.
NEGATION_CUES = frozenset({"no", "not", "without", "absence", "kein", "keine", "keinen"})
NOT_EXCLUDED = frozenset({"excluded", "exclude", "excludes", "ruled"})
# A cue after its finding ("acute pericarditis would be unlikely") marks the words before it, back to the clause's
# start or to a word that turns the sentence ("poor r progression but previous infarct unlikely").
AFTER_NEGATION_CUES = frozenset({"unlikely"})
TURNS = frozenset({"but", "although", "though", "however", "whereas"})
PHRASE_FILLER = frozenset({"segment"})  # skipped when a phrase is looked for (:func:`phrase_clauses`)
NEGATED = "no_"  # prefix of a negated word: "no_ischaemia" never matches "ischaemia"
# "Incomplete right bundle branch block" is not a right bundle branch block (QRS under 120 ms, often a normal
# variant), yet it holds every word of one: the words an "incomplete" governs, up to the "block" it qualifies, carry
# this prefix (:func:`qualify_incomplete`), so that "RBBB" neither finds nor takes as examples the incomplete ones
# (102 of the 183 shared PTB-XL reports with the words "right bundle branch block" said "incomplete").
INCOMPLETE = "incomplete_"
# Query word pairs count twice: the pair is where twins differ ("left_bundle" vs "right_bundle"), while the words
# they share ("bundle", "branch", "block") would otherwise carry most of the score.
PAIR_WEIGHT = 2
# Ordered pairs of words at most this far apart (as in the sequential dependence model, Metzler & Croft 2005):
# "anterior myocardial infarction" then also yields "anterior_infarction", the pair of the shorter wording.
PAIR_SPAN = 2
# ... but never over a word that tells twin findings apart: "premature atrial contraction" and "premature ventricular
# contraction" both gave "premature_contraction", so a PVC report matched a PAC query through a pair. Chosen on
# training reports (`python -m core.evaluate.by_example_dev`, text -> report of the contrast set, all three
# checkpoints): mean pair AUC 0.749 -> 0.755 (METS), PAC vs PVC 0.716 -> 0.776, LBBB vs RBBB 0.822 -> 0.837, no pair
# lower by more than 0.002. Skipping only filler words ("segment", "wave", "lead") was tried there too and not kept
# (LBBB vs RBBB 0.822 -> 0.793: "left bundle branch block" lost "left_branch").
CONTRAST_WORDS = frozenset(
    {
        "left", "right", "atrial", "ventricular", "supraventricular", "junctional", "sinus",
        "anterior", "inferior", "posterior", "lateral", "septal", "anteroseptal", "anterolateral", "inferolateral",
        "elevation", "depression", "first", "second", "third", "high", "low",
    }
)  # fmt: skip
_CLAUSE = re.compile(r"[.;:,()\n]+")
_SENTENCE = re.compile(r"[.;\n]+")
# Cheap tests that spare most sentences the parsing: no lead name, or no wall word after a colon.
_MAY_NAME_LEADS = re.compile(r"\b(?:i{1,3}|av[rlf]|v[1-6])\b")
_MAY_NAME_WALL = re.compile("|".join(TERRITORIES))
# Words before a lead list that say the finding ("st segment elevation in ii, iii, avf").
_FINDING_WORDS = 3
# Words that say where, not what: "inferior leads", "anterior wall", lead names.
_PLACE_WORDS = frozenset({"leads", "lead", "wall", "walls", "i", "ii", "iii", "avr", "avl", "avf"}) | {
    f"v{k}" for k in range(1, 7)
}
_WORD = re.compile(r"[a-z0-9]+")


def spelled(word: str) -> str | None:
    """The spelled-out form of a lower-case abbreviation of :data:`ABBREVIATIONS`, a plural one too ("pvcs" ->
    "premature ventricular contraction"); None for any other word."""
    if word not in ABBREVIATIONS and word.endswith("s"):
        word = word[:-1]
    return ABBREVIATIONS.get(word)


def spell_out(text: str) -> str:
    """``text`` with each abbreviation of :data:`ABBREVIATIONS` spelled out, a plural one too ("LBBB" -> "left bundle
    branch block", "PVCs" -> "premature ventricular contraction"); other words as they are."""
    return re.sub(r"[A-Za-z0-9]+", lambda m: spelled(m.group().lower()) or m.group(), text)


def words(text: str) -> list[list[str]]:
    """Lower-case words of each clause of ``text``, abbreviations spelled out, stopwords dropped; the words a
    negation governs carry :data:`NEGATED` (:func:`negate`), those an "incomplete" governs :data:`INCOMPLETE`
    (:func:`qualify_incomplete`)."""
    clauses = []
    for clause in _CLAUSE.split(str(text).lower()):
        out: list[str] = []
        for word in _WORD.findall(clause):
            word = WORD_FORMS.get(word, word)
            out.extend((spelled(word) or word).split())
        clauses.append([w for w in qualify_incomplete(negate(out)) if w not in STOPWORDS])
    return [c for c in clauses if c]


def qualify_incomplete(clause: list[str]) -> list[str]:
    """The words after "incomplete", up to and including the next "block" (else to the clause's end), marked with
    :data:`INCOMPLETE`: "incomplete right bundle branch block" -> ``incomplete incomplete_right incomplete_bundle
    incomplete_branch incomplete_block``. A query that says "incomplete" is marked alike and finds them."""
    out: list[str] = []
    governed = False
    for word in clause:
        out.append(INCOMPLETE + word if governed else word)
        if word == "incomplete":
            governed = True
        elif governed and word == "block":
            governed = False
    return out


def negate(clause: list[str]) -> list[str]:
    """The words of a clause after a negation cue ("no", "not", "without", "absence of") marked with
    :data:`NEGATED`, the cue itself dropped: "no ECG evidence of ischaemia" must not answer a query for ischaemia, and
    a query "no ST elevation" finds the reports that say so. The scope is the rest of the clause (reports are
    terse; punctuation ends it). "Not excluded" / "cannot be excluded" say the finding is possible: not a negation.
    A cue after its finding ("the cause of the bradycardia is not evident") governs only the words after it, except
    "unlikely" (:data:`AFTER_NEGATION_CUES`), which governs the words before it."""
    for i, word in enumerate(clause):
        if word in AFTER_NEGATION_CUES:
            start = max((k + 1 for k in range(i) if clause[k] in TURNS), default=0)
            return (
                clause[:start] + [NEGATED + w for w in clause[start:i] if w not in STOPWORDS] + negate(clause[i + 1 :])
            )
        if word in NEGATION_CUES and not NOT_EXCLUDED.intersection(clause[i + 1 :]):
            rest = clause[i + 1 :]
            if word == "absence" and rest[:1] == ["of"]:
                rest = rest[1:]
            return clause[:i] + [NEGATED + w for w in rest if w not in STOPWORDS]
    return clause


def negated_words(text: str) -> list[str]:
    """The words of ``text`` that a negation governs (:func:`negate`), without their prefix: ``["p", "wave"]`` for
    "no P waves". An embedding model reads such a text close to the finding itself (see the Retrieve tab)."""
    return [w.removeprefix(NEGATED) for clause in words(text) for w in clause if w.startswith(NEGATED)]


def tokens(text: str, pair_weight: int = 1) -> list[str]:
    """Index tokens of a text: its words plus the adjacent word pairs within each clause (``"left_bundle"``).

    ``pair_weight`` repeats each pair (BM25 sums repeated query tokens): a query weighs word order that much more.
    """
    out: list[str] = []
    for clause in words(text):
        out.extend(clause)
        pairs = word_pairs(clause)
        pairs += written_wall_tokens(clause)
        out.extend(p for p in pairs for _ in range(pair_weight))
    return out + wall_tokens(text, pair_weight)


def word_pairs(clause: list[str]) -> list[str]:
    """Ordered pairs of a clause's words at most :data:`PAIR_SPAN` apart, none across a :data:`CONTRAST_WORDS` word."""
    out: list[str] = []
    for i, first in enumerate(clause):
        for j in range(i + 1, min(i + 1 + PAIR_SPAN, len(clause))):
            out.append(f"{first}_{clause[j]}")
            if clause[j] in CONTRAST_WORDS:
                break
    return out


def written_wall_tokens(clause: list[str]) -> list[str]:
    """A wall written out in a clause, tied to the finding as a lead list ties it (:func:`wall_tokens`): the words
    after it ("lateral t wave inversion") or before it ("st elevation in inferior leads"), up to three, without the
    words that only say where ("leads", "wall")."""
    out: list[str] = []
    for i, wall in enumerate(clause):
        if wall in TERRITORIES:
            after = [w for w in clause[i + 1 :] if w not in _PLACE_WORDS][:_FINDING_WORDS]
            before = [w for w in clause[:i] if w not in _PLACE_WORDS][-_FINDING_WORDS:]
            out += _wall_finding(wall, after, always=True) + _wall_finding(wall, before, always=True)
    return out


def wall_tokens(text: str, pair_weight: int = 1) -> list[str]:
    """The walls a report names by leads or after a colon, tied to what was found there.

    "st segment elevation in ii, iii, avf" (a lead list, :mod:`core.search.territory`) and "STEMI: inferior wall"
    (LUDB's "finding: wall") both give ``inferior``, ``inferior_elevation`` and ``inferior_st_elevation`` among
    others (:func:`_wall_finding` on the last words before the list or the colon).
    """
    out: list[str] = []
    for sentence in _SENTENCE.split(str(text).lower()):
        placed: list[tuple[list[str], str]] = []  # (finding words, wall)
        for found in lead_lists(sentence) if _MAY_NAME_LEADS.search(sentence) else ():
            if found.territories:
                before = words(sentence[: found.start])
                placed += [(before[-1] if before else [], wall) for wall in found.territories]
        finding, colon, where = sentence.partition(":")
        if colon and _MAY_NAME_WALL.search(where):
            before = words(finding)
            placed += [(before[-1], w) for clause in words(where) for w in clause if w in TERRITORIES and before]
        for finding_words, wall in placed:
            out.append(wall)
            out.extend(
                t for t in _wall_finding(wall, finding_words[-_FINDING_WORDS:], always=True) for _ in range(pair_weight)
            )
    return out


def _wall_finding(wall: str, finding: list[str], *, always: bool = False) -> list[str]:
    """Tokens tying a wall to a finding: the wall with the finding's last word, which usually says what was found
    ("inferior_elevation"), and with each ordered pair of the finding's words ("inferior_st_elevation").

    Not the wall with "st" alone: "ST depression in II, III, aVF" would then share "inferior_st" with a query for
    inferior ST elevation and outrank the ST elevation reports. Written out ("lateral t wave inversion"), the wall and
    a near last word are already a word pair (``always`` False: then only the three-word tokens are added).
    """
    if not finding:
        return []
    out = [f"{wall}_{finding[-1]}"] if (always or len(finding) > PAIR_SPAN) else []
    return out + [f"{wall}_{a}_{b}" for i, a in enumerate(finding) for b in finding[i + 1 :]]


def contains_phrase(text: str, phrase: str) -> bool:
    """Whether ``phrase``'s words appear consecutively in one clause of ``text`` (same tokenisation as the index)."""
    return clauses_contain(phrase_clauses(text), phrase_words(phrase))


def phrase_clauses(text: str) -> list[list[str]]:
    """:func:`words` as a phrase is looked for in them: without "segment", so that "st segments are depressed" states
    "ST depression" and "ST segment depression" alike."""
    return [c for c in ([w for w in clause if w not in PHRASE_FILLER] for clause in words(text)) if c]


def phrase_words(phrase: str) -> list[str]:
    """The words of ``phrase`` as :func:`contains_phrase` looks for them (clauses joined)."""
    return [w for clause in phrase_clauses(phrase) for w in clause]


def clauses_contain(clauses: list[list[str]], needle: list[str]) -> bool:
    """Whether ``needle`` occurs consecutively in one of ``clauses`` (:func:`words` of a text)."""
    n = len(needle)
    return bool(n) and any(clause[i : i + n] == needle for clause in clauses for i in range(len(clause) - n + 1))


class LexicalIndex:
    """BM25 over a list of documents with :func:`tokens` as the tokeniser.

    Args:
        texts: the documents (distinct report texts).
        k1: BM25 term-frequency saturation (library default).
        b: BM25 length normalisation (library default).
    """

    def __init__(self, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75, pair_weight: int = PAIR_WEIGHT):
        self.size = len(texts)
        self.pair_weight = pair_weight
        self._bm25 = bm25s.BM25(k1=k1, b=b)
        # An empty document still needs one token for the library's sparse matrix; "" never occurs in a query.
        self._bm25.index([tokens(t) or [""] for t in texts], show_progress=False)

    def scores(self, query: str) -> np.ndarray:
        """(n_docs,) BM25 scores of ``query`` (zeros when none of its tokens occurs in the corpus)."""
        query_tokens = tokens(query, self.pair_weight)
        if not query_tokens or not self.size:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(query_tokens), dtype=np.float32)
