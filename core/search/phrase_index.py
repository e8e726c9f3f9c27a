"""Which reports state a phrase, answered from an inverted index instead of reading every report per query.

A phrase is stated where its words occur consecutively in one clause, not negated, as
:func:`core.search.lexical.contains_phrase` reads it. Reports repeat (machine statements), so each distinct text is
tokenised once, when the index is built, and listed under each of its words and adjacent word pairs; a query then
reads only the texts that hold all of its pairs (the postings of its rarest pair, intersected with the others'), so
its cost follows how many reports share those pairs, not the size of the index. A phrase of one or two words is
answered by the postings alone. ``python -m bench.bench_phrases`` times both ways over 10,000 and 100,000 distinct
reports made of the shared PTB-XL reports' sentences (figures in README).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from functools import partial, reduce

import numpy as np
from cachetools import LRUCache

from core.search.lexical import phrase_clauses, phrase_words
from core.search.twins import clauses_state_twin, contrast_pairs, followers, swaps, without_filler

OPPOSITES_CACHE_SIZE = 256  # phrase sets whose counterpart texts are kept


class PhraseIndex:
    """Rows (records) whose report states a phrase.

    Args:
        texts: the report of each row; identical texts are tokenised once.
    """

    def __init__(self, texts: Sequence[str]):
        distinct: dict[str, int] = {}
        self.text_of_row = np.fromiter(
            (distinct.setdefault(str(t), len(distinct)) for t in texts), dtype=np.int64, count=len(texts)
        )
        # Each text as one flat tuple of interned words, clauses separated by "" (which no phrase holds): a third of
        # the memory of a list per clause and one string per word, not per occurrence.
        self._words: list[tuple[str, ...]] = []
        postings: dict[str, list[int]] = {}
        for j, text in enumerate(distinct):
            clauses = phrase_clauses(text)
            self._words.append(tuple(w for clause in clauses for w in (*map(sys.intern, clause), "")))
            # Adjacent pairs also without the words that only name a part ("st segment depression" -> "~st
            # depression"), apart from the phrases' keys: the counterparts' candidates (:meth:`opposite_texts`).
            keys = {k for clause in clauses for k in _keys(clause)}
            keys.update(_BARE + k for clause in without_filler(clauses) for k in _pair_keys(clause))
            for key in keys:
                postings.setdefault(key, []).append(j)
        self._postings = {k: np.asarray(ids, dtype=np.int32) for k, ids in postings.items()}
        self._opposites: LRUCache = LRUCache(OPPOSITES_CACHE_SIZE)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Number of rows."""
        return len(self.text_of_row)

    @property
    def n_texts(self) -> int:
        """Number of distinct texts."""
        return len(self._words)

    def stating_texts(self, phrases: Sequence[str]) -> np.ndarray:
        """Sorted ids of the distinct texts that state any of ``phrases``."""
        found: set[int] = set()
        for needle in (n for n in (phrase_words(p) for p in phrases) if n):
            # A phrase of several words: its adjacent pairs (far fewer reports hold "st depression" than both words).
            lists = [self._postings.get(k) for k in set(_keys(needle) if len(needle) > 1 else needle)]
            if any(ids is None for ids in lists):
                continue  # a word no report has
            candidates = reduce(
                partial(np.intersect1d, assume_unique=True), sorted(lists, key=len)
            )  # postings are unique
            if len(needle) <= 2:  # a word's or a pair's postings are its answer
                found.update(candidates.tolist())
                continue
            found.update(j for j in candidates.tolist() if _contains(self._words[j], needle))
        return np.array(sorted(found), dtype=np.int64)

    def opposite_texts(self, phrases: Sequence[str]) -> np.ndarray:
        """Sorted ids of the distinct texts that state the opposite of one of ``phrases`` (:mod:`core.search.twins`:
        "right bundle branch block" for "left bundle branch block") and state none of them. Kept per phrase set
        (the app asks for a query's counter-examples twice: to count them and to search)."""
        key = tuple(phrases)
        with self._lock:
            cached = self._opposites.get(key)
        if cached is not None:
            return cached
        stating = self.stating_texts(phrases)
        found = _NONE
        for phrase in phrases:
            pairs = contrast_pairs(phrase)
            unsure = _NONE
            for pair in pairs:
                swapped = swaps(pair)
                # Sure without reading: a swap said adjacently, and the pair itself not said at all.
                sure = np.setdiff1d(self._bare(swapped), self._may_state(pair))
                found = np.union1d(found, sure)
                # Unsure, read below: may say a swap (a list between its words), and does not say the pair adjacently.
                maybe = self._bare([(a, f) for a, b in swapped for f in followers((a, b))])
                unsure = np.union1d(unsure, np.setdiff1d(maybe, np.union1d(sure, self._bare([pair]))))
            read = np.setdiff1d(np.setdiff1d(unsure, found), stating).tolist()  # a stating text is no counterpart
            confirmed = [j for j in read if clauses_state_twin(without_filler(_clauses(self._words[j])), pairs)]
            found = np.union1d(found, np.asarray(confirmed, dtype=np.int64))
        found = np.setdiff1d(found, stating)
        out = found.astype(np.int64)
        out.setflags(write=False)  # shared by every caller of the cache
        with self._lock:
            self._opposites[key] = out
        return out

    def _bare(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Sorted ids of the texts that say any of ``pairs`` adjacently once part names are dropped."""
        lists = [self._postings.get(f"{_BARE}{a} {b}", _NONE) for a, b in pairs]
        return np.unique(np.concatenate([_NONE, *lists]))

    def _may_state(self, pair: tuple[str, str]) -> np.ndarray:
        """Sorted ids of the texts that may state ``pair`` (:func:`core.search.twins.states_pair`): adjacently, or
        with a list between its words, which needs the second word somewhere in the text."""
        listed = self._bare([(pair[0], f) for f in followers(pair) if f != pair[1]])
        return np.union1d(self._bare([pair]), np.intersect1d(listed, self._postings.get(pair[1], _NONE)))

    def clear_cache(self) -> None:
        """Forget the kept counterpart texts (a benchmark times the first call)."""
        with self._lock:
            self._opposites.clear()

    def stating(self, phrases: Sequence[str]) -> np.ndarray:
        """(n_rows,) bool: the row's report states any of ``phrases``."""
        return np.isin(self.text_of_row, self.stating_texts(phrases))

    def stating_rows(self, phrases: Sequence[str], allowed: np.ndarray | None = None) -> np.ndarray:
        """Row indices whose report states any of ``phrases`` (only ``allowed`` rows, if given), ascending."""
        mask = self.stating(phrases)
        if allowed is not None:
            mask &= np.asarray(allowed, dtype=bool)
        return np.flatnonzero(mask)


def _clauses(flat: tuple[str, ...]) -> list[list[str]]:
    """A text's clauses back from its flat words (clauses separated by "")."""
    out: list[list[str]] = [[]]
    for w in flat:
        if w:
            out[-1].append(w)
        else:
            out.append([])
    return [c for c in out if c]


_NONE = np.zeros(0, dtype=np.int32)
_BARE = "~"  # prefix of the pair keys made without filler words; a phrase's own keys never match them


def _keys(clause: list[str]) -> list[str]:
    """Posting keys of a clause: its words and its adjacent word pairs ("st depression")."""
    return clause + _pair_keys(clause)


def _pair_keys(clause: list[str]) -> list[str]:
    return [f"{a} {b}" for a, b in zip(clause, clause[1:], strict=False)]


def _contains(flat: tuple[str, ...], needle: list[str]) -> bool:
    """Whether ``needle`` occurs consecutively in ``flat`` (a text's words, clauses separated by "")."""
    wanted = tuple(needle)
    n, first = len(wanted), wanted[0]
    return any(flat[i : i + n] == wanted for i, w in enumerate(flat) if w == first)
