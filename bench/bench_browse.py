"""Browse on the server at scale: building the columnar browse index and serving one page, by corpus size.

    python -m bench.bench_browse [--sizes 700 10000 100000] [--repeats 20] [--data-root ../shared/data]

The corpus is the real PTB-XL (first 500) and LUDB (200) records of the data folder, repeated with new record ids up
to each size (so reports, labels and their frequencies are real). For each size it prints the time to build
:class:`core.explorer.browse.BrowseIndex` (once per index, at the first Browse request) and p50/p95 milliseconds of
one page of 25 records for typical requests: no filter, a dataset + label filter, a search for a common phrase
("sinus rhythm"), a rare word ("vorhofflimmern"), and a text that matches nothing (a full scan).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

REQUESTS = {
    "no filter": dict(),
    "dataset + label": dict(dataset="ptbxl", label="CLBBB"),
    "search common": dict(query="sinus rhythm"),
    "search rare": dict(query="vorhofflimmern"),
    "search no hit": dict(query="no such words here"),
}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[700, 10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args(argv)

    from core.data.catalogs import load_catalog
    from core.explorer.browse import BrowseIndex
    from core.explorer.build import record_info
    from core.measure.reference_labels import default_data_root

    data_root = args.data_root or default_data_root()
    if data_root is None:
        parser.error("no data folder: pass --data-root DIR (e.g. ../shared/data) or set ECG_DATA_MIRROR to one")
    base = [
        record_info(r)
        for name, sub in (("ptbxl", "ptb-xl/1.0.3"), ("ludb", "ludb/1.0.1"))
        for r in load_catalog(name, root=data_root / sub, download=False).records
    ]
    print(f"{len(base)} real records (PTB-XL + LUDB), repeated with new ids up to each size")
    for size in args.sizes:
        records = [
            dataclasses.replace(base[i % len(base)], record_id=f"{base[i % len(base)].record_id}#{i // len(base)}")
            for i in range(size)
        ]
        start = time.perf_counter()
        index = BrowseIndex(records)
        build_s = time.perf_counter() - start
        print(f"\n{size:,} records: browse index built in {build_s:.2f} s")
        for name, request in REQUESTS.items():
            times, total = [], 0
            for _ in range(args.repeats):
                start = time.perf_counter()
                page = index.page(index.mask(**request), 1, 25)
                times.append(1000.0 * (time.perf_counter() - start))
                total = page.total
            p50, p95 = np.percentile(times, 50), np.percentile(times, 95)
            print(f"  {name:<16} {total:>8,} matches  page of 25: p50 {p50:6.1f} ms  p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
