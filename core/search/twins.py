"""Twin findings: a report that states the counterpart of the query's finding ("right bundle branch block" for a
query "left bundle branch block", "ST depression" for "ST elevation", "anterior infarction" for "inferior
infarction"; the app says "counterpart", since "atrial" vs "ventricular" is no opposite).

The dense part of the report search cannot tell them apart: METS keeps its general-purpose language model frozen, and
it embeds "sinus rhythm. right bundle branch block." closer to "complete left bundle branch block" than the LBBB
reports with longer texts, so twins ranked among the query's own reports (the Retrieve tab, 700-record index: two RBBB
reports at ranks 6 and 7, above five LBBB reports). The search (:class:`core.search.hybrid.HybridReportSearch`)
lowers a twin report's score.

A query's **contrast pairs** are its adjacent words (per clause, :func:`core.search.lexical.words`) where one word
says a side, a wall, a direction, an origin, a degree or a duration (:data:`TWIN_WORDS`). A report is a twin when it
states one of those pairs with that word swapped for a twin word and does not state that pair itself.
Two words are twins when they belong to one group and share no part: "inferior" and "anteroseptal" are twins,
"anterior" and "anteroseptal" are not (an anteroseptal infarction is an anterior one); "supraventricular" and
"ventricular" are, "supraventricular" and "atrial" are not. "Incomplete" is read as the lexical index reads it
(:data:`core.search.lexical.INCOMPLETE`): an incomplete right bundle branch block is the twin of a complete one.
A coordinated list states each of its words: "inferior and anterior infarction" states "inferior infarction".
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.search.lexical import INCOMPLETE, spell_out, words

# word -> (group, parts). Words of one group with disjoint parts are twins.
TWIN_WORDS: dict[str, tuple[str, frozenset[str]]] = {
    word: (group, frozenset(parts))
    for group, members in {
        "side": {"left": "L", "right": "R"},
        "wall": {
            "anterior": "A", "inferior": "I", "posterior": "P", "lateral": "L", "septal": "S",
            "anteroseptal": "AS", "anterolateral": "AL", "inferolateral": "IL", "inferoposterior": "IP",
            "posterolateral": "PL",
        },
        "direction": {"elevation": "E", "depression": "D"},
        "origin": {"sinus": "S", "atrial": "A", "junctional": "J", "supraventricular": "SAJ", "ventricular": "V"},
        "rate": {"bradycardia": "B", "tachycardia": "T"},
        "flutter": {"fibrillation": "F", "flutter": "L"},
        "degree": {"first": "1", "second": "2", "third": "3"},
        "voltage": {"high": "H", "low": "L"},
        "duration": {"long": "L", "prolonged": "L", "short": "S"},
    }.items()
    for word, parts in members.items()
}  # fmt: skip


# Words that name a part of the tracing, skipped between a pair's words: "ST segment elevation" and "ST elevation".
FILLER = frozenset({"segment", "wave", "wall", "complex"})


def are_twins(a: str, b: str) -> bool:
    """Whether two words say opposite things of one kind ("left"/"right", "inferior"/"anteroseptal")."""
    if a not in TWIN_WORDS or b not in TWIN_WORDS:
        return False
    (group_a, parts_a), (group_b, parts_b) = TWIN_WORDS[a], TWIN_WORDS[b]
    return group_a == group_b and not parts_a & parts_b


def _is_contrast(word: str) -> bool:
    return word.removeprefix(INCOMPLETE) in TWIN_WORDS or word.startswith(INCOMPLETE)


def contrast_pairs(query: str) -> list[tuple[str, str]]:
    """Adjacent word pairs of the query where a word tells twins apart: ``[("left", "bundle")]`` for "LBBB"."""
    out = []
    for clause in without_filler(words(query)):
        for a, b in zip(clause, clause[1:], strict=False):
            if a != "incomplete" and (_is_contrast(a) or _is_contrast(b)):
                out.append((a, b))
    return out


def swaps(pair: tuple[str, str]) -> list[tuple[str, str]]:
    """The pairs a twin report says instead of ``pair``: one word swapped for a twin word, or the pair's
    completeness changed ("right_bundle" <-> "incomplete_right incomplete_bundle")."""
    a, b = pair
    prefix = INCOMPLETE if a.startswith(INCOMPLETE) else ""
    if b.startswith(INCOMPLETE) != bool(prefix):  # the pair straddles the end of an "incomplete" scope
        return []
    a, b = a.removeprefix(prefix), b.removeprefix(prefix)
    out = [(x, b) for x in TWIN_WORDS if are_twins(a, x)] + [(a, x) for x in TWIN_WORDS if are_twins(b, x)]
    out = [(prefix + x, prefix + y) for x, y in out]
    if not a.startswith("no_") and not b.startswith("no_"):
        other = "" if prefix else INCOMPLETE
        out.append((other + a, other + b))
    return out


def states_pair(clauses: Iterable[list[str]], pair: tuple[str, str]) -> bool:
    """Whether a clause says ``pair``'s words in order, adjacent or with a list of same-kind words between them
    ("inferior and anterior infarction" says "inferior infarction"; "and" is a stopword)."""
    a, b = pair
    kind = _kind(a) or _kind(b)
    for clause in clauses:
        for i, word in enumerate(clause):
            if word != a:
                continue
            j = i + 1
            while j < len(clause) and clause[j] != b and kind and _kind(clause[j]) == kind:
                j += 1
            if j < len(clause) and clause[j] == b:
                return True
    return False


def counterpart_phrases(phrase: str) -> list[str]:
    """The phrase with one side, wall, direction, ... word swapped for a twin, every way ("ST depression" for "ST
    elevation"; "atrial fibrillation" and "sinus flutter" for "atrial flutter"): what its counterpart reports may say,
    to show one that they do say (:func:`core.search.examples.example_query`)."""
    phrase = spell_out(phrase)  # "LBBB"
    out = []
    for match in re.finditer(r"[A-Za-z]+", phrase):
        for twin in (w for w in TWIN_WORDS if are_twins(match.group().lower(), w)):
            out.append(phrase[: match.start()] + twin + phrase[match.end() :])
    return out


def followers(pair: tuple[str, str]) -> set[str]:
    """The words that can come right after ``pair[0]`` in a clause that states ``pair`` (:func:`states_pair`): its
    second word, or a word of the list's kind. An index finds candidate reports by these adjacent pairs."""
    a, b = pair
    kind = _kind(a) or _kind(b)
    same = [w for w, (group, _) in TWIN_WORDS.items() if group == kind] if kind else []
    return {b, *same, *(INCOMPLETE + w for w in same)}


def _kind(word: str) -> str | None:
    found = TWIN_WORDS.get(word.removeprefix(INCOMPLETE))
    return found[0] if found else None


def states_twin(text: str, pairs: list[tuple[str, str]]) -> bool:
    """Whether ``text`` states a twin of the query whose :func:`contrast_pairs` are ``pairs``: one of them with a word
    swapped for its twin, and not that pair itself."""
    return bool(pairs) and clauses_state_twin(without_filler(words(text)), pairs)


def clauses_state_twin(clauses: list[list[str]], pairs: list[tuple[str, str]]) -> bool:
    """:func:`states_twin` on a text's clauses as :func:`without_filler` gives them."""
    return any(not states_pair(clauses, p) and any(states_pair(clauses, s) for s in swaps(p)) for p in pairs)


def without_filler(clauses: list[list[str]]) -> list[list[str]]:
    """Clauses (:func:`core.search.lexical.words`) without the words that only name a part ("st segment elevation"
    says "st elevation")."""
    return [[w for w in clause if w not in FILLER] for clause in clauses]
