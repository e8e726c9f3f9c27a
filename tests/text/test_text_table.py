"""Consistency of the maintained data in assets/text (phrase table, English vocabulary, SCP names)."""

from __future__ import annotations

import csv
from collections import defaultdict

from core.text.english import JOINS, get_table, load_phrases, load_vocabulary
from core.text.tokenize import tokenize


def test_every_row_is_valid_and_duplicates_agree() -> None:
    phrases = load_phrases()
    assert len(phrases) > 500
    by_key = defaultdict(set)
    for p in phrases:
        assert p.lang in ("de", "sv", "en") and p.join in JOINS
        assert p.english == p.english.lower(), p
        by_key[p.key].add((p.english, p.join))
    conflicts = {k: v for k, v in by_key.items() if len(v) > 1}
    assert not conflicts


def test_english_output_is_english_vocabulary() -> None:
    # Otherwise a translated report would be taken for German on a second pass and to_english would not be idempotent.
    vocabulary = load_vocabulary()
    texts = [p.english for p in load_phrases()] + list(get_table().scp.values())
    missing = {t.core for text in texts for t in tokenize(text) if t.is_word and not t.is_lead} - vocabulary
    assert not missing


def test_vocabulary_has_no_german_or_swedish_statement_words() -> None:
    vocabulary = load_vocabulary()
    for word in ("sinusrhythmus", "lagetyp", "linkstyp", "infarkt", "ischämie", "sinusrytm", "vänster", "ekg"):
        assert word not in vocabulary


def test_scp_table_covers_every_ptbxl_code(shared_data) -> None:
    with (shared_data / "ptb-xl" / "1.0.3" / "scp_statements.csv").open(encoding="utf-8", newline="") as fh:
        codes = {row[""] for row in csv.DictReader(fh)}
    assert len(codes) == 71
    assert codes <= set(get_table().scp)
