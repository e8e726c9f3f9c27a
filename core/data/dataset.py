"""Torch dataset of (preprocessed ECG, English text) pairs with a sharded float16 cache.

Preprocessing (resample, filter, crop/pad, normalise) costs milliseconds per record; an epoch should not pay it
again. The first time a (records, preprocessing, catalog version) combination is used, every record is read and
preprocessed once, by worker processes, into fixed-size shards under ``<cache_dir>/shards-<key>/`` (float16
``(n, 12, T)`` signals, lead masks, a skip list and a manifest per shard; see :mod:`core.data.shards`). Later epochs
and later runs read rows of the memory-mapped shards. ``key`` hashes the record ids and paths, the
:class:`PreprocessConfig` and its code version, the catalogs' parser versions (the data version: datasets live in
versioned folders, e.g. ``ptb-xl/1.0.3``) and the shard size, so a stale cache is never served. A killed build
resumes after its finished shards; a record that cannot be read is skipped with its reason (:attr:`skipped`) and left
out of the dataset.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from core.data.catalogs.base import Catalog, Record, multi_hot
from core.data.preprocess import PREPROCESS_VERSION, PreprocessConfig, preprocess
from core.data.progress import ProgressCallback
from core.data.shards import (
    DEFAULT_SHARD_SIZE,
    CatalogReader,
    ShardedSignals,
    build_shards,
    read_index,
    read_masks,
    skipped_records,
)
from core.ecg import ECG
from core.paths import data_dir

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # bump when the cache file layout changes (2: shards)
CatalogOrReader = Catalog | Sequence[Catalog] | Mapping[str, Catalog] | Callable[[Record], ECG]


def default_cache_dir() -> Path:
    """``core.paths.data_dir() / "cache"``."""
    return data_dir() / "cache"


def make_reader(catalog_or_reader: CatalogOrReader) -> tuple[Callable[[Record], ECG], str]:
    """A ``record -> ECG`` function and a tag naming what produced it (for cache keys).

    Args:
        catalog_or_reader: a :class:`Catalog`; several catalogs (a sequence, or a mapping by dataset name), chosen
            per record by ``record.dataset``; or any callable ``record -> ECG``.
    """
    if isinstance(catalog_or_reader, Catalog):
        catalog_or_reader = [catalog_or_reader]
    if isinstance(catalog_or_reader, Mapping) or (
        isinstance(catalog_or_reader, Sequence) and all(isinstance(c, Catalog) for c in catalog_or_reader)
    ):
        catalogs = (
            dict(catalog_or_reader)
            if isinstance(catalog_or_reader, Mapping)
            else {c.name: c for c in catalog_or_reader}
        )
        tag = "+".join(sorted(c.cache_tag for c in catalogs.values()))
        if len(catalogs) == 1 and type(next(iter(catalogs.values()))).read is not Catalog.read:
            return next(iter(catalogs.values())).read, tag  # a catalog that reads its own way
        return CatalogReader({name: c.read_kwargs for name, c in catalogs.items()}), tag
    if callable(catalog_or_reader):
        name = f"{getattr(catalog_or_reader, '__module__', '?')}.{getattr(catalog_or_reader, '__qualname__', '?')}"
        return catalog_or_reader, name
    raise TypeError(f"expected a Catalog, catalogs or a callable record -> ECG, got {type(catalog_or_reader)!r}")


def cache_key(records: Sequence[Record], cfg: PreprocessConfig, tag: str, shard_size: int = DEFAULT_SHARD_SIZE) -> str:
    """Hash of what the cached signals depend on: record ids and paths, preprocessing (config and code version),
    reader/catalog versions and the shard size."""
    digest = hashlib.sha256()
    header = {
        "format": CACHE_FORMAT,
        "preprocess": cfg.to_dict(),
        "preprocess_version": PREPROCESS_VERSION,
        "reader": tag,
        "shard_size": shard_size,
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for r in records:  # streamed: a million records need no million-item JSON string
        digest.update(json.dumps([r.record_id, str(r.path)]).encode())
    return digest.hexdigest()[:24]


class ECGTextDataset(Dataset):
    """ECG-text pairs for training and embedding.

    Each item is a dict::

        {"signal": FloatTensor (12, T), "lead_mask": BoolTensor (12,), "text": str, "record_id": str, "index": int}

    plus ``"labels"`` (FloatTensor (C,), multi-hot) when ``label_set`` is given. Rows of ``signal`` follow
    :data:`core.leads.CANONICAL_LEADS`; ``T = preprocess_cfg.n_samples``.

    With the cache, records that could not be read or preprocessed are left out: :attr:`records` holds the ones
    kept (``len`` counts them) and :attr:`skipped` the others with their reasons.

    Args:
        records: the records (or a :class:`Catalog`, meaning all its records).
        catalog_or_reader: how to read a record (see :func:`make_reader`).
        preprocess_cfg: the preprocessing (a model's ``preprocess_cfg``); default :class:`PreprocessConfig`.
        cache_dir: where the shard folders live; default ``core.paths.data_dir() / "cache"``.
        cache: False reads and preprocesses every item on the fly (no files written).
        text_fn: ``record -> str`` for the item's text (e.g. report enriched with measurements); default
            ``record.text_en`` (falling back to ``record.text``).
        label_set: add a multi-hot ``"labels"`` over this label set.
        label_vocabulary: columns of ``"labels"``; default the catalog's vocabulary for ``label_set``.
        progress: ``progress((done, total), desc=...)`` while the cache is built (``gr.Progress`` works as is).
        workers: processes that build the cache (0: this process; None: one per CPU, see
            :func:`core.data.shards.build_shards`).
        shard_size: records per cache shard.
    """

    def __init__(
        self,
        records: Sequence[Record] | Catalog,
        catalog_or_reader: CatalogOrReader | None = None,
        preprocess_cfg: PreprocessConfig | None = None,
        cache_dir: str | Path | None = None,
        *,
        cache: bool = True,
        text_fn: Callable[[Record], str] | None = None,
        label_set: str | None = None,
        label_vocabulary: Sequence[str] | None = None,
        progress: ProgressCallback | None = None,
        workers: int | None = None,
        shard_size: int = DEFAULT_SHARD_SIZE,
    ):
        if isinstance(records, Catalog):
            catalog_or_reader = records if catalog_or_reader is None else catalog_or_reader
            records = records.records
        if catalog_or_reader is None:
            raise TypeError("catalog_or_reader is required when records is not a Catalog")
        self.requested: list[Record] = list(records)
        self.records: list[Record] = self.requested
        self.skipped: list[dict[str, Any]] = []
        self.cfg = preprocess_cfg or PreprocessConfig()
        self.read, self._tag = make_reader(catalog_or_reader)
        self.text_fn = text_fn
        self.label_set = label_set
        self.label_vocabulary = list(label_vocabulary) if label_vocabulary is not None else None
        if label_set is not None and self.label_vocabulary is None:
            self.label_vocabulary = _vocabulary_from(catalog_or_reader, label_set)
        self.shard_size = shard_size
        self.workers = workers
        self.key = cache_key(self.requested, self.cfg, self._tag, shard_size)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.cached = cache
        self._index: dict[str, Any] | None = None
        self._signals: ShardedSignals | None = None
        self._masks: np.ndarray | None = None
        if cache and self.requested:
            self.build_cache(progress=progress)
        self._labels = multi_hot(self.records, label_set, self.label_vocabulary) if label_set is not None else None

    # ---------------------------------------------------------------------------------------------------- cache
    @property
    def cache_path(self) -> Path:
        """The folder of this dataset's shards (``shards-<key>/``)."""
        return self.cache_dir / f"shards-{self.key}"

    @property
    def cache_bytes(self) -> int:
        """Size of the cache on disk (0 when not built)."""
        return sum(f.stat().st_size for f in self.cache_path.glob("*") if f.is_file())

    def is_cached(self) -> bool:
        """True if a complete cache for these records and this preprocessing exists."""
        return read_index(self.cache_path, self.key) is not None

    def build_cache(self, progress: ProgressCallback | None = None) -> Path:
        """Read and preprocess every record once into the shards (finishing a partial build); returns the folder.

        Afterwards :attr:`records` holds the records kept and :attr:`skipped` the ones that could not be read.
        """
        index = read_index(self.cache_path, self.key)
        if index is None:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            # One builder per key: other processes (DDP ranks, DataLoader workers) wait, then reuse its result.
            with _exclusive(self.cache_dir / f"shards-{self.key}.lock"):
                index = read_index(self.cache_path, self.key)
                if index is None:
                    start = time.perf_counter()
                    index = build_shards(
                        self.requested,
                        self.read,
                        self.cfg,
                        self.cache_path,
                        key=self.key,
                        tag=self._tag,
                        shard_size=self.shard_size,
                        workers=self.workers,
                        progress=progress,
                    )
                    log.info(
                        "cached %d preprocessed ECGs in %s (%.1f s, %d skipped)",
                        index["n_kept"],
                        self.cache_path,
                        time.perf_counter() - start,
                        len(index["skipped_positions"]),
                    )
        self._use_index(index)
        return self.cache_path

    def _use_index(self, index: dict[str, Any]) -> None:
        if index["skipped_positions"]:
            self.skipped = skipped_records(self.cache_path, index)
            left_out = set(index["skipped_positions"])
            self.records = [r for i, r in enumerate(self.requested) if i not in left_out]
        self._index = index
        self._signals = self._masks = None

    def _open(self) -> tuple[ShardedSignals, np.ndarray]:
        # Opened lazily (and per process: DataLoader workers re-open after unpickling, see __getstate__).
        if self._index is None:
            self.build_cache()
        if self._signals is None or self._masks is None:
            self._signals = ShardedSignals(self.cache_path, self._index, self.cfg.n_samples)
            self._masks = read_masks(self.cache_path, self._index)
        return self._signals, self._masks

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_signals"] = state["_masks"] = None
        return state

    @property
    def signals(self) -> ShardedSignals:
        """All cached signals as a read-only float16 (N, 12, T) view over the memory-mapped shards (``np.asarray``
        loads them all)."""
        if not self.cached:
            raise RuntimeError("this dataset was created with cache=False")
        return self._open()[0]

    @property
    def lead_masks(self) -> np.ndarray:
        """All cached lead masks, bool (N, 12)."""
        if not self.cached:
            raise RuntimeError("this dataset was created with cache=False")
        return self._open()[1]

    # ---------------------------------------------------------------------------------------------------- items
    def __len__(self) -> int:
        return len(self.records)

    def text(self, index: int) -> str:
        """The text paired with record ``index``."""
        record = self.records[index]
        if self.text_fn is not None:
            return self.text_fn(record)
        return record.text_en or record.text

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        if self.cached:
            signals, masks = self._open()
            signal = torch.from_numpy(np.asarray(signals.row(index), dtype=np.float32))
            lead_mask = torch.from_numpy(masks[index].copy())
        else:
            ecg = self.read(record)
            signal = torch.from_numpy(preprocess(ecg, self.cfg))
            lead_mask = torch.from_numpy(ecg.lead_mask.copy())
        item: dict[str, Any] = {
            "signal": signal,
            "lead_mask": lead_mask,
            "text": self.text(index),
            "record_id": record.record_id,
            "index": index,
        }
        if self._labels is not None:
            item["labels"] = torch.from_numpy(self._labels[index])
        return item


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """An exclusive advisory file lock (POSIX ``flock``; no locking where ``fcntl`` is unavailable)."""
    try:
        import fcntl
    except ImportError:  # Windows: concurrent builders write separate temporary files; the last rename wins
        yield
        return
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _vocabulary_from(catalog_or_reader: Any, label_set: str) -> list[str]:
    catalogs: list[Catalog] = []
    if isinstance(catalog_or_reader, Catalog):
        catalogs = [catalog_or_reader]
    elif isinstance(catalog_or_reader, Mapping):
        catalogs = list(catalog_or_reader.values())
    elif isinstance(catalog_or_reader, Sequence):
        catalogs = [c for c in catalog_or_reader if isinstance(c, Catalog)]
    vocab = sorted({label for c in catalogs for label in c.label_sets.get(label_set, [])})
    if not vocab:
        raise KeyError(f"no catalog defines label set {label_set!r}; pass label_vocabulary=")
    return vocab
