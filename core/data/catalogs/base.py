"""Record / Catalog types, the catalog registry, deterministic splits and dataset-root resolution.

A catalog lists the records of one dataset with their report text (original and English), label sets and split.
It reads a record's waveform through :func:`core.data.readers.read_ecg`.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.data import registry
from core.data.download import download_dataset
from core.data.readers import read_ecg
from core.data.registry import physionet_cache_dir
from core.ecg import ECG
from core.errors import DatasetNotFoundError, DownloadError, UnknownDatasetError
from core.text.english import to_english

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ("train", "val", "test")
# Hash split for datasets without official folds: 55 % train, 5 % val (early stopping), 40 % test (the held-out set).
# With the same salt, "test" is exactly the old val + test (u >= 0.6), so nothing trained on before becomes held out.
DEFAULT_SPLIT_FRACTIONS: tuple[float, float, float] = (0.55, 0.05, 0.40)
SPLIT_SALT = "ecg-language-explorer/split/v1"
# Separates several dataset folders in one root argument: ``--root DIR1+DIR2``.
ROOT_SEPARATOR = "+"

RootSpec = str | Path | Sequence[str | Path] | None


@dataclass
class Record:
    """One ECG of a dataset with its text and labels.

    Attributes:
        record_id: unique across datasets, ``"<dataset>/<id>"`` (e.g. ``"ptbxl/00001"``, ``"ludb/1"``).
        dataset: catalog name (``"ptbxl"``, ``"ludb"``, ...).
        path: record path without extension (WFDB) or the file (HDF5).
        text: the original report / diagnosis text (may be German, Swedish, ...).
        text_en: the English text.
        labels: label-set name -> labels of this record, e.g. ``{"superclass": ["NORM"], "rhythm": ["SR"]}``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        patient_id: the patient, where the dataset says (splits keep a patient on one side).
        meta: anything else (age, sex, codes with likelihoods, sampling rate, ...).
    """

    record_id: str
    dataset: str
    path: Path
    text: str
    text_en: str
    labels: dict[str, list[str]]
    split: str
    patient_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def read_record_file(record: Record, **read_kwargs: Any) -> ECG:
    """Read a record's waveform with :func:`core.data.readers.read_ecg`, stamping its ``record_id``."""
    return read_ecg(record.path, record_id=record.record_id, **read_kwargs)


@dataclass
class Catalog:
    """The records of one dataset (or a subset of it).

    Attributes:
        name: catalog name.
        root: the dataset directory the records were found in (the first one when several were merged).
        records: the records, in a stable order.
        label_sets: label-set name -> vocabulary (sorted list of possible labels).
        version: bumped when the catalog's parsing changes, so caches keyed by it are rebuilt.
        read_kwargs: extra arguments for :func:`read_ecg` (e.g. ``fs_hz`` and ``lead_names`` for HDF5 files).
        roots: every dataset directory the records come from (``(root,)`` unless merged by :func:`merge_catalogs`).
    """

    name: str
    root: Path
    records: list[Record]
    label_sets: dict[str, list[str]]
    version: str = "1"
    read_kwargs: dict[str, Any] = field(default_factory=dict)
    roots: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        if not self.roots:
            self.roots = (self.root,)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.records)

    def __getitem__(self, key: int | str) -> Record:
        """A record by position or by ``record_id``."""
        if isinstance(key, str):
            for record in self.records:
                if record.record_id == key:
                    return record
            raise KeyError(f"{self.name}: no record {key!r}")
        return self.records[key]

    @property
    def cache_tag(self) -> str:
        """Identifies what produced the records (name + parser version), for cache keys."""
        return f"{self.name}@{self.version}"

    def read(self, record: Record | str | int) -> ECG:
        """The waveform of a record (by value, id or position)."""
        if not isinstance(record, Record):
            record = self[record]
        return read_record_file(record, **self.read_kwargs)

    def split(self, name: str) -> list[Record]:
        """The records of one split."""
        if name not in SPLITS:
            raise ValueError(f"unknown split {name!r}; use one of {SPLITS}")
        return [r for r in self.records if r.split == name]

    def subset(self, records: Iterable[Record]) -> Catalog:
        """The same catalog restricted to some records (label vocabularies unchanged)."""
        return replace(self, records=list(records))

    def multi_hot(self, label_set: str, records: Sequence[Record] | None = None) -> np.ndarray:
        """Multi-hot matrix (records x vocabulary) of one label set; see :func:`multi_hot`."""
        if label_set not in self.label_sets:
            raise KeyError(f"{self.name} has no label set {label_set!r}; it has {sorted(self.label_sets)}")
        return multi_hot(self.records if records is None else records, label_set, self.label_sets[label_set])

    def counts(self) -> dict[str, Any]:
        """Records per split and, per label set, records per label (for summaries)."""
        out: dict[str, Any] = {"split": dict(Counter(r.split for r in self.records))}
        for label_set in self.label_sets:
            out[label_set] = dict(Counter(label for r in self.records for label in r.labels.get(label_set, [])))
        return out


def multi_hot(records: Sequence[Record], label_set: str, vocabulary: Sequence[str]) -> np.ndarray:
    """Multi-hot labels.

    Args:
        records: the records (rows).
        label_set: which of ``record.labels`` to use.
        vocabulary: the labels (columns), in order.

    Returns:
        float32 array of shape (len(records), len(vocabulary)); labels outside the vocabulary are ignored.
    """
    column = {label: j for j, label in enumerate(vocabulary)}
    out = np.zeros((len(records), len(vocabulary)), dtype=np.float32)
    for i, record in enumerate(records):
        for label in record.labels.get(label_set, []):
            j = column.get(label)
            if j is not None:
                out[i, j] = 1.0
    return out


def hash_split(key: str, fractions: Sequence[float] = DEFAULT_SPLIT_FRACTIONS, salt: str = SPLIT_SALT) -> str:
    """Deterministic split from a hash of ``key`` (use the patient id where there is one, so patients never straddle).

    Args:
        key: patient id or record id.
        fractions: train / val / test shares (summing to 1).
        salt: changes the assignment as a whole (keep the default for comparable results).

    Returns:
        ``"train"``, ``"val"`` or ``"test"``; the same key always gets the same split on every machine.
    """
    if len(fractions) != 3 or abs(sum(fractions) - 1.0) > 1e-6:
        raise ValueError(f"fractions must be three shares summing to 1, got {tuple(fractions)}")
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    edge = 0.0
    for name, share in zip(SPLITS, fractions, strict=True):
        edge += share
        if u < edge:
            return name
    return SPLITS[-1]


_english_memo: dict[str, str] = {}


def english(text: str) -> str:
    """English version of a report via ``core.text.english.to_english``, memoised (reports repeat a lot)."""
    if not text:
        return ""
    cached = _english_memo.get(text)
    if cached is None:
        cached = _english_memo[text] = to_english(text)
    return cached


# --------------------------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------------------------

CatalogLoader = Callable[..., Catalog]
# Loaders registered by @register_catalog. The built-in catalogs' modules are named in core.data.registry and imported
# on first use, so that loading one catalog does not import the others' dependencies (h5py for SPH, ...).
_LOADERS: dict[str, CatalogLoader] = {}


def register_catalog(name: str) -> Callable[[CatalogLoader], CatalogLoader]:
    """Decorator registering ``loader(root: Path | None, **kwargs) -> Catalog`` under ``name``."""

    def decorate(loader: CatalogLoader) -> CatalogLoader:
        _LOADERS[name] = loader
        return loader

    return decorate


def list_catalogs() -> list[str]:
    """Names accepted by :func:`load_catalog`: the registry's datasets and any catalog registered since."""
    return sorted(set(registry.DATASETS) | set(_LOADERS))


def load_catalog(name: str, root: RootSpec = None, **kwargs: Any) -> Catalog:
    """Load a dataset's catalog from one folder, or from several merged into one catalog.

    Args:
        name: ``"ptbxl"``, ``"ludb"``, ``"cinc2021"``, ``"sph"``, ``"mimic_iv_ecg"`` or ``"folder"``.
        root: the dataset directory, or a PhysioNet ``files/`` root containing it. Several folders of the same dataset
            (e.g. ``shared/data/ptb-xl/1.0.3`` and ``shared/data/ptbxl_more``) are given as a list or as one string
            ``"DIR1+DIR2"`` (see :func:`split_roots`); their records are merged by :func:`merge_catalogs`. ``None``
            uses the download cache (``core.paths.data_dir() / "physionet"``) and downloads through the mirror when
            the dataset is missing.
        **kwargs: catalog-specific options (e.g. ``rate_hz=100`` for PTB-XL), passed to every folder's loader; the
            downloadable catalogs take ``download=False`` (never download), ``records=N`` (download only N) and
            ``progress=callback``.

    Raises:
        DatasetNotFoundError: the files are absent and cannot be downloaded; the message says how to point to a copy.
        UnknownDatasetError: an unknown catalog name (a ``ValueError``).
    """
    key = name if name in _LOADERS else _catalog_key(name)
    if key not in _LOADERS:
        importlib.import_module(registry.get(key).catalog_module)
    roots = split_roots(root)
    if len(roots) <= 1:
        return _LOADERS[key](roots[0] if roots else None, **kwargs)
    return merge_catalogs([_LOADERS[key](folder, **kwargs) for folder in roots])


def _catalog_key(name: str) -> str:
    try:
        return registry.canonical_name(name)
    except UnknownDatasetError:
        raise UnknownDatasetError(f"unknown catalog {name!r}; known: {', '.join(list_catalogs())}") from None


def split_roots(root: RootSpec) -> list[Path]:
    """The dataset folders named by a root argument.

    Args:
        root: ``None`` (no folder: the download cache), a path, a list of paths, or a string of folders joined by
            ``+`` (``"../shared/data/ptb-xl/1.0.3+../shared/data/ptbxl_more"``). A string naming an existing path is
            one folder even if it contains ``+``.

    Returns:
        The folders, ``~`` expanded, duplicates removed, in the given order (empty for ``None``).
    """
    if root is None:
        return []
    if isinstance(root, Path):
        parts: list[str | Path] = [root]
    elif isinstance(root, str):
        parts = [root] if Path(root).expanduser().exists() else [p for p in root.split(ROOT_SEPARATOR) if p.strip()]
    else:
        parts = list(root)
    if not parts:
        raise ValueError(f"no dataset folder in {root!r}")
    folders = [Path(str(p).strip() if isinstance(p, str) else p).expanduser() for p in parts]
    return list(dict.fromkeys(folders))


def merge_catalogs(catalogs: Sequence[Catalog]) -> Catalog:
    """One catalog from several folders of the same dataset.

    Record ids are per dataset (``ptbxl/00001`` whatever the folder), so a record found in several folders is kept
    once: from the first folder that has it (the order given), with a log line saying how many were duplicates.
    Label vocabularies are united.

    Raises:
        ValueError: no catalogs, or catalogs of different datasets, parser versions or read options.
    """
    if not catalogs:
        raise ValueError("merge_catalogs needs at least one catalog")
    first = catalogs[0]
    for other in catalogs[1:]:
        if (other.name, other.version, other.read_kwargs) != (first.name, first.version, first.read_kwargs):
            raise ValueError(
                f"cannot merge catalog {other.name}@{other.version} ({other.root}) into {first.name}@{first.version}"
            )
    records: dict[str, Record] = {}
    duplicates = 0
    for catalog in catalogs:
        for record in catalog.records:
            if record.record_id in records:
                duplicates += 1
            else:
                records[record.record_id] = record
    if duplicates:
        log.info("%s: %d records found in more than one folder; kept the first folder's copy", first.name, duplicates)
    label_sets: dict[str, set[str]] = {}
    for catalog in catalogs:
        for label_set, vocabulary in catalog.label_sets.items():
            label_sets.setdefault(label_set, set()).update(vocabulary)
    roots = tuple(dict.fromkeys(folder for c in catalogs for folder in c.roots))
    return replace(
        first,
        roots=roots,
        records=list(records.values()),
        label_sets={name: sorted(values) for name, values in label_sets.items()},
    )


# --------------------------------------------------------------------------------------------------------------------
# Finding a dataset on disk
# --------------------------------------------------------------------------------------------------------------------


def resolve_root(
    name: str,
    root: Path | None,
    *,
    download: bool = True,
    records: int | None = None,
    progress: Any = None,
    mirror: str | Path | None = None,
) -> Path:
    """Find a dataset directory: given, in the cache, or freshly downloaded (where and how: :mod:`core.data.registry`).

    Args:
        name: a dataset of :mod:`core.data.registry`.
        root: a user-given directory: the dataset directory itself, or a PhysioNet ``files/`` root.
        download: allow downloading when ``root`` is None and the cache lacks the dataset.
        records: how many records to download (``None``: all).
        progress: download progress callback, ``progress((done, total), desc=...)``.
        mirror: where to download from (base URL or local folder in PhysioNet's layout); ``None``: ``ECG_DATA_MIRROR``
            or PhysioNet.

    Raises:
        DatasetNotFoundError: with instructions for pointing to a local copy.
    """
    entry = registry.get(name)
    if root is not None:
        found = registry.locate(entry.name, [root])
        if found is None:
            raise DatasetNotFoundError(_not_found_message(entry, registry.candidates(entry.name, [root])))
        return found
    cache = physionet_cache_dir()
    found = registry.locate(entry.name, [cache]) if entry.downloadable else None
    if found is not None:
        return found
    if entry.downloadable and download:
        try:
            return download_dataset(entry.name, records=records, progress=progress, mirror=mirror)
        except DownloadError as exc:
            raise DatasetNotFoundError(
                f"{entry.name}: not in the cache ({cache / (entry.physionet_path or '')}) and the download failed: "
                f"{exc}. " + _how_to_point(entry)
            ) from exc
    looked = registry.candidates(entry.name, [cache]) if entry.downloadable else []
    raise DatasetNotFoundError(_not_found_message(entry, looked))


def _not_found_message(entry: registry.DatasetEntry, looked: list[Path]) -> str:
    where = ", ".join(str(p) for p in looked) or "(no default location)"
    markers = ", ".join(entry.markers) or "its files"
    return f"{entry.name}: dataset not found (looked for {markers} in {where}). " + _how_to_point(entry)


def _how_to_point(entry: registry.DatasetEntry) -> str:
    name = entry.name
    if entry.physionet_path:
        return (
            f"Point to a local copy with --root DIR / load_catalog({name!r}, root=DIR) (the folder holding "
            f"{entry.physionet_path} or the dataset folder itself), or set ECG_DATA_MIRROR=DIR_OR_URL (a "
            f"PhysioNet-layout mirror) and run `python -m core download {name}`."
        )
    return (
        f"This dataset is not downloadable; point to a local copy with --root DIR / load_catalog({name!r}, root=DIR)."
    )
