"""Opening a large explorer cache (core/explorer/store.py): memory-mapped vs read into RAM.

    python -m bench.bench_startup [--n 200000] [--dir /tmp/explorer-bench]   (from the repository root)

Writes an explorer cache of ``--n`` synthetic records (ids, reports and labels shaped like the demo's; 256-d clustered
embeddings from :mod:`bench.synthetic_embeddings`; PCA map fitted on a sample) with
:func:`core.explorer.build.index_corpus`, then opens it in a fresh process per mode and prints the time to open, the
resident memory after opening, and after a first ECG search, record lookup and report read.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.synthetic_embeddings import ClusteredEmbeddings

REPORTS = (
    "Sinus rhythm. Normal ECG.",
    "Sinus bradycardia. Left axis deviation. Possible left ventricular hypertrophy.",
    "Atrial fibrillation with rapid ventricular response. Nonspecific ST and T wave abnormality.",
    "Sinus rhythm. Right bundle branch block. Borderline ECG.",
)


def write_cache(n: int, folder: Path) -> None:
    from core.explorer.build import index_corpus
    from core.explorer.records import RecordInfo

    gen = ClusteredEmbeddings()
    ecg = gen.sample(n, seed=1)
    text = gen.sample(n, seed=2)
    records = [
        RecordInfo(f"mimic_iv_ecg/{40_000_000 + i}", "mimic_iv_ecg", REPORTS[i % 4], REPORTS[i % 4], {}, "train",
                   f"/data/mimic/files/p{1000 + i // 10_000}/p{10_000_000 + i // 3}/s{40_000_000 + i}/{40_000_000 + i}")
        for i in range(n)
    ]  # fmt: skip
    t0 = time.perf_counter()
    index_corpus(records, ecg, text, key=folder.name, folder=folder, map_method="pca", map_sample=20_000)
    size_mb = sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20
    print(f"wrote {n:,} records in {time.perf_counter() - t0:.1f} s ({size_mb:.0f} MB)", flush=True)


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def open_once(folder: Path, mmap: bool) -> dict:
    """Run in a fresh process: open the cache and touch it as the first request would."""
    import core.explorer.store as store  # imported before the clock: import time is not opening time

    base = rss_mb()
    t0 = time.perf_counter()
    ex = store.Explorer.load(folder, mmap=mmap)
    open_s = time.perf_counter() - t0
    opened = rss_mb() - base
    t0 = time.perf_counter()
    rid = ex.nearest_ecgs(ex.ecg_emb[12345], 10)[0][0].record_id
    ex.record(rid).text_en, ex.row("mimic_iv_ecg/40000007"), ex.place(ex.ecg_emb[99])
    first_s = time.perf_counter() - t0
    return {"mmap": mmap, "open_s": open_s, "rss_opened_mb": opened, "first_request_s": first_s,
            "rss_after_first_mb": rss_mb() - base}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--dir", default=None, help="where to write the cache (default: a temporary folder)")
    parser.add_argument("--open", default=None, help=argparse.SUPPRESS)  # internal: the child process
    parser.add_argument("--mmap", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.open:
        print(json.dumps(open_once(Path(args.open), bool(args.mmap))))
        return
    print(f"load average {os.getloadavg()}", flush=True)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp) / "cache"
        write_cache(args.n, folder)
        for mmap in (1, 0):
            out = subprocess.run([sys.executable, "-m", "bench.bench_startup", "--open", str(folder), "--mmap",
                                  str(mmap)], capture_output=True, text=True, check=True)  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{'memory-mapped' if r['mmap'] else 'read into RAM':<14} open {r['open_s'] * 1000:8.1f} ms  "
                  f"RSS +{r['rss_opened_mb']:6.0f} MB; first search + lookup + place {r['first_request_s'] * 1000:7.1f}"
                  f" ms, RSS +{r['rss_after_first_mb']:6.0f} MB", flush=True)  # fmt: skip
    print(f"load average {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
