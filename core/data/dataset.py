"""Torch dataset of (preprocessed ECG, English text) pairs with a float16 memmap cache.

Preprocessing (resample, filter, crop/pad, normalise) costs milliseconds per record; an epoch should not pay it
again. The first time a (records, preprocessing, catalog version) combination is used, every record is read and
preprocessed once into ``<cache_dir>/signals-<key>.npy`` (float16, shape (N, 12, T), written with
``np.lib.format.open_memmap``) plus ``signals-<key>.mask.npy`` (bool lead masks, (N, 12)). Later epochs and later
runs read slices of the memmap. ``key`` hashes the record ids and paths, the :class:`PreprocessConfig` and the
catalogs' parser versions, so a stale cache is never served; the ``.json`` sidecar is written last and marks a
complete cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from core.data.catalogs.base import Catalog, Record, multi_hot
from core.data.preprocess import PREPROCESS_VERSION, PreprocessConfig, preprocess
from core.data.progress import ProgressCallback, report
from core.ecg import ECG
from core.leads import CANONICAL_LEADS
from core.paths import data_dir

log = logging.getLogger(__name__)

CACHE_FORMAT = 1  # bump when the cache file layout changes
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
        return catalog_or_reader.read, catalog_or_reader.cache_tag
    if isinstance(catalog_or_reader, Mapping) or (
        isinstance(catalog_or_reader, Sequence) and all(isinstance(c, Catalog) for c in catalog_or_reader)
    ):
        catalogs = (
            dict(catalog_or_reader)
            if isinstance(catalog_or_reader, Mapping)
            else {c.name: c for c in catalog_or_reader}
        )

        def read(record: Record) -> ECG:
            catalog = catalogs.get(record.dataset)
            if catalog is None:
                raise KeyError(f"no catalog for dataset {record.dataset!r} (have {sorted(catalogs)})")
            return catalog.read(record)

        return read, "+".join(sorted(c.cache_tag for c in catalogs.values()))
    if callable(catalog_or_reader):
        name = f"{getattr(catalog_or_reader, '__module__', '?')}.{getattr(catalog_or_reader, '__qualname__', '?')}"
        return catalog_or_reader, name
    raise TypeError(f"expected a Catalog, catalogs or a callable record -> ECG, got {type(catalog_or_reader)!r}")


def cache_key(records: Sequence[Record], cfg: PreprocessConfig, tag: str) -> str:
    """Hash of what the cached signals depend on: record ids and paths, preprocessing, reader/catalog versions."""
    payload = {
        "format": CACHE_FORMAT,
        "records": [[r.record_id, str(r.path)] for r in records],
        "preprocess": cfg.to_dict(),
        "preprocess_version": PREPROCESS_VERSION,
        "reader": tag,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:24]


class ECGTextDataset(Dataset):
    """ECG-text pairs for training and embedding.

    Each item is a dict::

        {"signal": FloatTensor (12, T), "lead_mask": BoolTensor (12,), "text": str, "record_id": str, "index": int}

    plus ``"labels"`` (FloatTensor (C,), multi-hot) when ``label_set`` is given. Rows of ``signal`` follow
    :data:`core.leads.CANONICAL_LEADS`; ``T = preprocess_cfg.n_samples``.

    Args:
        records: the records (or a :class:`Catalog`, meaning all its records).
        catalog_or_reader: how to read a record (see :func:`make_reader`).
        preprocess_cfg: the preprocessing (a model's ``preprocess_cfg``); default :class:`PreprocessConfig`.
        cache_dir: where the memmap lives; default ``core.paths.data_dir() / "cache"``.
        cache: False reads and preprocesses every item on the fly (no files written).
        text_fn: ``record -> str`` for the item's text (e.g. report enriched with measurements); default
            ``record.text_en`` (falling back to ``record.text``).
        label_set: add a multi-hot ``"labels"`` over this label set.
        label_vocabulary: columns of ``"labels"``; default the catalog's vocabulary for ``label_set``.
        progress: ``progress((done, total), desc=...)`` while the cache is built (``gr.Progress`` works as is).
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
    ):
        if isinstance(records, Catalog):
            catalog_or_reader = records if catalog_or_reader is None else catalog_or_reader
            records = records.records
        if catalog_or_reader is None:
            raise TypeError("catalog_or_reader is required when records is not a Catalog")
        self.records: list[Record] = list(records)
        self.cfg = preprocess_cfg or PreprocessConfig()
        self.read, self._tag = make_reader(catalog_or_reader)
        self.text_fn = text_fn
        self.label_set = label_set
        self.label_vocabulary = list(label_vocabulary) if label_vocabulary is not None else None
        if label_set is not None and self.label_vocabulary is None:
            self.label_vocabulary = _vocabulary_from(catalog_or_reader, label_set)
        self._labels = multi_hot(self.records, label_set, self.label_vocabulary) if label_set is not None else None
        self.key = cache_key(self.records, self.cfg, self._tag)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.cached = cache
        self._signals: np.ndarray | None = None
        self._masks: np.ndarray | None = None
        if cache and self.records:
            self.build_cache(progress=progress)

    # ---------------------------------------------------------------------------------------------------- cache
    @property
    def cache_path(self) -> Path:
        """The float16 signal memmap (``signals-<key>.npy``)."""
        return self.cache_dir / f"signals-{self.key}.npy"

    @property
    def _mask_path(self) -> Path:
        return self.cache_dir / f"signals-{self.key}.mask.npy"

    @property
    def _meta_path(self) -> Path:
        return self.cache_dir / f"signals-{self.key}.json"

    def is_cached(self) -> bool:
        """True if a complete cache for these records and this preprocessing exists."""
        return self._meta_path.is_file() and self.cache_path.is_file() and self._mask_path.is_file()

    def build_cache(self, progress: ProgressCallback | None = None, force: bool = False) -> Path:
        """Read and preprocess every record once into the memmap (no-op if it exists); returns its path."""
        if self.is_cached() and not force:
            return self.cache_path
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # One builder per key: other processes (DDP ranks, DataLoader workers) wait, then reuse its result.
        with _exclusive(self.cache_dir / f"signals-{self.key}.lock"):
            if self.is_cached() and not force:
                return self.cache_path
            return self._build(progress)

    def _build(self, progress: ProgressCallback | None) -> Path:
        n, t = len(self.records), self.cfg.n_samples
        suffix = f".{os.getpid()}.tmp"
        tmp_signals = self.cache_path.with_name(self.cache_path.name + suffix + ".npy")
        tmp_masks = self._mask_path.with_name(self._mask_path.name + suffix + ".npy")
        start = time.perf_counter()
        try:
            signals = np.lib.format.open_memmap(
                tmp_signals, mode="w+", dtype=np.float16, shape=(n, len(CANONICAL_LEADS), t)
            )
            masks = np.zeros((n, len(CANONICAL_LEADS)), dtype=bool)
            for i, record in enumerate(self.records):
                ecg = self.read(record)
                signals[i] = preprocess(ecg, self.cfg)
                masks[i] = ecg.lead_mask
                if i % 16 == 0 or i == n - 1:
                    report(progress, i + 1, n, "preprocessing ECGs into the cache")
            signals.flush()
            del signals
            np.save(tmp_masks, masks)
            os.replace(tmp_signals, self.cache_path)
            os.replace(tmp_masks, self._mask_path)
        finally:
            tmp_signals.unlink(missing_ok=True)
            tmp_masks.unlink(missing_ok=True)
        meta = {
            "format": CACHE_FORMAT,
            "n_records": n,
            "n_samples": t,
            "preprocess": self.cfg.to_dict(),
            "reader": self._tag,
            "first_record": self.records[0].record_id,
            "build_s": round(time.perf_counter() - start, 3),
        }
        tmp_meta = self._meta_path.with_name(self._meta_path.name + suffix)
        tmp_meta.write_text(json.dumps(meta, indent=1))
        os.replace(tmp_meta, self._meta_path)
        log.info("cached %d preprocessed ECGs in %s (%.1f s)", n, self.cache_path, meta["build_s"])
        self._signals = self._masks = None
        return self.cache_path

    def _open(self) -> tuple[np.ndarray, np.ndarray]:
        # Opened lazily (and per process: DataLoader workers re-open after unpickling, see __getstate__).
        if self._signals is None or self._masks is None:
            self._signals = np.load(self.cache_path, mmap_mode="r")
            self._masks = np.load(self._mask_path)
        return self._signals, self._masks

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_signals"] = state["_masks"] = None
        return state

    @property
    def signals(self) -> np.ndarray:
        """All cached signals as a read-only float16 memmap (N, 12, T) (builds the cache if needed)."""
        if not self.cached:
            raise RuntimeError("this dataset was created with cache=False")
        self.build_cache()
        return self._open()[0]

    @property
    def lead_masks(self) -> np.ndarray:
        """All cached lead masks, bool (N, 12) (builds the cache if needed)."""
        if not self.cached:
            raise RuntimeError("this dataset was created with cache=False")
        self.build_cache()
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
            signal = torch.from_numpy(np.asarray(signals[index], dtype=np.float32))
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
