"""English text for PTB-XL reports: a maintained phrase table turns German and Swedish machine statements into English.

PTB-XL's ``report`` column holds the printed statements of the recording machines: about 57 % German, the rest
Swedish or English, e.g. ``"sinusrhythmus lagetyp normal qrs(t) abnorm    inferiorer infarkt     alter unbest."``.
The text encoders are English (MiniLM), so :func:`to_english` rewrites them as English clinical sentences
(``"sinus rhythm. normal axis. qrs(t) abnormal: inferior infarction, age undetermined."``).

The translation is data, not code: ``assets/text/phrases.csv`` (source phrase -> English phrase and how it joins the
sentence), ``assets/text/english_vocabulary.txt`` (English words kept as they are) and
``assets/text/scp_descriptions.csv`` (SCP-ECG code -> English). Matching is greedy longest-match over word forms, so
multi-word statements win over their words, and single-word rows catch inflections and the long tail.

Layout rules taken from the printout: a statement that opens a list of findings (``qrs(t) abnorm``, ``st & t abnorm,
wahrscheinlich``) is followed by indented sub-findings (two or more spaces), which become ``;``-separated; the
``4.46 unbestätigter bericht`` ("unconfirmed report") footer is dropped; a word cut off by the fixed-width field at
the very end of a report is completed from the table; a trailing ``Edit:`` segment (a cardiologist's correction,
written as SCP codes with likelihoods, comments and the previous codes in parentheses) is rendered separately.
Reports already in English pass through unchanged apart from whitespace and known typos, so the function is
idempotent.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from core.data import registry
from core.text.tokenize import Token, normalize, phrase_key, tokenize

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets" / "text"
PHRASES_CSV = ASSETS_DIR / "phrases.csv"
VOCABULARY_TXT = ASSETS_DIR / "english_vocabulary.txt"
SCP_DESCRIPTIONS_CSV = ASSETS_DIR / "scp_descriptions.csv"

JOINS = ("stmt", "head", "intro", "mod", "link", "cont", "drop")
FOREIGN_LANGS = ("de", "sv")
_EDIT = re.compile(r"\bedit\s*:", re.IGNORECASE)
_DEMOGRAPHICS = re.compile(r"\(?\s*\b[mfw]\s*,\s*\d{1,3}\s*\)?")  # "(m,19)" / "(f,26)": sex and age, not a finding
_DECIMAL_COMMA = re.compile(r"\b(\d+),(\d+)\b")
_PAREN_GROUP = re.compile(r"\(([^()]*)\)")
_MIN_PARTIAL = 3  # shortest cut-off word we try to complete when nothing before it pins the phrase down
# SCP codes in Edit segments are sometimes written without their PTB-XL suffix.
_CODE_ALIASES = {"isc": "ISC_", "rao": "RAO/RAE", "lao": "LAO/LAE", "nst": "NST_", "ivcb": "IVCD", "aneur": "ANEUR"}
_EXTRA_CODE_TEXT = {
    "bbb": "bundle branch block",
    "mi": "myocardial infarction",
    "vh": "ventricular hypertrophy",
    "tor": "trace only requested",
    "noise": "noise",
}


@dataclass(frozen=True)
class Phrase:
    """One row of the phrase table.

    Attributes:
        lang: ``"de"``, ``"sv"`` or ``"en"`` (English rows repair typos).
        source: the phrase as written in the table.
        english: its English rendering (may be empty for printout noise).
        join: how the English attaches to the text before it (see ``assets/text/phrases.csv``).
        key: the matching key (token cores of ``source``).
        foreign: German/Swedish with a word that is not English vocabulary (set when the table is built).
    """

    lang: str
    source: str
    english: str
    join: str
    key: tuple[str, ...]
    foreign: bool = False


class Segment(NamedTuple):
    """A piece of a report after matching: one phrase, one word, a lead list, a number or punctuation.

    Attributes:
        source: the original text of the piece (normalised: lower case, repaired characters).
        english: the English for it; ``None`` when the piece is not known to the table (kept as is in the output).
        kind: ``"phrase"`` (table row), ``"english"`` (known English word), ``"scp"`` (SCP code in an Edit segment),
            ``"lead"``, ``"number"``, ``"punct"``, ``"edit"`` (the ``edit:`` marker) or ``"unknown"``.
        lang: language of the table row (``"de"``, ``"sv"``, ``"en"``), ``"en"`` for English words, else ``""``.
        join: how the English joins the sentence (a value of :data:`JOINS`).
        n_words: how many report words (tokens with a letter, not lead names) the piece covers; numbers,
            punctuation and lead names are not counted.
        wide_gap: the piece was indented in the printout (two or more spaces before it).
        foreign: the piece is German/Swedish (it contains a word that is not English vocabulary).
        trail: punctuation written after the piece (kept for English words).
        completed: the last word was cut off in the report and completed from the table.
        glued: no space before the piece in the report (split off a comma-joined word, "qiii,avf").
    """

    source: str
    english: str | None
    kind: str
    lang: str = ""
    join: str = "mod"
    n_words: int = 0
    wide_gap: bool = False
    foreign: bool = False
    trail: str = ""
    completed: bool = False
    glued: bool = False

    @property
    def translated(self) -> bool:
        """True when the piece has an English rendering (identity for English words)."""
        return self.english is not None


@dataclass(frozen=True)
class PhraseTable:
    """The loaded translation data: phrases indexed by first word, the English vocabulary and the SCP names."""

    phrases: dict[tuple[str, ...], Phrase]
    by_first: dict[str, tuple[Phrase, ...]]
    vocabulary: frozenset[str]
    scp: dict[str, str]

    def match(self, cores: list[str], i: int) -> Phrase | None:
        """Longest table phrase whose words equal ``cores[i:i + len(phrase)]``, or None."""
        n = len(cores)
        for phrase in self.by_first.get(cores[i], ()):
            k = len(phrase.key)
            if i + k <= n and tuple(cores[i : i + k]) == phrase.key:
                return phrase
        return None

    def match_cut(self, cores: list[str], i: int) -> Phrase | None:
        """A phrase that runs past the end of a report cut off by the printout's fixed field width.

        ``cores[i:-1]`` must equal the phrase's first words and ``cores[-1]`` must be a prefix of its next word
        (the whole word when more words follow). The shortest such phrase wins.
        """
        n = len(cores)
        k = n - i
        last = cores[-1]
        if k == 1 and len(last) < _MIN_PARTIAL:
            return None
        pool = (
            (p for f, ps in self.by_first.items() if f.startswith(last) for p in ps)
            if k == 1
            else (self.by_first.get(cores[i], ()))
        )
        best: Phrase | None = None
        for phrase in pool:
            if len(phrase.key) < k or tuple(cores[i : n - 1]) != phrase.key[: k - 1]:
                continue
            word = phrase.key[k - 1]
            if not word.startswith(last) or (word == last and len(phrase.key) == k):
                continue
            if best is None or (len(phrase.key), len(phrase.source)) < (len(best.key), len(best.source)):
                best = phrase
        return best

    def complete_word(self, prefix: str) -> str | None:
        """The shortest English vocabulary word that starts with a cut-off ``prefix`` (ties: alphabetical)."""
        if len(prefix) < _MIN_PARTIAL:
            return None
        hits = sorted((len(w), w) for w in self.vocabulary if w.startswith(prefix) and w != prefix)
        return hits[0][1] if hits else None


def _read_rows(path: Path) -> list[list[str]]:
    """CSV rows of ``path`` without comment lines (first cell starting with '#') and blank lines."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [row for row in csv.reader(fh) if any(c.strip() for c in row) and not row[0].lstrip().startswith("#")]


def load_phrases(path: Path = PHRASES_CSV) -> list[Phrase]:
    """Read the phrase table CSV (columns ``lang,source,english,join``).

    Raises:
        ValueError: a row has the wrong number of columns or an unknown ``join``.
    """
    rows = _read_rows(path)
    header, body = rows[0], rows[1:]
    if header != ["lang", "source", "english", "join"]:
        raise ValueError(f"{path}: unexpected header {header}")
    phrases = []
    for line_no, row in enumerate(body, start=2):
        if len(row) != 4 or row[3] not in JOINS:
            raise ValueError(f"{path}: bad row {line_no}: {row}")
        key = phrase_key(row[1])
        if not key:
            raise ValueError(f"{path}: row {line_no} has no words in its source: {row}")
        phrases.append(Phrase(lang=row[0], source=row[1], english=normalize(row[2]).strip(), join=row[3], key=key))
    return phrases


def load_vocabulary(path: Path = VOCABULARY_TXT) -> frozenset[str]:
    """English words (one per line, '#' comments) that count as English and are kept unchanged."""
    words = (line.split("#", 1)[0].strip().lower() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(w for w in words if w)


def load_scp_table(path: Path) -> dict[str, str]:
    """Code -> English description from a two-column ``code,description`` CSV or PTB-XL's ``scp_statements.csv``."""
    rows = _read_rows(path)
    header = rows[0]
    col = header.index("description") if "description" in header else 1
    return {row[0].strip(): row[col].strip() for row in rows[1:] if len(row) > col and row[0].strip()}


@functools.lru_cache(maxsize=1)
def get_table() -> PhraseTable:
    """The phrase table built from ``assets/text`` (loaded once)."""
    vocabulary = load_vocabulary()
    phrases: dict[tuple[str, ...], Phrase] = {}
    for phrase in load_phrases():
        # First row wins; later rows with the same words are kept out (the table test checks they agree).
        words = [t.core for t in tokenize(phrase.source) if t.is_word and not t.is_lead]
        foreign = phrase.lang in FOREIGN_LANGS and any(w not in vocabulary for w in words)
        phrases.setdefault(phrase.key, dataclasses.replace(phrase, foreign=foreign))
    by_first: dict[str, list[Phrase]] = {}
    for phrase in phrases.values():
        by_first.setdefault(phrase.key[0], []).append(phrase)
    ordered = {k: tuple(sorted(v, key=lambda p: -len(p.key))) for k, v in by_first.items()}
    scp = load_scp_table(SCP_DESCRIPTIONS_CSV)
    return PhraseTable(phrases=phrases, by_first=ordered, vocabulary=vocabulary, scp=scp)


# ----------------------------------------------------------------------------------------------------------------
# SCP descriptions


def _scp_statement_candidates() -> list[Path]:
    """Where a PTB-XL ``scp_statements.csv`` may already be on disk: the registry's PTB-XL folders (download cache,
    local-directory mirror)."""
    return [folder / "scp_statements.csv" for folder in registry.candidates("ptbxl")]


@functools.lru_cache(maxsize=4)
def _scp_descriptions(path: str | None) -> dict[str, str]:
    table = dict(get_table().scp)
    candidates = [Path(path)] if path else _scp_statement_candidates()
    for candidate in candidates:
        if candidate.is_file():
            table.update(load_scp_table(candidate))
            log.debug("SCP descriptions from %s", candidate)
            break
    return table


def scp_description(code: str, *, scp_statements: str | os.PathLike | None = None) -> str:
    """English description of a PTB-XL SCP-ECG statement code (``"IMI"`` -> ``"inferior myocardial infarction"``).

    The dataset's own ``scp_statements.csv`` is used when it is on disk (``scp_statements``, or where
    :func:`core.data.registry.locate` looks: the download cache, a local ``ECG_DATA_MIRROR``); otherwise the
    project's table ``assets/text/scp_descriptions.csv``.

    Raises:
        KeyError: unknown code.
    """
    table = _scp_descriptions(str(scp_statements) if scp_statements else None)
    key = code.strip()
    for candidate in (key, key.upper(), _CODE_ALIASES.get(key.lower(), "")):
        if candidate in table:
            return table[candidate]
    raise KeyError(f"unknown SCP code {code!r}")


def _scp_lookup(core: str) -> str | None:
    """English for an SCP code as written in an Edit segment (project table, so output is the same everywhere)."""
    scp = get_table().scp
    upper = core.upper()
    if upper in scp:
        return scp[upper]
    if core in _CODE_ALIASES:
        return scp[_CODE_ALIASES[core]]
    return _EXTRA_CODE_TEXT.get(core)


# ----------------------------------------------------------------------------------------------------------------
# Matching


def _segments(tokens: list[Token], *, truncated_end: bool, codes: bool = False) -> list[Segment]:
    """Match ``tokens`` against the table (longest phrase first), then English words, leads, numbers."""
    table = get_table()
    cores = [t.core for t in tokens]
    out: list[Segment] = []
    i, n = 0, len(tokens)
    # Is the last word cut off by the printout's field width (a word neither the table nor English knows)?
    cut_last = (
        truncated_end
        and n > 0
        and tokens[-1].is_word
        and not tokens[-1].is_lead
        and cores[-1] not in table.vocabulary
        and table.match(cores, n - 1) is None
    )
    while i < n:
        tok = tokens[i]
        if not tok.core:
            out.append(
                Segment(source=tok.raw, english="", kind="punct", join="drop", wide_gap=tok.wide_gap, glued=tok.glued)
            )
            i += 1
            continue
        if codes and (text := _scp_lookup(tok.core)) is not None:
            out.append(
                Segment(tok.raw, text, "scp", lang="en", join="stmt", n_words=1, wide_gap=tok.wide_gap, glued=tok.glued)
            )
            i += 1
            continue
        hit, completed = table.match(cores, i), False
        if hit is not None and cut_last and i + len(hit.key) < n:
            # "... 4.46 unbestät": a phrase running into the cut beats the shorter exact match ("4.46").
            longer = table.match_cut(cores, i)
            if longer is not None:
                hit, completed = longer, True
        if hit is None and tok.is_word and not tok.is_lead and tok.core in table.vocabulary:
            out.append(_word_segment(tok, tok.core))
            i += 1
            continue
        if hit is None and truncated_end and not tok.is_lead and not tok.is_number:
            # A cut-off last word: English reports complete it from the English vocabulary first.
            word = table.complete_word(tok.core) if i == n - 1 and not any(s.foreign for s in out) else None
            if word is not None:
                out.append(_word_segment(tok, word, completed=True))
                break
            hit, completed = table.match_cut(cores, i), True
        if hit is not None:
            phrase = hit
            k = min(len(phrase.key), n - i)
            span = tokens[i : i + k]
            out.append(
                Segment(
                    source=" ".join(t.raw for t in span),
                    english=phrase.english,
                    kind="phrase",
                    lang=phrase.lang,
                    join=phrase.join,
                    n_words=sum(1 for t in span if t.is_word and not t.is_lead),
                    wide_gap=tok.wide_gap,
                    glued=tok.glued,
                    foreign=phrase.foreign,
                    trail=span[-1].trail,
                    completed=completed,
                )
            )
            i += k
            continue
        if tok.is_lead:
            out.append(
                Segment(tok.raw, tok.core, "lead", join="mod", wide_gap=tok.wide_gap, glued=tok.glued, trail=tok.trail)
            )
        elif tok.is_number or not tok.is_word:
            out.append(
                Segment(
                    tok.raw, tok.core, "number", join="mod", wide_gap=tok.wide_gap, glued=tok.glued, trail=tok.trail
                )
            )
        elif truncated_end and i == n - 1 and (word := table.complete_word(tok.core)):
            out.append(_word_segment(tok, word, completed=True))
        else:
            out.append(
                Segment(
                    tok.raw,
                    None,
                    "unknown",
                    join="mod",
                    n_words=1,
                    wide_gap=tok.wide_gap,
                    glued=tok.glued,
                    trail=tok.trail,
                )
            )
        i += 1
    return out


def _word_segment(tok: Token, word: str, *, completed: bool = False) -> Segment:
    return _plain(tok, word, "english", lang="en", n_words=1, completed=completed)


def _plain(tok: Token, english: str | None, kind: str, **fields) -> Segment:
    """A one-token segment carrying the token's layout (gap, glue, trailing punctuation)."""
    fields.setdefault("join", "mod")
    fields.setdefault("trail", tok.trail)
    return Segment(tok.raw, english, kind, wide_gap=tok.wide_gap, glued=tok.glued, **fields)


# Rendering


def _english_text(segments: list[Segment], *, keep_boilerplate: bool = False) -> str:
    """Render segments as English: translate when any piece is German/Swedish, else keep the English as written."""
    if not any(s.foreign for s in segments):
        return _render_english(segments)
    return _render_translation(segments, keep_boilerplate=keep_boilerplate)


def _render_english(segments: list[Segment]) -> str:
    """An English report: words as written (typos fixed, cut-off last word completed), single spaces."""
    out = ""
    for s in segments:
        if s.kind == "punct":
            text = s.source
        elif (s.kind == "phrase" and (s.lang == "en" or s.completed)) or (s.kind == "english" and s.completed):
            text = s.english + s.trail
        else:
            text = s.source
        if text:
            out += text if s.glued or not out else " " + text
    return out


_SENTENCE_END = ".!?"


def _render_translation(segments: list[Segment], *, keep_boilerplate: bool) -> str:
    """Join translated pieces into sentences following each piece's ``join`` and the printout's indentation."""
    out = ""
    attach_next = False  # the previous piece asks for the next one to follow with a space (intro/link/head)
    block_open = False  # inside a list of findings opened by a head statement; indented findings get ';'
    for s in segments:
        if s.kind == "punct" or (s.join == "drop" and not keep_boilerplate):
            continue
        join = "stmt" if s.join == "drop" else s.join
        if s.kind == "lead":
            text = s.english + ("," if s.trail.startswith(",") else "")  # "in i, v5,6": keep the lead list's comma
        elif s.kind == "english":
            text = s.english + (s.trail if s.trail in (".", ",", ";", ":") else "")
        elif s.english is None:
            text = s.source.strip(".,;:")
        else:
            text = s.english
        if not text:
            continue
        if not out:
            sep = ""
        elif join == "cont":
            sep = ", "
        elif attach_next:
            sep = " "
        elif s.wide_gap and block_open:
            sep = "; "
        elif join in ("stmt", "head", "intro"):
            sep = ". "
            block_open = False
        else:
            sep = " "
        if s.glued and out:
            # Split off a comma-joined word: keep lead lists and unknown notation compact ("qiii,avf").
            sep = ", " if s.kind in ("phrase", "english") else ","
            out = out.rstrip(",")
        if out.endswith(",") and sep in (". ", "; "):
            out = out[:-1]
        elif out and sep != " " and out[-1] in ".,;:!?":
            sep = " "
        # A sentence never ends on a lone leading modifier ("wahrscheinlich lagebedingtes q": "probably positional q").
        attach_next = join in ("intro", "link", "head") or (not out and join == "mod")
        out += sep + text
        if join == "head":
            block_open = True
    out = out.strip().rstrip(",;:")
    if out and out[-1] not in _SENTENCE_END:
        out += "."
    return out


# ----------------------------------------------------------------------------------------------------------------
# Edit segments


def _split_edit(text: str) -> tuple[str, str | None]:
    """(statements, edit) where edit is the text after the first ``edit:`` marker or None."""
    m = _EDIT.search(text)
    if m is None:
        return text, None
    return text[: m.start()], text[m.end() :]


def _edit_segments(edit: str, *, truncated_end: bool) -> list[list[Segment]]:
    """Segments of each comma-separated item of an Edit segment; code lists in parentheses become silent pieces."""
    edit = _DEMOGRAPHICS.sub(" ", edit)
    edit = _DECIMAL_COMMA.sub(r"\1.\2", edit)  # "sokolow 2,6" (mV): German decimal comma
    dropped: list[Segment] = []

    def _strip_codes(m: re.Match[str]) -> str:
        inner = tokenize(m.group(1), normalized=True)
        if inner and all(t.is_number or not t.core or _scp_lookup(t.core) is not None for t in inner):
            for t in inner:
                if t.core and not t.is_number:
                    dropped.append(Segment(t.raw, "", "scp", lang="en", join="drop", n_words=1))
            return " "
        return f" {m.group(1)} "

    edit = _PAREN_GROUP.sub(_strip_codes, edit)
    edit = edit.replace("(", " ").replace(")", " ").replace('"', " ")
    items = [item for item in re.split(r",\s+|;\s*|,(?=\()|,$", edit) if item.strip()]
    out = [
        _segments(tokenize(item, normalized=True), truncated_end=truncated_end and j == len(items) - 1, codes=True)
        for j, item in enumerate(items)
    ]
    if dropped:
        out.append(dropped)
    return out


_LIKELIHOOD = {80: "probable", 50: "possible", 35: "possible", 15: "questionable"}


def _render_edit_item(segments: list[Segment]) -> str:
    """One Edit item: ``CODE [likelihood]`` -> qualified description; other items as ordinary report text."""
    words = [s for s in segments if s.kind != "punct"]
    if all(s.kind == "scp" and s.join == "drop" for s in words):
        return ""  # the pre-edit code list in parentheses
    if words[0].kind == "scp":
        text = words[0].english or ""
        rest = words[1:]
        if rest and rest[0].kind == "number" and rest[0].english and rest[0].english.isdigit():
            qualifier = _LIKELIHOOD.get(int(rest[0].english), "")
            text = f"{qualifier} {text}".strip()
            rest = rest[1:]
        tail = _english_text(rest).rstrip(".") if rest else ""
        return f"{text} {tail}".strip() if tail else text
    return _english_text(segments).rstrip(".")


# ----------------------------------------------------------------------------------------------------------------
# Public API


def translate_segments(report: str) -> list[Segment]:
    """All pieces of ``report`` (statements and Edit segment) with their English; see :class:`Segment`."""
    return list(_translate_segments(report or ""))


@functools.lru_cache(maxsize=65536)
def _translate_segments(report: str) -> tuple[Segment, ...]:
    text = normalize(report)
    main, edit = _split_edit(text)
    segments = _segments(tokenize(main, normalized=True), truncated_end=edit is None)
    if edit is not None:
        segments.append(Segment("edit:", "edit:", "edit", lang="en", join="stmt", n_words=1))
        for item in _edit_segments(edit, truncated_end=True):
            segments.extend(item)
    return tuple(segments)


def translate_tokens(report: str) -> list[tuple[str, str | None]]:
    """(source piece, English or None) for each matched piece of ``report``; pieces may span several words.

    Lead names and numbers map to themselves; boilerplate maps to its English even though :func:`to_english`
    leaves it out; None marks words the table does not know.
    """
    return [(s.source, s.english) for s in translate_segments(report) if s.kind != "punct"]


def detect_language(report: str) -> str:
    """``"de"``, ``"sv"`` or ``"en"`` by the statements' German/Swedish phrases (``""`` for an empty report)."""
    segments = []
    for seg in _translate_segments(report or ""):
        if seg.kind == "edit":
            break
        segments.append(seg)
    counts = {lang: sum(s.n_words for s in segments if s.foreign and s.lang == lang) for lang in FOREIGN_LANGS}
    best = max(counts, key=counts.get)
    if counts[best]:
        return best
    return "en" if any(s.n_words for s in segments) else ""


def to_english(report: str, *, keep_boilerplate: bool = False) -> str:
    """English text of a PTB-XL report (German, Swedish or English machine statements).

    Args:
        report: the original report text.
        keep_boilerplate: keep printout boilerplate such as "unconfirmed report" (dropped by default: it says
            nothing about the ECG).

    Returns:
        Lower-case English sentences, e.g. ``"sinus rhythm. normal axis. qrs(t) abnormal: inferior infarction, age
        undetermined."``; ``""`` for an empty report. Words the table does not know are kept as written.
        English input comes back unchanged apart from whitespace and known typos (``to_english`` is idempotent).
    """
    return _to_english(report or "", keep_boilerplate)


@functools.lru_cache(maxsize=65536)  # PTB-XL repeats its statements: most reports occur many times
def _to_english(report: str, keep_boilerplate: bool) -> str:
    text = normalize(report)
    main, edit = _split_edit(text)
    parts = []
    main_segments = _segments(tokenize(main, normalized=True), truncated_end=edit is None)
    body = _english_text(main_segments, keep_boilerplate=keep_boilerplate)
    if body:
        parts.append(body)
    if edit is not None:
        items = [_render_edit_item(segs) for segs in _edit_segments(edit, truncated_end=True)]
        items = list(dict.fromkeys(i.strip(" .,;:") for i in items if i.strip(" .,;:")))
        parts.append("edit: " + "; ".join(items) + "." if items else "edit:")
    return re.sub(r"\s+", " ", " ".join(parts)).strip()
