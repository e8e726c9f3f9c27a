"""``python -m core text-coverage``: how much of the PTB-XL report text the English phrase table understands.

Definition (printed with the result):

* A **token** is one word of a report: a whitespace-separated piece, with surrounding punctuation removed, that
  contains a letter. Numbers (``4.46``, ``24/1/92``, ``2,6``), punctuation (``&``, ``!``) and lead names or lead lists
  (``avl``, ``v5,6``, ``i,ii,avl,v5-6``) are not tokens: they are excluded from numerator and denominator.
* A token is **translated** when it is part of a phrase of ``assets/text/phrases.csv`` (German, Swedish, or an
  English typo fix), when it is a word of ``assets/text/english_vocabulary.txt`` (English words count by identity
  only if listed there), or when it is an SCP code inside an ``Edit:`` segment. A word cut off at the end of a
  report counts when it is completed from the table. Everything else is untranslated and listed by frequency.
* Sex/age tags such as ``(m,19)`` in ``Edit:`` segments are removed before counting.

Reports come from ``ptbxl_database.csv`` (``--ptbxl``) and any ``*.csv`` with ``ecg_id`` and ``report`` columns in
``--extra`` (e.g. ``shared/data/ptbxl_metadata_extra``), de-duplicated by ``ecg_id`` (first file wins).
"""

from __future__ import annotations

import argparse
import collections
import csv
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.data import registry
from core.paths import data_dir, local_mirror_dir
from core.text.english import detect_language, translate_segments

log = logging.getLogger(__name__)

TOKEN_DEFINITION = (
    "token = a word of the report (has a letter; numbers, punctuation and lead names excluded); "
    "translated = inside a phrase-table match, a listed English vocabulary word, or an SCP code in an Edit: segment"
)


@dataclass
class CoverageStats:
    """Token coverage of a set of reports.

    Attributes:
        n_reports: reports counted (empty reports included).
        n_tokens: report words (see the module docstring).
        n_translated: words the English layer translates.
        untranslated: untranslated word -> count.
        by_language: ``"de"``/``"sv"``/``"en"`` -> [n_translated, n_tokens, n_reports].
    """

    n_reports: int = 0
    n_tokens: int = 0
    n_translated: int = 0
    untranslated: collections.Counter = field(default_factory=collections.Counter)
    by_language: dict[str, list[int]] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Translated tokens / tokens (1.0 for no tokens)."""
        return self.n_translated / self.n_tokens if self.n_tokens else 1.0

    def language_share(self, lang: str) -> float:
        """Share of translated tokens among reports of one language."""
        done, total, _ = self.by_language.get(lang, [0, 0, 0])
        return done / total if total else 1.0


def coverage_stats(reports: Iterable[str]) -> CoverageStats:
    """Count report tokens and how many of them the phrase table translates (definition in the module docstring)."""
    stats = CoverageStats()
    for report in reports:
        report = report if isinstance(report, str) else ""
        stats.n_reports += 1
        lang = detect_language(report) or "empty"
        per_lang = stats.by_language.setdefault(lang, [0, 0, 0])
        per_lang[2] += 1
        for seg in translate_segments(report):
            if not seg.n_words:
                continue
            stats.n_tokens += seg.n_words
            per_lang[1] += seg.n_words
            if seg.translated:
                stats.n_translated += seg.n_words
                per_lang[0] += seg.n_words
            else:
                stats.untranslated[seg.source.strip(".,;:!?()\"'")] += seg.n_words
    return stats


def read_reports(csv_paths: Iterable[Path]) -> dict[str, str]:
    """``ecg_id`` -> report from PTB-XL-style CSV files, first occurrence of an id wins.

    Raises:
        ValueError: a file has no ``ecg_id`` or ``report`` column.
    """
    reports: dict[str, str] = {}
    for path in csv_paths:
        with Path(path).open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or "ecg_id" not in reader.fieldnames or "report" not in reader.fieldnames:
                raise ValueError(f"{path}: needs 'ecg_id' and 'report' columns")
            for row in reader:
                ecg_id = str(int(float(row["ecg_id"]))) if row["ecg_id"].strip() else ""
                if ecg_id and ecg_id not in reports:
                    reports[ecg_id] = row["report"] or ""
    return reports


EXTRA_DIR_NAME = "ptbxl_metadata_extra"


def default_ptbxl_dir(roots: list[Path] | None = None) -> Path | None:
    """The PTB-XL folder (holding ``ptbxl_database.csv``) :func:`core.data.registry.locate` finds in ``roots``
    (default: the download cache, then a local-directory ``ECG_DATA_MIRROR``)."""
    return registry.locate("ptbxl", roots)


def default_extra_dir(roots: list[Path] | None = None) -> Path | None:
    """``ptbxl_metadata_extra`` (extra PTB-XL metadata CSVs, not on PhysioNet) under one of ``roots``; default: a
    local-directory ``ECG_DATA_MIRROR``, then the data cache."""
    if roots is None:
        local = local_mirror_dir()
        roots = [*([local] if local is not None else []), data_dir()]
    for root in roots:
        if (root / EXTRA_DIR_NAME).is_dir():
            return root / EXTRA_DIR_NAME
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m core text-coverage``."""
    parser.add_argument(
        "--ptbxl",
        type=Path,
        default=None,
        help="PTB-XL folder holding ptbxl_database.csv (default: found under --root, else the download cache or a "
        "local $ECG_DATA_MIRROR)",
    )
    parser.add_argument(
        "--extra",
        type=Path,
        default=None,
        help="folder of extra PTB-XL metadata CSVs (default: ptbxl_metadata_extra under --root, else under a local "
        "$ECG_DATA_MIRROR or the cache)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="a data folder in PhysioNet's layout holding ptb-xl/1.0.3 (and ptbxl_metadata_extra), e.g. ../shared/data",
    )
    parser.add_argument("--no-extra", action="store_true", help="count ptbxl_database.csv only")
    parser.add_argument("--top", type=int, default=30, help="how many untranslated words to list")


def run(args: argparse.Namespace) -> int:
    """Print the token coverage over all available reports; exit code 0, or 2 when no reports are found."""
    roots = [args.root] if args.root is not None else None
    ptbxl = args.ptbxl or default_ptbxl_dir(roots)
    extra = None if args.no_extra else (args.extra or default_extra_dir(roots))
    files: list[Path] = []
    if ptbxl is not None:
        db = ptbxl / "ptbxl_database.csv" if ptbxl.is_dir() else ptbxl
        if not db.is_file():
            log.error("no ptbxl_database.csv at %s", ptbxl)
            return 2
        files.append(db)
    if extra is not None:
        files.extend(sorted(extra.glob("*.csv")) if extra.is_dir() else [extra])
    if not files:
        log.error("no PTB-XL reports found: pass --root/--ptbxl/--extra or set ECG_DATA_MIRROR to a local folder")
        return 2
    reports = read_reports(files)
    stats = coverage_stats(reports.values())
    print(f"sources: {', '.join(str(f) for f in files)}")
    print(f"definition: {TOKEN_DEFINITION}")
    print(f"reports: {stats.n_reports} (distinct ecg_id)")
    for lang in sorted(stats.by_language):
        done, total, n = stats.by_language[lang]
        print(f"  {lang}: {n} reports, {done}/{total} tokens translated ({stats.language_share(lang):.2%})")
    print(f"coverage: {stats.n_translated}/{stats.n_tokens} tokens translated = {stats.share:.2%}")
    if stats.untranslated:
        top = ", ".join(f"{w} ({n})" for w, n in stats.untranslated.most_common(args.top))
        print(f"top untranslated ({len(stats.untranslated)} distinct): {top}")
    return 0
