"""Sharded cache of preprocessed signals, built by worker processes, resumable, with bounded memory.

Records are cut into fixed-size shards (``shard_size`` consecutive records). Each shard is built by one worker
process (:class:`concurrent.futures.ProcessPoolExecutor`) and written atomically (temporary file, then
``os.replace``), so a killed run loses at most the shards in flight and a rerun skips every finished one. A record
that cannot be read or preprocessed is logged and listed with its reason in the shard's skip list; it never stops
the run. Readers memory-map the shard files, so no process holds the whole corpus in RAM.

Layout of one cache (one folder per cache key, see :func:`core.data.dataset.cache_key`)::

    <folder>/shard-00000.npy           float16 (n_kept, 12, T): preprocessed signals, rows in record order
    <folder>/shard-00000.mask.npy      bool (n_kept, 12): lead masks
    <folder>/shard-00000.skipped.json  [{"position", "record_id", "path", "reason"}]: records left out
    <folder>/shard-00000.json          manifest (key, record ids, preprocessing and its hash); written last
    <folder>/index.json                every shard's counts and the skipped positions; written when all are done

Every file of a shard depends only on its records, the preprocessing and the reader, never on timing or the number
of workers, so an interrupted-then-resumed build is byte-identical to an uninterrupted one.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import logging
import multiprocessing as mp
import os
import pickle
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.data.catalogs.base import Record, read_record_file
from core.data.preprocess import PREPROCESS_VERSION, PreprocessConfig, preprocess
from core.data.progress import ProgressCallback, report
from core.ecg import ECG
from core.leads import CANONICAL_LEADS

log = logging.getLogger(__name__)

SHARD_FORMAT = 1  # bump when the shard file layout changes
DEFAULT_SHARD_SIZE = 1024  # 24 MB of float16 per shard at 100 Hz x 10 s; a kill loses at most one shard per worker
INDEX_NAME = "index.json"
# What a damaged or odd record raises (readers raise ECGReadError, a ValueError; wfdb/h5py raise ValueError,
# OSError or EOFError on truncated files). Anything else is a bug and stops the build.
SKIPPABLE_ERRORS: tuple[type[BaseException], ...] = (ValueError, OSError, EOFError)
MAX_OPEN_SHARDS = 64  # memory maps kept open per reader (each holds a file descriptor)


def preprocess_hash(cfg: PreprocessConfig) -> str:
    """Short hash of a preprocessing config and the preprocessing code version."""
    payload = json.dumps({"preprocess": cfg.to_dict(), "version": PREPROCESS_VERSION}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ShardFiles:
    """The four files of shard ``index`` in ``folder``."""

    folder: Path
    index: int

    @property
    def stem(self) -> str:
        return f"shard-{self.index:05d}"

    @property
    def signals(self) -> Path:
        return self.folder / f"{self.stem}.npy"

    @property
    def masks(self) -> Path:
        return self.folder / f"{self.stem}.mask.npy"

    @property
    def skipped(self) -> Path:
        return self.folder / f"{self.stem}.skipped.json"

    @property
    def manifest(self) -> Path:
        return self.folder / f"{self.stem}.json"


@dataclass(frozen=True)
class ShardTask:
    """One shard to build: records ``[start, start + len(records))`` of the cache."""

    index: int
    start: int
    records: list[Record]
    folder: Path
    key: str
    cfg: PreprocessConfig
    tag: str


def shard_bounds(n_records: int, shard_size: int) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of consecutive shards of ``shard_size`` records covering ``n_records``."""
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    return [(start, min(start + shard_size, n_records)) for start in range(0, n_records, shard_size)]


def read_manifest(files: ShardFiles, key: str) -> dict[str, Any] | None:
    """The shard's manifest if the shard is complete and belongs to ``key``, else None."""
    try:
        manifest = json.loads(files.manifest.read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("format") != SHARD_FORMAT or manifest.get("key") != key:
        return None
    if not (files.signals.is_file() and files.masks.is_file() and files.skipped.is_file()):
        return None
    return manifest


# ---------------------------------------------------------------------------------------------------- building
class CatalogReader:
    """``record -> ECG`` for the records of some catalogs, chosen by ``record.dataset``.

    It holds only each catalog's read options, not its records, so it pickles in a few bytes into worker processes
    however large the catalogs are (and, living in this torch-free module, a worker unpickling it imports no torch).

    Args:
        read_kwargs: dataset name -> the catalog's ``read_kwargs``.
    """

    def __init__(self, read_kwargs: Mapping[str, Mapping[str, Any]]):
        self.read_kwargs = {name: dict(kwargs) for name, kwargs in read_kwargs.items()}

    def __call__(self, record: Record) -> ECG:
        kwargs = self.read_kwargs.get(record.dataset)
        if kwargs is None:
            raise KeyError(f"no catalog for dataset {record.dataset!r} (have {sorted(self.read_kwargs)})")
        return read_record_file(record, **kwargs)


def _atomic_write(path: Path, write: Callable[[Any], None]) -> None:
    """Write through ``write(file)`` to a temporary file beside ``path``, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def load_one(record: Record, read: Callable[[Record], ECG], cfg: PreprocessConfig) -> tuple[np.ndarray, np.ndarray]:
    """Read and preprocess one record: ((12, T) float32 signal, (12,) bool lead mask)."""
    ecg = read(record)
    return preprocess(ecg, cfg), np.asarray(ecg.lead_mask, dtype=bool)


def build_shard(task: ShardTask, read: Callable[[Record], ECG]) -> dict[str, Any]:
    """Read, preprocess and write one shard; returns its manifest (also written, last, as the completion mark).

    Memory is bounded by the shard: one (shard_size, 12, T) float16 array.
    """
    n, n_leads, n_samples = len(task.records), len(CANONICAL_LEADS), task.cfg.n_samples
    signals = np.zeros((n, n_leads, n_samples), dtype=np.float16)
    masks = np.zeros((n, n_leads), dtype=bool)
    kept: list[str] = []
    skipped: list[dict[str, Any]] = []
    for offset, record in enumerate(task.records):
        try:
            signal, mask = load_one(record, read, task.cfg)
        except SKIPPABLE_ERRORS as exc:
            reason = f"{type(exc).__name__}: {exc}"
            where = {"position": task.start + offset, "record_id": record.record_id, "path": str(record.path)}
            skipped.append({**where, "reason": reason})
            continue
        signals[len(kept)] = signal
        masks[len(kept)] = mask
        kept.append(record.record_id)
    files = ShardFiles(task.folder, task.index)
    _atomic_write(files.signals, lambda f: np.save(f, signals[: len(kept)]))
    _atomic_write(files.masks, lambda f: np.save(f, masks[: len(kept)]))
    _atomic_write(files.skipped, lambda f: f.write(_json_bytes(skipped)))
    manifest = {
        "format": SHARD_FORMAT,
        "key": task.key,
        "shard": task.index,
        "start": task.start,
        "stop": task.start + n,
        "n_kept": len(kept),
        "n_skipped": len(skipped),
        "n_samples": n_samples,
        "record_ids": kept,
        "preprocess": task.cfg.to_dict(),
        "preprocess_hash": preprocess_hash(task.cfg),
        "preprocess_version": PREPROCESS_VERSION,
        "reader": task.tag,
    }
    _atomic_write(files.manifest, lambda f: f.write(_json_bytes(manifest)))
    return manifest


_worker_read: Callable[[Record], ECG] | None = None


def _init_worker(read: Callable[[Record], ECG]) -> None:
    global _worker_read
    _worker_read = read


def _build_in_worker(task: ShardTask) -> dict[str, Any]:
    assert _worker_read is not None, "worker not initialised"
    return build_shard(task, _worker_read)


def default_workers() -> int:
    """CPUs this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _portable(read: Callable[[Record], ECG]) -> bool:
    """Whether a freshly started worker can rebuild ``read``: it pickles and is not defined in ``__main__``."""
    if "__main__" in (getattr(read, "__module__", None), type(read).__module__):
        return False
    try:
        pickle.dumps(read)
    except (pickle.PicklingError, AttributeError, TypeError):
        return False
    return True


def _pool_context(read: Callable[[Record], ECG]) -> mp.context.BaseContext:
    """forkserver for a portable reader (workers then share none of this process's memory, so their size does not
    grow with the corpus held here); fork for a closure, where the platform has fork."""
    methods = mp.get_all_start_methods()
    if not _portable(read) and "fork" in methods:
        return mp.get_context("fork")
    if "forkserver" in methods:
        context = mp.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # workers start with numpy, scipy and the readers imported
        return context
    return mp.get_context("spawn")


def build_shards(
    records: Sequence[Record],
    read: Callable[[Record], ECG],
    cfg: PreprocessConfig,
    folder: str | Path,
    *,
    key: str,
    tag: str,
    shard_size: int = DEFAULT_SHARD_SIZE,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Build (or finish) the sharded cache of ``records`` in ``folder``; returns the index (also ``index.json``).

    Shards already complete for ``key`` are kept as they are. A non-skippable error (a bug) stops the build; the
    shards finished so far stay and a rerun resumes after them.

    Args:
        records: the records, in dataset order.
        read: ``record -> ECG``; one that pickles (e.g. :class:`core.data.dataset.CatalogReader`) runs in workers
            started from a fork server; a closure runs in forked workers.
        cfg: the preprocessing.
        folder: the cache folder (created).
        key: the cache key (stored in every manifest; a shard with another key is rebuilt).
        tag: names the reader / catalog versions (stored in the manifests).
        shard_size: records per shard.
        workers: worker processes; 0 builds in this process; None uses one per CPU (at most one per shard, and this
            process alone when a single shard is left).
            As with any fork-server or spawn pool, a script that builds a cache with workers needs the
            ``if __name__ == "__main__":`` guard (workers import the main module).
        progress: ``progress((records_done, total), desc=...)`` after each shard.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bounds = shard_bounds(len(records), shard_size)
    manifests: dict[int, dict[str, Any]] = {}
    tasks = []
    for index, (start, stop) in enumerate(bounds):
        manifest = read_manifest(ShardFiles(folder, index), key)
        if manifest is not None and (manifest["start"], manifest["stop"]) == (start, stop):
            manifests[index] = manifest
        else:
            tasks.append(ShardTask(index, start, list(records[start:stop]), folder, key, cfg, tag))
    done = sum(m["stop"] - m["start"] for m in manifests.values())
    if manifests:
        log.info("resuming the cache in %s: %d of %d shards already built", folder, len(manifests), len(bounds))
    desc = "preprocessing ECGs into the cache"
    report(progress, done, len(records), desc)

    def finished(manifest: dict[str, Any]) -> None:
        nonlocal done
        manifests[manifest["shard"]] = manifest
        done += manifest["stop"] - manifest["start"]
        if manifest["n_skipped"]:
            for item in json.loads(ShardFiles(folder, manifest["shard"]).skipped.read_text()):
                log.warning("skipped %s (%s): %s", item["record_id"], item["path"], item["reason"])
        report(progress, done, len(records), desc)

    n_workers = min(default_workers() if workers is None else workers, len(tasks))
    if workers is None and n_workers <= 1 or workers == 0:
        for task in tasks:
            finished(build_shard(task, read))
    elif tasks:
        with cf.ProcessPoolExecutor(
            n_workers, mp_context=_pool_context(read), initializer=_init_worker, initargs=(read,)
        ) as pool:
            futures = [pool.submit(_build_in_worker, task) for task in tasks]
            try:
                for future in cf.as_completed(futures):
                    finished(future.result())
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # keep what is finished; a rerun resumes after it
                raise
    return _write_index(folder, key, [manifests[i] for i in range(len(bounds))], len(records), shard_size)


def _write_index(
    folder: Path, key: str, manifests: list[dict[str, Any]], n_records: int, shard_size: int
) -> dict[str, Any]:
    skipped: list[int] = []
    for m in manifests:
        if m["n_skipped"]:
            skipped += [item["position"] for item in json.loads(ShardFiles(folder, m["shard"]).skipped.read_text())]
    index = {
        "format": SHARD_FORMAT,
        "key": key,
        "n_records": n_records,
        "shard_size": shard_size,
        "n_kept": n_records - len(skipped),
        "skipped_positions": skipped,
        "shards": [{"shard": m["shard"], "n_kept": m["n_kept"], "n_skipped": m["n_skipped"]} for m in manifests],
    }
    _atomic_write(folder / INDEX_NAME, lambda f: f.write(_json_bytes(index)))
    return index


def read_index(folder: str | Path, key: str) -> dict[str, Any] | None:
    """The cache's ``index.json`` if the cache in ``folder`` is complete for ``key``, else None."""
    try:
        index = json.loads((Path(folder) / INDEX_NAME).read_text())
    except (OSError, ValueError):
        return None
    if index.get("format") != SHARD_FORMAT or index.get("key") != key:
        return None
    return index


def skipped_records(folder: str | Path, index: dict[str, Any]) -> list[dict[str, Any]]:
    """Every skipped record of a complete cache: ``{"position", "record_id", "path", "reason"}``."""
    out: list[dict[str, Any]] = []
    for shard in index["shards"]:
        if shard["n_skipped"]:
            out += json.loads(ShardFiles(Path(folder), shard["shard"]).skipped.read_text())
    return out


# ---------------------------------------------------------------------------------------------------- reading
class ShardedSignals:
    """Read-only (N, 12, T) float16 view over the shards of a complete cache (N = records kept).

    Rows are read from memory-mapped shard files; at most :data:`MAX_OPEN_SHARDS` maps stay open. ``np.asarray``
    gives the whole array in RAM (only for callers that want it, e.g. evaluation on a test split).

    Args:
        folder: the cache folder.
        index: its ``index.json`` (from :func:`read_index`).
        n_samples: T.
    """

    dtype = np.dtype(np.float16)

    def __init__(self, folder: str | Path, index: dict[str, Any], n_samples: int):
        self.folder = Path(folder)
        counts = np.array([s["n_kept"] for s in index["shards"]], dtype=np.int64)
        self._shard_of = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
        self._first_row = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.shape = (int(counts.sum()), len(CANONICAL_LEADS), n_samples)
        self._maps: OrderedDict[int, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return 3

    def shard(self, index: int) -> np.ndarray:
        """The memory map of shard ``index`` (kept open, least recently used closed first)."""
        if index in self._maps:
            self._maps.move_to_end(index)
            return self._maps[index]
        array = np.load(ShardFiles(self.folder, index).signals, mmap_mode="r")
        self._maps[index] = array
        if len(self._maps) > MAX_OPEN_SHARDS:
            self._maps.popitem(last=False)
        return array

    def row(self, i: int) -> np.ndarray:
        """Row ``i`` (12, T) as a float16 view of its shard's memory map."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} records")
        i %= len(self)
        shard = int(self._shard_of[i])
        return self.shard(shard)[i - self._first_row[shard]]

    def __getitem__(self, key: int | slice | Sequence[int] | np.ndarray) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self.row(int(key))
        if isinstance(key, slice):
            positions: Sequence[int] | np.ndarray = range(*key.indices(len(self)))
        else:
            positions = np.asarray(key)
            positions = np.flatnonzero(positions) if positions.dtype == bool else positions
        out = np.empty((len(positions), *self.shape[1:]), dtype=self.dtype)
        for j, i in enumerate(positions):
            out[j] = self.row(int(i))
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = np.empty(self.shape, dtype=dtype or self.dtype)
        for shard in range(len(self._first_row)):
            start = int(self._first_row[shard])
            part = self.shard(shard)
            out[start : start + len(part)] = part
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_maps"] = OrderedDict()  # memory maps are re-opened in the receiving process
        return state


def read_masks(folder: str | Path, index: dict[str, Any]) -> np.ndarray:
    """All lead masks of a complete cache, bool (N kept, 12), in RAM (12 bytes a record)."""
    parts = [np.load(ShardFiles(Path(folder), s["shard"]).masks) for s in index["shards"]]
    return np.concatenate(parts) if parts else np.zeros((0, len(CANONICAL_LEADS)), dtype=bool)
