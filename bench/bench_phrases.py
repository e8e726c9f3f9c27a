"""Which reports state a phrase, at scale: the inverted phrase index against reading every report per query.

    python -m bench.bench_phrases [--sizes 10000 100000] [--repeats 5] [--data-root ../shared/data]

Text -> ECG by example and the Retrieve tab's exclusions ask, per query, which indexed reports state a phrase
(:mod:`core.search.phrase_index`). Repeating the demo's reports would not test this (a repeated text is read once),
so the corpus is made of distinct reports: 2 to 5 sentences drawn at random from the English sentences of the
shared PTB-XL reports (both folders), real wording in new combinations. For each size it prints the time to build
the index (every distinct report tokenised once) and the resident memory it added, then per phrase the milliseconds
of one query with the index and with the scan it replaced (each report's tokenised clauses already in memory, read
one by one), and their ratio; then the same for the reports that state each phrase's counterpart ("right bundle
branch block" for "left bundle branch block", :meth:`PhraseIndex.opposite_texts`). Both must answer alike: the run
stops if they differ (``tests/search/test_phrase_index.py`` checks it on random and real reports).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import re
import time
from pathlib import Path

import numpy as np

PHRASES = (
    "first degree atrioventricular block",  # ~2 % of reports
    "left bundle branch block",
    "sinus rhythm",  # the commonest phrase of the real reports
    "st depression",
    "pericarditis",  # a word no report has
)


def rss_mb() -> float:
    """Current resident set size (MB), from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def report_sentences(data_root: Path) -> list[str]:
    """The distinct English sentences of the shared PTB-XL reports (both folders, those present), sorted."""
    from core.data.catalogs import load_catalog

    reports = [
        r.text_en
        for sub in ("ptb-xl/1.0.3", "ptbxl_more")
        if (data_root / sub / "ptbxl_database.csv").is_file()
        for r in load_catalog("ptbxl", root=data_root / sub, download=False).records
    ]
    return sorted({s.strip() for r in reports for s in re.split(r"(?<=\.)\s+", r) if s.strip()})


def synthetic_reports(sentences: list[str], n: int, seed: int = 0) -> list[str]:
    """``n`` distinct reports of 2-5 sentences each."""
    rng = random.Random(seed)
    out: set[str] = set()
    while len(out) < n:
        out.add(" ".join(rng.sample(sentences, rng.randint(2, 5))))
    return sorted(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args(argv)

    from core.measure.reference_labels import default_data_root
    from core.search.lexical import clauses_contain, phrase_clauses, phrase_words
    from core.search.phrase_index import PhraseIndex

    data_root = args.data_root or default_data_root()
    if data_root is None:
        parser.error("no data folder: pass --data-root DIR (e.g. ../shared/data) or set ECG_DATA_MIRROR to one")
    sentences = report_sentences(data_root)
    print(f"{len(sentences):,} distinct sentences from the shared PTB-XL reports")
    for size in args.sizes:
        texts = synthetic_reports(sentences, size)
        gc.collect()
        before = rss_mb()
        start = time.perf_counter()
        index = PhraseIndex(texts)
        build_s = time.perf_counter() - start
        grown = rss_mb() - before
        clauses = [phrase_clauses(t) for t in texts]  # the scan's tokenised reports, as its cache held them
        print(f"\n{size:,} distinct reports: phrase index built in {build_s:.2f} s, resident memory +{grown:.0f} MB")
        for phrase in PHRASES:
            needle = phrase_words(phrase)
            indexed, scanned = [], []
            for _ in range(args.repeats):
                start = time.perf_counter()
                rows = index.stating_rows([phrase])
                indexed.append(1000.0 * (time.perf_counter() - start))
                start = time.perf_counter()
                found = [i for i, c in enumerate(clauses) if clauses_contain(c, needle)]
                scanned.append(1000.0 * (time.perf_counter() - start))
            if rows.tolist() != found:
                raise SystemExit(f"the index and the scan disagree on {phrase!r}")
            _print_row(phrase, len(rows), indexed, scanned)
        print("  reports stating the counterpart (by-example counter-examples, core.search.twins):")
        for phrase in PHRASES:
            _time_opposites(index, clauses, phrase, args.repeats)


def _time_opposites(index, clauses: list[list[list[str]]], phrase: str, repeats: int) -> None:
    """One phrase's counterpart reports: the index (candidates by their words, then read) against reading all."""
    from core.search.lexical import clauses_contain, phrase_words
    from core.search.twins import clauses_state_twin, contrast_pairs, without_filler

    pairs, needle = contrast_pairs(phrase), phrase_words(phrase)
    indexed, scanned = [], []
    for _ in range(repeats):
        index.clear_cache()  # the first call for a phrase; a repeated one is answered from the cache
        start = time.perf_counter()
        ids = index.opposite_texts([phrase])
        indexed.append(1000.0 * (time.perf_counter() - start))
        start = time.perf_counter()
        found = [
            i
            for i, c in enumerate(clauses)
            if pairs and clauses_state_twin(without_filler(c), pairs) and not clauses_contain(c, needle)
        ]
        scanned.append(1000.0 * (time.perf_counter() - start))
    if ids.tolist() != found:
        raise SystemExit(f"the index and the scan disagree on the counterparts of {phrase!r}")
    _print_row(phrase, len(ids), indexed, scanned)


def _print_row(phrase: str, n_reports: int, indexed: list[float], scanned: list[float]) -> None:
    """One phrase's line: reports found, median milliseconds with the index and with the scan, and their ratio."""
    a, b = float(np.median(indexed)), float(np.median(scanned))
    print(
        f"  {phrase:<38} {n_reports:>7,} reports  index {a:8.2f} ms  scan {b:8.1f} ms  "
        f"scan / index {b / max(a, 1e-6):7.1f}x"
    )


if __name__ == "__main__":
    main()
