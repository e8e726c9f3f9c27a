"""Embed a corpus's ECGs with a checkpoint, as one process or under ``torchrun``, resumably.

``python -m core embed --checkpoint C --data D --out DIR`` (or ``torchrun --nproc_per_node N -m core embed ...``).
``D`` takes the evaluation's data specs: a dataset name, ``NAME=DIR[+DIR]`` or a folder, several separated by spaces.

1. Every rank opens the records through :class:`core.data.dataset.ECGTextDataset` with the checkpoint's
   preprocessing: the sharded cache is built once by worker processes (the first rank to take its lock builds it,
   the others wait and reuse it); records that cannot be read are skipped with their reasons.
2. The kept records are cut into parts of ``part_size`` consecutive records; rank ``r`` of ``W`` embeds parts
   ``r, r + W, r + 2W, ...`` and writes each atomically to ``DIR/parts/``. Parts do not depend on ``W``, and a batch
   never crosses a part, so any number of ranks computes the same numbers, and a rerun (with any ``W``) skips the
   parts already written.
3. Rank 0 merges the parts, in record order, into the output below; ``manifest.json`` is written last.

With ``--reports`` each part also embeds its records' English reports with the checkpoint's text tower (each distinct
text of a part once), so ECG -> report and report -> ECG retrieval over the corpus need no second pass; a part written
without them is recomputed.

Output (read it with :func:`load_corpus_embeddings`)::

    DIR/embeddings.npy    float32 (N, D), unit-norm rows (np.load(..., mmap_mode="r") memory-maps it)
    DIR/record_ids.txt    N lines, UTF-8: line i is the record_id of row i
    DIR/report_embeddings.npy   with --reports: float32 (N, D_text), row i the report of record i (unit norm; a
                          record without a report text gets a zero row)
    DIR/skipped.json      [{"position", "record_id", "path", "reason"}]: records left out
    DIR/manifest.json     {"format", "checkpoint", "checkpoint_hash", "data", "preprocess", "cache_key", "n", "dim",
                           "dtype", "part_size", "n_parts", "n_skipped", "run_key", "reports"[, "report_dim",
                           "n_without_report"]}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.data.progress import ProgressCallback, report

log = logging.getLogger(__name__)

EMBED_FORMAT = 1  # bump when the output layout changes
DEFAULT_PART_SIZE = 1024
MANIFEST_NAME = "manifest.json"
EMBEDDINGS_NAME = "embeddings.npy"
IDS_NAME = "record_ids.txt"
REPORTS_NAME = "report_embeddings.npy"
SKIPPED_NAME = "skipped.json"


@dataclass(frozen=True)
class CorpusEmbeddings:
    """A merged embedding run: row ``i`` of ``embeddings`` belongs to ``record_ids[i]``."""

    embeddings: np.ndarray  # (N, D) float32, memory-mapped
    record_ids: list[str]
    manifest: dict[str, Any]
    report_embeddings: np.ndarray | None = None  # (N, D_text) float32, memory-mapped; None without --reports


def load_corpus_embeddings(out: str | Path) -> CorpusEmbeddings:
    """Open the output of ``python -m core embed`` (embeddings memory-mapped).

    Raises:
        FileNotFoundError: no finished run in ``out`` (``manifest.json`` is written last).
    """
    out = Path(out)
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    embeddings = np.load(out / EMBEDDINGS_NAME, mmap_mode="r")
    record_ids = (out / IDS_NAME).read_text(encoding="utf-8").splitlines()
    if embeddings.shape != (manifest["n"], manifest["dim"]) or len(record_ids) != manifest["n"]:
        raise ValueError(f"{out}: embeddings {embeddings.shape} and {len(record_ids)} ids disagree with the manifest")
    reports = None
    if manifest.get("reports"):
        reports = np.load(out / REPORTS_NAME, mmap_mode="r")
        if reports.shape != (manifest["n"], manifest["report_dim"]):
            raise ValueError(f"{out}: report embeddings {reports.shape} disagree with the manifest")
    return CorpusEmbeddings(embeddings, record_ids, manifest, reports)


def part_bounds(n: int, part_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]``: consecutive parts of ``part_size`` rows covering ``n``."""
    return [(start, min(start + part_size, n)) for start in range(0, n, part_size)]


def _part_paths(out: Path, index: int) -> tuple[Path, Path]:
    stem = out / "parts" / f"part-{index:05d}"
    return stem.with_suffix(".npy"), stem.with_suffix(".json")


def _report_path(out: Path, index: int) -> Path:
    return out / "parts" / f"part-{index:05d}.reports.npy"


def embed_reports(embedder: Any, texts: Sequence[str]) -> np.ndarray:
    """(N, D_text) unit embeddings of ``texts`` (each distinct one encoded once); an empty text gets a zero row, not
    the embedding of an empty string, so that it never looks like a report."""
    rows = [i for i, t in enumerate(texts) if str(t).strip()]
    embedded = embedder.encode_texts([texts[i] for i in rows]) if rows else None
    # A part with no report at all still needs the text tower's width for its zero rows.
    dim = embedded.shape[1] if embedded is not None else embedder.encode_texts(["x"]).shape[1]
    out = np.zeros((len(texts), dim), np.float32)
    if embedded is not None:
        out[rows] = embedded
    return out


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _atomic_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as handle:
        np.save(handle, array)
    os.replace(tmp, path)


def _read_part(out: Path, index: int, run_key: str, reports: bool = False) -> dict[str, Any] | None:
    npy, meta = _part_paths(out, index)
    try:
        part = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None
    if reports and not (part.get("reports") and _report_path(out, index).is_file()):
        return None
    return part if part.get("run_key") == run_key and npy.is_file() else None


def run_key(checkpoint_hash: str, cache_key: str, part_size: int) -> str:
    """What the parts depend on: the weights, the records and their preprocessing (the cache key), the part size."""
    payload = json.dumps([EMBED_FORMAT, checkpoint_hash, cache_key, part_size])
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def embed_parts(
    embedder: Any,
    dataset: Any,
    out: str | Path,
    *,
    part_size: int = DEFAULT_PART_SIZE,
    rank: int = 0,
    world_size: int = 1,
    progress: ProgressCallback | None = None,
    reports: bool = False,
) -> list[int]:
    """Embed this rank's parts of ``dataset`` that are not written yet; returns the part numbers computed.

    Args:
        embedder: a :class:`core.embed.Embedder` (``encode_signals``, ``checkpoint_hash``).
        dataset: a cached :class:`core.data.dataset.ECGTextDataset` with the embedder's preprocessing.
        out: the output folder (parts go to ``out/parts/``).
        part_size: rows per part (and the most rows one forward pass batch can come from).
        rank: this process's rank; it takes parts ``rank, rank + world_size, ...``.
        world_size: number of processes.
        progress: ``progress((parts_done, parts_of_this_rank), desc=...)``.
        reports: also embed each record's report text (``dataset.text``) with ``embedder.encode_texts``.
    """
    out = Path(out)
    (out / "parts").mkdir(parents=True, exist_ok=True)
    key = run_key(embedder.checkpoint_hash, dataset.key, part_size)
    bounds = part_bounds(len(dataset), part_size)
    mine = list(range(rank, len(bounds), world_size))
    signals, masks = dataset.signals, dataset.lead_masks
    computed = []
    for done, index in enumerate(mine):
        report(progress, done, len(mine), "embedding ECGs")
        if _read_part(out, index, key, reports) is not None:
            continue
        start, stop = bounds[index]
        embeddings = embedder.encode_signals(signals[start:stop], masks[start:stop])
        npy, meta = _part_paths(out, index)
        _atomic_npy(npy, embeddings.astype(np.float32))
        if reports:
            _atomic_npy(
                _report_path(out, index), embed_reports(embedder, [dataset.text(i) for i in range(start, stop)])
            )
        ids = [r.record_id for r in dataset.records[start:stop]]
        part = {"format": EMBED_FORMAT, "run_key": key, "part": index, "start": start, "stop": stop}
        part |= {"record_ids": ids, "reports": reports}
        _atomic_bytes(meta, json.dumps(part).encode())  # last: marks the part complete
        computed.append(index)
    report(progress, len(mine), len(mine), "embedding ECGs")
    return computed


def merge_parts(
    embedder: Any,
    dataset: Any,
    out: str | Path,
    *,
    part_size: int = DEFAULT_PART_SIZE,
    info: dict | None = None,
    reports: bool = False,
) -> Path:
    """Concatenate the parts, in order, into ``embeddings.npy`` (+ ``report_embeddings.npy`` with ``reports``) +
    ``record_ids.txt`` + ``skipped.json`` + ``manifest.json`` (streamed: one part in memory at a time).

    Raises:
        FileNotFoundError: a part is missing (a rank did not finish; rerun to complete it).
    """
    out = Path(out)
    key = run_key(embedder.checkpoint_hash, dataset.key, part_size)
    bounds = part_bounds(len(dataset), part_size)
    missing = [i for i in range(len(bounds)) if _read_part(out, i, key, reports) is None]
    if missing:
        raise FileNotFoundError(f"{out}/parts: parts {missing} are missing or stale; rerun to finish them")
    dim = _concatenate(out / EMBEDDINGS_NAME, [_part_paths(out, i)[0] for i in range(len(bounds))], len(dataset))
    ids: list[str] = []
    for index in range(len(bounds)):
        ids += json.loads(_part_paths(out, index)[1].read_text())["record_ids"]
    extra: dict[str, Any] = {"reports": reports}
    if reports:
        paths = [_report_path(out, i) for i in range(len(bounds))]
        report_dim = _concatenate(out / REPORTS_NAME, paths, len(dataset))
        without = sum(int((~np.load(path).any(axis=1)).sum()) for path in paths)
        extra.update(report_dim=report_dim, n_without_report=without)
    _atomic_bytes(out / IDS_NAME, "".join(f"{i}\n" for i in ids).encode("utf-8"))
    _atomic_bytes(out / SKIPPED_NAME, json.dumps(dataset.skipped, indent=1).encode())
    manifest = {
        **(info or {}),
        "format": EMBED_FORMAT,
        "checkpoint_hash": embedder.checkpoint_hash,
        "preprocess": dataset.cfg.to_dict(),
        "cache_key": dataset.key,
        "run_key": key,
        "n": len(ids),
        "dim": int(dim),
        "dtype": "float32",
        "part_size": part_size,
        "n_parts": len(bounds),
        "n_skipped": len(dataset.skipped),
        **extra,
    }
    _atomic_bytes(out / MANIFEST_NAME, json.dumps(manifest, indent=1).encode())
    log.info("merged %d embeddings (%d-d) into %s", len(ids), dim, out)
    return out


def _concatenate(target: Path, parts: Sequence[Path], n: int) -> int:
    """Stream the row blocks in ``parts`` into one float32 ``.npy`` of ``n`` rows (one part in memory at a time,
    written beside ``target`` and moved into place); returns the width."""
    dim = np.load(parts[0], mmap_mode="r").shape[1] if parts else 0
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp.npy")
    merged = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.float32, shape=(n, dim))
    start = 0
    for path in parts:
        block = np.load(path)
        merged[start : start + len(block)] = block
        start += len(block)
    merged.flush()
    del merged
    os.replace(tmp, target)
    return int(dim)


# ---------------------------------------------------------------------------------------------------- command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    p = parser
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (e.g. checkpoints/mets)")
    p.add_argument(
        "--data",
        nargs="+",
        required=True,
        help="datasets, as in `evaluate`: names resolved through the data cache / ECG_DATA_MIRROR, NAME=DIR[+DIR], "
        "or DIR",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder (embeddings.npy, record_ids.txt, ...)")
    p.add_argument("--limit", type=int, help="only the first N records of each dataset (smoke runs)")
    p.add_argument("--batch-size", type=int, default=64, help="ECGs per forward pass")
    p.add_argument("--part-size", type=int, default=DEFAULT_PART_SIZE, help="records per output part")
    p.add_argument("--cache-dir", type=Path, help="preprocessing cache (default: the data cache)")
    p.add_argument("--workers", type=int, help="preprocessing worker processes (default: one per CPU)")
    p.add_argument("--device", help="cpu or cuda (default: CUDA when available)")
    p.add_argument(
        "--reports",
        action="store_true",
        help="also embed each record's English report with the checkpoint's text tower (report_embeddings.npy)",
    )


def load_records(specs: Sequence[str], limit: int | None = None) -> tuple[list, dict]:
    """The records of the data specs, in order, and their catalogs by name."""
    from core.evaluate.data import load_eval_data

    catalogs = {}
    records = []
    for spec in specs:
        catalog = load_eval_data(spec).catalog
        catalogs[catalog.name] = catalog
        records += catalog.records[:limit] if limit else catalog.records
    return records, catalogs


def run(args: argparse.Namespace) -> int:
    from core.data.dataset import ECGTextDataset
    from core.data.progress import TqdmProgress
    from core.distributed import barrier, cleanup, init_distributed
    from core.embed import Embedder

    dist_info = init_distributed(args.device)
    try:
        if not dist_info.is_master:
            logging.getLogger("core").setLevel(logging.WARNING)
        embedder = Embedder.from_checkpoint(args.checkpoint, device=str(dist_info.device))
        embedder.batch_size = args.batch_size
        records, catalogs = load_records(args.data, args.limit)
        if (args.out / MANIFEST_NAME).is_file() and dist_info.is_master:
            log.info("%s holds an earlier run; parts that match are reused", args.out)
        dataset = ECGTextDataset(records, catalogs, embedder.preprocess_cfg, args.cache_dir, workers=args.workers)
        progress = TqdmProgress(unit="part") if dist_info.is_master else None
        try:
            computed = embed_parts(
                embedder,
                dataset,
                args.out,
                part_size=args.part_size,
                rank=dist_info.rank,
                world_size=dist_info.world_size,
                progress=progress,
                reports=args.reports,
            )
        finally:
            if progress is not None:
                progress.close()
        log.info("rank %d embedded %d part(s)", dist_info.rank, len(computed))
        barrier()
        if dist_info.is_master:
            info = {"checkpoint": str(args.checkpoint), "data": list(args.data), "limit": args.limit}
            merge_parts(embedder, dataset, args.out, part_size=args.part_size, info=info, reports=args.reports)
        barrier()
    finally:
        cleanup()
    return 0
