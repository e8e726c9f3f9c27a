"""Normalisation and tokenisation of PTB-XL machine statements (German, Swedish, English).

The reports come from a fixed-width printout: statements are run together with single spaces, sub-findings of one
statement are indented (a gap of two or more spaces), fields are cut off at a fixed length, and some umlauts were
stored in upper case (``mÖglich``) or replaced by ``#`` (``f#r``). :func:`normalize` repairs the characters,
:func:`tokenize` splits a report into :class:`Token` s that keep the gap before them and their trailing punctuation,
so the phrase matcher can compare bare word forms while the English renderer can still see the layout.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import NamedTuple

# Known character damage in the PTB-XL export: '#' stands for a lost 'ü' (f#r -> für, #bergang -> übergang).
_REPAIRS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?<![\w#])f#r(?![\w#])"), "für"),
    (re.compile(r"(?<![\w#])#ber"), "über"),
)

# Box-drawing debris from a damaged printout ("ó¿", "ó¬", ...), seen in one Swedish report.
_JUNK = re.compile(r"ó[¿¬½©]")
_LEAD = r"(?:i{1,3}|avr|avl|avf|v[1-9]r?)"
# In lists the German printout also abbreviates aVL/aVF as "l"/"f" and chest leads as bare digits.
_LEAD_ITEM = rf"(?:{_LEAD}|l|f|ll|[1-9])"
# A single lead, or a list/range of leads written without spaces: "v5,6", "i,ii,avl,v5-6", "v1-v4", "iii,avl,f", "v1-".
LEAD_LIST = re.compile(rf"^(?:{_LEAD}|{_LEAD_ITEM}(?:[,\-/+&.]+{_LEAD_ITEM})+)[,\-]?$")
NUMBER = re.compile(r"^[<>~±+\-]?\d+(?:[.,/:]\d+)*(?:%|°|mv|ms|mm|s|/min|bpm)?$")
_CHUNK = re.compile(r"( *)(\S+)")
# A comma between a word (or number) and a following word; split after the comma, which stays with the first part.
_WORD_COMMA = re.compile(r"(?<=[^\W_],)(?=[^\W\d_]{2})")
_TRAILING = ".,;:!?\"'("
_LEADING = "(\"'[,-."


class Token(NamedTuple):
    """One whitespace-separated piece of a report.

    Attributes:
        core: the lower-cased word form used for matching, without leading/trailing punctuation (``"unbest"`` for
            ``"unbest."``; internal punctuation stays: ``"qrs(t)"``, ``"a-v"``, ``"v5,6"``).
        raw: the text as written (after :func:`normalize`).
        lead: punctuation before the core (an opening parenthesis or quote).
        trail: punctuation after the core (``"."``, ``","``, ``":"``, a closing parenthesis ...).
        wide_gap: True when two or more spaces precede the token (an indented sub-finding in the printout).
        start: character offset of ``raw`` in the normalised report.
        is_word: the core contains a letter (numbers, punctuation and codes like ``4.46`` do not).
        is_lead: a lead name or a compact lead list such as ``v5,6`` or ``i,ii,avl,v5-6``.
        is_number: a number, date, or number with a unit (``4.46``, ``24/1/92``, ``2,6``, ``120ms``).
        glued: split off the previous token at a comma with no space ("vorhofflattern,jetzt" -> 2 tokens).
    """

    core: str
    raw: str
    lead: str
    trail: str
    wide_gap: bool
    start: int
    is_word: bool = False
    is_lead: bool = False
    is_number: bool = False
    glued: bool = False

    @classmethod
    def make(cls, core: str, raw: str, lead: str, trail: str, wide_gap: bool, start: int, glued: bool = False) -> Token:
        """Build a token and classify its core (word / lead name or list / number)."""
        return cls(core, raw, lead, trail, wide_gap, start, *_classify(core), glued)


@functools.lru_cache(maxsize=65536)
def _classify(core: str) -> tuple[bool, bool, bool]:
    """(is_word, is_lead, is_number) of a token core; cores repeat a lot, so this is cached."""
    return any(ch.isalpha() for ch in core), bool(LEAD_LIST.match(core)), bool(NUMBER.match(core))


_WORD_WITH_UMLAUT = re.compile(r"\S*[ÄÖÜÅ]\S*")
_LOWER_UMLAUTS = str.maketrans("ÄÖÜÅ", "äöüå")
_LOWER_CASE_LETTER = re.compile("[a-zäöüå]")


def readable(text: str) -> str:
    """The report as stored, with its character damage repaired for reading: an upper-case umlaut inside a lower-case
    word ("vÄnster", "Überleitung" in a lower-case report: 1,108 of the 2,730 shared PTB-XL reports) and the lost
    "ü" (``f#r``). Case elsewhere is kept ("Edit: NORM 80")."""
    text = _WORD_WITH_UMLAUT.sub(
        lambda m: m.group(0).translate(_LOWER_UMLAUTS) if _LOWER_CASE_LETTER.search(m.group(0)) else m.group(0),
        unicodedata.normalize("NFC", text or ""),
    )
    return _repair(text)


def _repair(text: str) -> str:
    """The known character damage repaired (:data:`_REPAIRS`) and box-drawing debris blanked."""
    for pattern, repl in _REPAIRS:
        text = pattern.sub(repl, text)
    return _JUNK.sub(" ", text)


def normalize(text: str) -> str:
    """Lower-case ``text`` (upper-case umlauts included), NFC-normalise it and repair known character damage."""
    text = _repair(unicodedata.normalize("NFC", text or "").lower())
    return text.replace("\u00a0", " ").replace("\t", " ").replace("\r", " ").replace("\n", " ")


@functools.lru_cache(maxsize=65536)
def _split_core(chunk: str) -> tuple[str, str, str]:
    """Split one whitespace chunk into (leading punctuation, core, trailing punctuation)."""
    i = 0
    while i < len(chunk) and chunk[i] in _LEADING:
        i += 1
    j = len(chunk)
    while j > i:
        ch = chunk[j - 1]
        if ch in _TRAILING:
            j -= 1
        elif ch == ")" and chunk.count("(", i, j) < chunk.count(")", i, j):
            j -= 1  # an unmatched closing parenthesis; 'qrs(t)' keeps its own
        else:
            break
    return chunk[:i], chunk[i:j], chunk[j:]


def tokenize(text: str, *, normalized: bool = False) -> list[Token]:
    """Split a report into tokens (see :class:`Token`); ``text`` is normalised first unless ``normalized``."""
    if not normalized:
        text = normalize(text)
    tokens: list[Token] = []
    for m in _CHUNK.finditer(text):
        wide = len(m.group(1)) >= 2 and m.start(1) > 0  # indentation, not the report's leading spaces
        start = m.start(2)
        for j, piece in enumerate(_split_commas(m.group(2))):
            lead, core, trail = _split_core(piece)
            tokens.append(Token.make(core, piece, lead, trail, wide, start, glued=j > 0))
            start += len(piece)
            wide = False
    return tokens


@functools.lru_cache(maxsize=65536)
def _split_commas(chunk: str) -> tuple[str, ...]:
    """Split words run together with commas ("vorhofflattern,jetzt", "128,sonst"); lead lists stay whole."""
    if "," not in chunk or LEAD_LIST.match(_split_core(chunk)[1]):
        return (chunk,)
    parts = _WORD_COMMA.split(chunk)
    return tuple(p for p in parts if p)


def phrase_key(phrase: str) -> tuple[str, ...]:
    """The matching key of a table phrase: the cores of its tokens (punctuation-only tokens dropped)."""
    return tuple(t.core for t in tokenize(phrase) if t.core)
