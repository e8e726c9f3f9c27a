"""What reading hedges and opposite findings costs the report search, at scale: ranking with them lowered against
without.

    python -m bench.bench_hedges [--sizes 10000 100000] [--repeats 5] [--data-root ../shared/data]

The Retrieve tab's report list lowers reports that state the query's finding only hedged ("possible ...",
:mod:`core.search.hedges`). Hedges are read lazily, only for reports that could still place in the top ``k``
(:meth:`core.search.hybrid.HybridReportSearch._ranked`), so the cost depends on how many hedged reports crowd the
top. The corpus is :func:`bench.bench_phrases.synthetic_reports` (distinct reports of real sentences). Per query it
prints the milliseconds of one lexical search for the top 10 with hedges read (``HEDGE_FACTOR`` as shipped) and with
them off (factor 1: nothing is read), and their ratio; then the same for the hybrid search (random unit vectors
stand in for the embeddings) with hedges and opposite findings (:mod:`core.search.twins`, ``TWIN_FACTOR``) read
against neither.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from bench.bench_phrases import report_sentences, synthetic_reports

QUERIES = (
    "old inferior infarction",  # most of its reports hedge ("possible old inferior ...")
    "left ventricular hypertrophy",
    "sinus rhythm",  # matches almost every report
    "lateral ischemia",
    "pericarditis",  # a word no report has
    "left bundle branch block",  # right bundle branch blocks are its opposite
    "inferior st elevation",  # anterior ST elevation and inferior ST depression are
)
DENSE_DIM = 64


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args(argv)

    import core.search.hybrid as hybrid
    from core.measure.reference_labels import default_data_root

    data_root = args.data_root or default_data_root()
    if data_root is None:
        parser.error("no data folder: pass --data-root DIR (e.g. ../shared/data) or set ECG_DATA_MIRROR to one")
    sentences = report_sentences(data_root)
    shipped = (hybrid.HEDGE_FACTOR, hybrid.TWIN_FACTOR)
    rng = np.random.default_rng(0)
    for size in args.sizes:
        reports = synthetic_reports(sentences, size)
        lexical = hybrid.HybridReportSearch(reports)
        dense = rng.normal(size=(len(reports), DENSE_DIM)).astype(np.float32)
        query_vector = rng.normal(size=(1, DENSE_DIM)).astype(np.float32)
        fused = hybrid.HybridReportSearch(reports, dense, lambda _, q=query_vector: q)
        for name, search in (("lexical", lexical), ("hybrid", fused)):
            print(
                f"\n{size:,} distinct reports ({name} search, top 10; hedges x{shipped[0]}, opposite findings' dense "
                f"part x{shipped[1]} / neither read)"
            )
            for query in QUERIES:
                _time_query(hybrid, search, query, shipped, args.repeats)


def _time_query(hybrid, search, query: str, shipped: tuple[float, float], repeats: int) -> None:
    times = {}
    for factors in (shipped, (1.0, 1.0)):
        hybrid.HEDGE_FACTOR, hybrid.TWIN_FACTOR = factors
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            hits = search.search(query, 10)
            runs.append(1000.0 * (time.perf_counter() - start))
        times[factors] = float(np.median(runs))
        if factors == shipped:
            n_hedged, n_twins = sum(h.hedged for h in hits), sum(h.twin for h in hits)
    hybrid.HEDGE_FACTOR, hybrid.TWIN_FACTOR = shipped
    a, b = times[shipped], times[(1.0, 1.0)]
    print(
        f"  {query:<30} in top 10: hedged {n_hedged:>2}, opposite {n_twins:>2}  read {a:8.1f} ms  "
        f"not read {b:8.1f} ms  ratio {a / max(b, 1e-6):5.2f}x"
    )


if __name__ == "__main__":
    main()
