"""What an evaluation runs on: one dataset's held-out and training records, their signals, texts and labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.catalogs import load_catalog
from core.data.catalogs.base import Catalog, Record, multi_hot, split_roots
from core.data.dataset import ECGTextDataset
from core.data.preprocess import PreprocessConfig
from core.zeroshot import PROMPTS_DIR, PromptSet, list_prompt_sets, load_prompt_set

# Held-out split of every dataset: "test" (PTB-XL folds 9 and 10, patient-disjoint from folds 1-8; 40 % of the
# hash-split datasets). "val" is carved from the training data for early stopping, so it is not held out.
HELD_OUT_SPLITS: tuple[str, ...] = ("test",)


@dataclass
class EvalTask:
    """A labelled task: a prompt set and the matching ground-truth columns."""

    name: str
    prompts: PromptSet
    label_sets: tuple[str, ...]  # record label sets whose union is the ground truth

    def truth(self, records: list[Record]) -> np.ndarray:
        """(n, classes) 0/1 matrix: a record is positive for a class if any of the label sets holds it."""
        classes = self.prompts.class_names
        y = np.zeros((len(records), len(classes)), dtype=int)
        for label_set in self.label_sets:
            y |= multi_hot(records, label_set, classes).astype(int)
        return y


@dataclass
class EvalData:
    """One dataset prepared for evaluation with a given preprocessing."""

    name: str
    catalog: Catalog
    held_out: list[Record]
    train: list[Record]
    tasks: list[EvalTask]

    def drop_unreadable(self, cfg: PreprocessConfig) -> list[dict]:
        """Leave out the records whose files cannot be read (the dataset cache skips them with their reasons), so
        that signals, labels and texts stay row-aligned; returns the skipped entries. When every record is readable
        the lists are unchanged, and so is the cache key (the records are part of it)."""
        skipped: list[dict] = []
        for split in ("held_out", "train"):
            dataset = ECGTextDataset(getattr(self, split), self.catalog, cfg)
            if dataset.skipped:
                skipped += dataset.skipped
                setattr(self, split, list(dataset.records))
        return skipped

    def signals(self, records: list[Record], cfg: PreprocessConfig) -> tuple[np.ndarray, np.ndarray]:
        """Preprocessed signals (n, 12, T) float32 and lead masks (n, 12) via the dataset cache.

        Raises:
            ValueError: a record could not be read (call :meth:`drop_unreadable` first), so rows would not align.
        """
        dataset = ECGTextDataset(records, self.catalog, cfg)
        if dataset.skipped:
            first = dataset.skipped[0]
            raise ValueError(
                f"{self.name}: {len(dataset.skipped)} record(s) could not be read (first: {first.get('record_id')}: "
                f"{first.get('reason')}); drop them with EvalData.drop_unreadable before asking for signals"
            )
        return np.asarray(dataset.signals, dtype=np.float32), np.asarray(dataset.lead_masks, dtype=bool)

    @staticmethod
    def texts(records: list[Record]) -> list[str]:
        return [r.text_en or r.text for r in records]


def tasks_for(catalog: Catalog, prompts_dir: Path = PROMPTS_DIR) -> list[EvalTask]:
    """The zero-shot tasks of a dataset, from the prompt files named after it.

    ``<dataset>_<label_set>.json`` scores that label set; ``<dataset>.json`` scores the union of all label sets
    (LUDB and CinC-2021 name their classes in words, so one file covers rhythm, axis, conduction, ...).
    """
    tasks = []
    for stem in list_prompt_sets(prompts_dir):
        if stem == catalog.name:
            tasks.append(EvalTask(stem, load_prompt_set(stem, prompts_dir), tuple(catalog.label_sets)))
        elif stem.startswith(catalog.name + "_") and stem[len(catalog.name) + 1 :] in catalog.label_sets:
            label_set = stem[len(catalog.name) + 1 :]
            tasks.append(EvalTask(label_set, load_prompt_set(stem, prompts_dir), (label_set,)))
    return tasks


def load_eval_data(spec: str, *, limit: int | None = None, prompts_dir: Path = PROMPTS_DIR) -> EvalData:
    """Resolve ``spec`` (a dataset name, ``name=DIR``, or a directory) into an :class:`EvalData`.

    Args:
        spec: ``"ptbxl"`` (found through the data layer's cache or ``ECG_DATA_MIRROR``), ``"ludb=/path/to/ludb"``,
            or a directory holding a dataset in its PhysioNet layout (its name is guessed from its files). Several
            folders of one dataset are joined with ``+``: ``"ptbxl=DIR1+DIR2"`` (see
            :func:`core.data.catalogs.base.split_roots`).
        limit: keep at most this many held-out and training records each (smoke tests).
        prompts_dir: where the prompt JSON files are.
    """
    name, root = _parse_spec(spec)
    catalog = load_catalog(name, root=root)
    held_out = [r for r in catalog.records if r.split in HELD_OUT_SPLITS]
    train = [r for r in catalog.records if r.split == "train"]
    if limit:
        held_out, train = held_out[:limit], train[:limit]
    return EvalData(name, catalog, held_out, train, tasks_for(catalog, prompts_dir))


def _parse_spec(spec: str) -> tuple[str, list[Path] | None]:
    if "=" in spec:
        name, root = spec.split("=", 1)
        return name, split_roots(root)
    folders = split_roots(spec)
    if folders and all(folder.is_dir() for folder in folders):
        return _guess_dataset(folders[0]), folders
    return spec, None


def _guess_dataset(path: Path) -> str:
    markers = {"ptbxl_database.csv": "ptbxl", "ludb.csv": "ludb", "record_list.csv": "mimic_iv_ecg"}
    for marker, name in markers.items():
        if (path / marker).is_file():
            return name
    if any(path.glob("*.mat")):
        return "cinc2021"
    if (path / "metadata.csv").is_file() and any(path.glob("*.h5")):
        return "sph"
    return "folder"


def write_json(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False))
