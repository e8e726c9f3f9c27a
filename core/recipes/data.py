"""Training data for the recipes: train/validation datasets from catalogs, and a synthetic ECG-text set for tests.

Only training parts are trained on: PTB-XL folds 1-8 less a patient-hash 10 % kept for validation (folds 9-10 are the
test set), and the hash-split training part of the other datasets; their ``test`` parts are never read here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from core.data.catalogs.base import Catalog, Record
from core.data.preprocess import PreprocessConfig
from core.distributed import barrier
from core.ecg import ECG
from core.leads import CANONICAL_LEADS

log = logging.getLogger(__name__)

SYNTHETIC = "synthetic"
# Report templates of the synthetic set; each has its own rhythm rate (Hz) and amplitude so a model can learn them.
_SYNTHETIC_CLASSES: tuple[tuple[str, float, float], ...] = (
    ("sinus rhythm. normal ecg.", 1.2, 1.0),
    ("sinus bradycardia.", 0.8, 1.0),
    ("sinus tachycardia.", 2.0, 1.0),
    ("atrial fibrillation with rapid ventricular response.", 2.4, 0.6),
    ("left ventricular hypertrophy. sinus rhythm.", 1.1, 2.2),
    ("low qrs voltages in the limb leads.", 1.3, 0.4),
)


class SyntheticECGText(Dataset):
    """A small in-memory ECG-report set with the same items as :class:`core.data.dataset.ECGTextDataset`.

    Each record belongs to one of a few report templates (several records share a report, as in real data); its
    12 leads are phase-shifted sinusoids at the template's rate and amplitude plus noise.

    Args:
        n: number of records.
        n_samples: samples per signal.
        fs_hz: sampling rate written into :meth:`read`'s ECG.
        seed: RNG seed (the set is a pure function of its arguments).
        split: split name stamped on the records.
        text_fn: ``record -> str`` (e.g. a recipe's enrichment); default the template report.
    """

    def __init__(
        self,
        n: int = 32,
        n_samples: int = 1000,
        *,
        fs_hz: float = 100.0,
        seed: int = 0,
        split: str = "train",
        text_fn: Callable[[Record], str] | None = None,
    ) -> None:
        rng = np.random.default_rng(seed)
        t = np.arange(n_samples) / fs_hz
        self.fs_hz = fs_hz
        self.text_fn = text_fn
        self.records: list[Record] = []
        signals = np.empty((n, len(CANONICAL_LEADS), n_samples), dtype=np.float32)
        for i in range(n):
            k = int(rng.integers(len(_SYNTHETIC_CLASSES)))
            report, rate_hz, amp = _SYNTHETIC_CLASSES[k]
            phase = rng.uniform(0, 2 * math.pi, size=(len(CANONICAL_LEADS), 1))
            wave = amp * np.sin(2 * math.pi * rate_hz * t[None] + phase) ** 9
            signals[i] = wave + 0.05 * rng.standard_normal(wave.shape)
            record_id = f"{SYNTHETIC}/{split}-{seed}-{i}"
            self.records.append(
                Record(record_id, SYNTHETIC, Path(record_id), report, report, {"class": [report]}, split)
            )
        self.signals = signals

    def __len__(self) -> int:
        return len(self.records)

    def read(self, record: Record) -> ECG:
        """The record's ECG (millivolts as generated)."""
        i = self.records.index(record)
        return ECG.from_leads(
            self.signals[i], self.fs_hz, list(CANONICAL_LEADS), record_id=record.record_id, source=SYNTHETIC
        )

    def text(self, index: int) -> str:
        record = self.records[index]
        return self.text_fn(record) if self.text_fn is not None else record.text_en

    def __getitem__(self, index: int) -> dict[str, Any]:
        x = self.signals[index]
        x = (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True).clip(min=1e-6)
        return {
            "signal": torch.from_numpy(x.astype(np.float32)),
            "lead_mask": torch.ones(len(CANONICAL_LEADS), dtype=torch.bool),
            "text": self.text(index),
            "record_id": self.records[index].record_id,
            "index": index,
        }


def dataset_texts(dataset: Any) -> list[str]:
    """Every text of a dataset (through its ``text(i)``), without reading signals."""
    return [dataset.text(i) for i in range(len(dataset))]


def parse_roots(spec: str | None, names: Sequence[str]) -> dict[str, list[Path] | None]:
    """Dataset roots from ``--data-root``.

    ``spec`` is one folder for all datasets (a PhysioNet ``files/`` root), or comma-separated ``name=DIR`` parts;
    ``DIR`` may join several folders of one dataset with ``+``
    (``ptbxl=../shared/data/ptb-xl/1.0.3+../shared/data/ptbxl_more``), merged by
    :func:`core.data.catalogs.load_catalog`. A part without ``name=`` is the folder of every dataset not named.
    Datasets given no folder get ``None`` (the download cache).
    """
    from core.data.catalogs.base import split_roots

    roots: dict[str, list[Path] | None] = {n: None for n in names}
    if not spec:
        return roots
    default: list[Path] | None = None
    for part in spec.split(",") if "=" in spec else [spec]:
        name, sep, path = part.partition("=") if "=" in part else ("", "", part)
        if not sep:
            default = split_roots(path.strip())
            continue
        if name.strip() not in roots:
            raise ValueError(f"--data-root names {name.strip()!r}, which is not in --data {list(names)}")
        roots[name.strip()] = split_roots(path.strip())
    return {n: default if folders is None else folders for n, folders in roots.items()}


def _take(records: list[Record], limit: int | None) -> list[Record]:
    return records if limit is None else records[:limit]


def build_datasets(
    names: Sequence[str],
    recipe: Any,
    preprocess_cfg: PreprocessConfig,
    *,
    data_root: str | None = None,
    cache_dir: Path | None = None,
    limit: int | None = None,
    seed: int = 0,
    is_master: bool = True,
) -> tuple[Dataset, Dataset]:
    """Training and validation datasets for a recipe.

    Args:
        names: catalog names (``ptbxl``, ``ludb``, ``cinc2021``, ...) or ``["synthetic"]``.
        recipe: the recipe (its ``prepare_records`` and ``text_fn`` shape the texts).
        preprocess_cfg: the model's preprocessing.
        data_root: see :func:`parse_roots`.
        cache_dir: signal (and measurement) cache directory; default the dataset module's.
        limit: at most this many records per split (smoke runs).
        seed: seed of the synthetic set.
        is_master: rank 0 builds the caches first; the other ranks wait, then read them.

    Returns:
        ``(train, val)``: every dataset's ``train`` and ``val`` splits (after
        :func:`core.data.catalogs.overlap.reconcile`).
    """
    from core.data.dataset import default_cache_dir

    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if SYNTHETIC in names:
        if len(names) != 1:
            raise ValueError("the synthetic set cannot be mixed with real datasets")
        n_train = limit or 48
        train = SyntheticECGText(n_train, preprocess_cfg.n_samples, fs_hz=preprocess_cfg.fs_hz, seed=seed)
        val = SyntheticECGText(
            max(8, n_train // 4), preprocess_cfg.n_samples, fs_hz=preprocess_cfg.fs_hz, seed=seed + 1, split="val"
        )
        recipe.prepare_records(train.records + val.records, _synthetic_reader(train, val), cache_dir)
        train.text_fn = val.text_fn = recipe.text_fn()
        return train, val

    from core.data.catalogs import load_catalog
    from core.data.catalogs.overlap import reconcile
    from core.data.dataset import ECGTextDataset, make_reader

    roots = parse_roots(data_root, names)
    catalogs: dict[str, Catalog] = {}
    for name in names:
        catalog = load_catalog(name, roots[name])
        catalogs[catalog.name] = catalog
    # One copy of an ECG that is in two datasets (CinC "HR" = PTB-XL), on one side of the split.
    catalogs = reconcile(catalogs)
    train_records = _take([r for c in catalogs.values() for r in c.split("train")], limit)
    # Early stopping watches every dataset's "val" part (carved from training data); "test" is never read here.
    val_records = _take([r for c in catalogs.values() for r in c.split("val")], limit)
    log.info(
        "training on %d records (%s), validating on %d",
        len(train_records),
        ", ".join(f"{n}: {sum(r.dataset == n for r in train_records)}" for n in catalogs),
        len(val_records),
    )
    reader, _ = make_reader(catalogs)

    def build() -> tuple[Dataset, Dataset]:
        recipe.prepare_records(train_records + val_records, reader, cache_dir)
        text_fn = recipe.text_fn()
        kwargs: dict[str, Any] = {"cache_dir": cache_dir, "text_fn": text_fn}
        return (
            ECGTextDataset(train_records, catalogs, preprocess_cfg, **kwargs),
            ECGTextDataset(val_records, catalogs, preprocess_cfg, **kwargs),
        )

    # Rank 0 fills the caches; the others then only read them.
    if is_master:
        datasets = build()
    barrier()
    if not is_master:
        datasets = build()
    return datasets


def _synthetic_reader(*sets: SyntheticECGText) -> Callable[[Record], ECG]:
    owner = {r.record_id: s for s in sets for r in s.records}

    def read(record: Record) -> ECG:
        return owner[record.record_id].read(record)

    return read
