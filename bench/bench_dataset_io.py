"""Epoch I/O time of ECGTextDataset: uncached (read + preprocess every item) vs the sharded float16 memmap cache.

Uses the real records in shared/data: PTB-XL 1.0.3 (500 records, 500 Hz files) + LUDB 1.0.1 (200 records).

    python -m bench.bench_dataset_io [--data ../shared/data] [--epochs 3] [--fs 100]   (from the repository root)

Prints records/s and seconds per epoch for: reading the files only, reading + preprocessing (the uncached dataset),
building the cache once, and iterating the cached dataset item by item and through a DataLoader.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from core.data.catalogs import load_catalog
from core.data.dataset import ECGTextDataset
from core.data.preprocess import PreprocessConfig


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _row(name: str, n: int, seconds: float) -> str:
    return f"{name:<44} {n:>6} {seconds:>10.3f} {n / seconds:>12.0f}"


def main() -> None:
    default_data = Path(os.environ.get("ECG_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data, help="shared/data folder")
    parser.add_argument("--epochs", type=int, default=3, help="cached epochs to time (best is reported)")
    parser.add_argument("--fs", type=float, default=100.0, help="preprocessing target rate in Hz")
    args = parser.parse_args()
    torch.set_num_threads(1)

    ptbxl = load_catalog("ptbxl", root=args.data / "ptb-xl" / "1.0.3")
    ludb = load_catalog("ludb", root=args.data / "ludb" / "1.0.1")
    records = ptbxl.records + ludb.records
    cfg = PreprocessConfig(fs_hz=args.fs)
    n = len(records)
    print(f"records: {len(ptbxl)} PTB-XL (500 Hz files) + {len(ludb)} LUDB = {n}; preprocess {cfg.to_dict()}")
    print(f"{'what':<44} {'items':>6} {'s/epoch':>10} {'records/s':>12}")

    readers = {"ptbxl": ptbxl, "ludb": ludb}
    read_s = _timed(lambda: [readers[r.dataset].read(r) for r in records])
    print(_row("uncached: read files only (read_ecg)", n, read_s))

    live = ECGTextDataset(records, [ptbxl, ludb], cfg, cache=False)
    live_s = _timed(lambda: [live[i] for i in range(n)])
    print(_row("uncached epoch: read + preprocess per item", n, live_s))

    with tempfile.TemporaryDirectory() as cache_dir:
        holder: dict[str, ECGTextDataset] = {}
        build_s = _timed(lambda: holder.setdefault("ds", ECGTextDataset(records, [ptbxl, ludb], cfg, cache_dir)))
        ds = holder["ds"]
        print(_row("cache build (once)", n, build_s))
        size_mb = ds.cache_bytes / 1e6

        item_s = min(_timed(lambda: [ds[i] for i in range(n)]) for _ in range(args.epochs))
        print(_row("cached epoch: item by item", n, item_s))
        loader = DataLoader(ds, batch_size=64, shuffle=True, num_workers=0)
        loader_s = min(_timed(lambda: [b["signal"].shape for b in loader]) for _ in range(args.epochs))
        print(_row("cached epoch: DataLoader(batch 64, shuffle)", n, loader_s))
        per_1000 = loader_s / n * 1000
        print(
            f"cache file {size_mb:.1f} MB float16; speed-up vs uncached {live_s / loader_s:.0f}x; "
            f"cached epoch over 1,000 records ~ {per_1000:.3f} s"
        )


if __name__ == "__main__":
    main()
