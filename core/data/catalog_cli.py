"""``python -m core catalog <dataset> [--root DIR[+DIR2...]] [--limit N] [--read]``: list records with split, labels
and English text.

Prints one line per record (up to ``--limit``), then the number of records per split and per label of each label set.
``--root`` takes several folders of one dataset joined with ``+`` (merged into one catalog). ``--read`` also reads
every waveform and counts the records read, failed, and read per header style (e.g. Challenge 2020 headers).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from typing import TextIO

from core.data.catalogs import Catalog, list_catalogs, load_catalog
from core.errors import DatasetNotFoundError, ECGReadError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m core catalog``."""
    parser.add_argument("dataset", choices=list_catalogs(), help="which catalog")
    parser.add_argument(
        "--root",
        default=None,
        help="dataset folder, or several folders of the dataset joined with '+' (DIR1+DIR2), merged into one "
        "catalog (default: the download cache)",
    )
    parser.add_argument("--limit", type=int, default=20, help="records to print (default 20; 0 prints none)")
    parser.add_argument("--split", choices=("train", "val", "test"), default=None, help="only this split")
    parser.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing dataset")
    parser.add_argument(
        "--mirror",
        default=None,
        help="download a missing dataset from this base URL or local folder in PhysioNet's layout "
        "(default: $ECG_DATA_MIRROR or PhysioNet)",
    )
    parser.add_argument("--read", action="store_true", help="read every waveform and count successes per header style")


def format_record_line(record, width: int = 100) -> str:
    """One record as ``id  split  labels  text`` (labels as ``set=a|b``; text cut to ``width`` characters)."""
    labels = " ".join(f"{name}={'|'.join(values)}" for name, values in record.labels.items() if values) or "-"
    text = record.text_en or record.text or "-"
    if len(text) > width:
        text = text[: width - 1] + "…"
    return f"{record.record_id}\t{record.split}\t{labels}\t{text}"


def summarize(catalog: Catalog, out: TextIO, limit: int = 20) -> None:
    """Write the record lines and the per-split / per-label counts of a catalog."""
    for record in catalog.records[: max(limit, 0)]:
        out.write(format_record_line(record) + "\n")
    if len(catalog) > limit > 0:
        out.write(f"... ({len(catalog) - limit} more)\n")
    out.write(f"\n{catalog.name}: {len(catalog)} records in {' + '.join(str(root) for root in catalog.roots)}\n")
    splits = Counter(r.split for r in catalog.records)
    out.write("per split: " + ", ".join(f"{s} {splits.get(s, 0)}" for s in ("train", "val", "test")) + "\n")
    for label_set in catalog.label_sets:
        counts = Counter(label for r in catalog.records for label in r.labels.get(label_set, []))
        unlabeled = sum(1 for r in catalog.records if not r.labels.get(label_set))
        body = ", ".join(f"{label} {n}" for label, n in counts.most_common())
        out.write(f"{label_set}: {body or '-'} (no label: {unlabeled})\n")


def read_all(catalog: Catalog, out: TextIO) -> int:
    """Read every record's waveform; write how many were read (per header style) and which failed.

    Returns:
        The number of records that could not be read.
    """
    styles: Counter[str] = Counter()
    failed = 0
    for record in catalog.records:
        try:
            ecg = catalog.read(record)
        except ECGReadError as exc:
            failed += 1
            out.write(f"unreadable: {record.record_id}: {exc}\n")
            continue
        styles[f"{ecg.meta.get('format', '?')}/{ecg.meta.get('header_style', '-')}"] += 1
    body = ", ".join(f"{style} {n}" for style, n in sorted(styles.items()))
    out.write(f"read {sum(styles.values())} of {len(catalog)} records ({body or '-'}); failed {failed}\n")
    return failed


def run(args: argparse.Namespace) -> int:
    """Run ``python -m core catalog``."""
    try:
        # The mirror travels as an argument (only downloadable catalogs take one); the environment is never changed.
        options = {"mirror": args.mirror} if args.mirror else {}
        catalog = load_catalog(args.dataset, root=args.root, download=not args.no_download, **options)
    except DatasetNotFoundError as exc:
        log.error("%s", exc)
        return 2
    if args.split:
        catalog = catalog.subset(catalog.split(args.split))
    summarize(catalog, sys.stdout, limit=args.limit)
    if args.read:
        return 1 if read_all(catalog, sys.stdout) else 0
    return 0
