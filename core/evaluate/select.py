"""Pick the best checkpoint from an evaluation JSON written by ``python -m core evaluate``.

The rule (so that the app's default model is chosen by code, never by hand):

1. Each run gets up to three held-out figures, all ROC AUCs in [0, 1]:
   - ``ptbxl_superclass``: PTB-XL superclass zero-shot macro AUC;
   - ``cross_dataset``: mean zero-shot macro AUC over the LUDB and CinC-2021 tasks;
   - ``contrast``: mean text->ECG AUC over the clinical contrast pairs (``eval/contrast_set.json``).
2. Only figures present in *every* run are used, so all checkpoints are compared on the same footing
   (a run lacking the contrast table does not win by averaging fewer, easier numbers).
3. The score is the plain mean of those figures; the highest wins, ties go to the first run in the file.
4. ``None`` when the file does not exist or no figure is shared by all runs (the caller keeps its fallback).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CROSS_DATASETS = ("ludb", "cinc2021")
CRITERIA = ("ptbxl_superclass", "cross_dataset", "contrast")


def runs_of(results: dict) -> list[dict]:
    """The runs of an evaluation JSON: one checkpoint is written bare, several under ``"runs"``."""
    return list(results["runs"]) if "runs" in results else [results]


def criteria(run: dict) -> dict[str, float]:
    """The selection figures a run has (missing ones are left out, never guessed)."""
    datasets = run.get("datasets", {})
    found: dict[str, float] = {}
    superclass = datasets.get("ptbxl", {}).get("zeroshot", {}).get("superclass", {}).get("macro_auc")
    if superclass is not None:
        found["ptbxl_superclass"] = float(superclass)
    cross = [
        entry["macro_auc"]
        for name in CROSS_DATASETS
        for entry in datasets.get(name, {}).get("zeroshot", {}).values()
        if entry.get("macro_auc") is not None
    ]
    if cross:
        found["cross_dataset"] = float(np.mean(cross))
    contrast = run.get("contrast", {}).get("text_to_ecg", {}).get("mean_auc")
    if contrast is not None:
        found["contrast"] = float(contrast)
    return found


def selection_scores(results: dict) -> dict[str, float]:
    """Checkpoint -> selection score (mean of the figures shared by all runs); empty if none is shared."""
    runs = runs_of(results)
    per_run = [criteria(run) for run in runs]
    shared = [c for c in CRITERIA if per_run and all(c in found for found in per_run)]
    if not shared:
        return {}
    return {
        run["checkpoint"]: float(np.mean([found[c] for c in shared])) for run, found in zip(runs, per_run, strict=True)
    }


def best_checkpoint(results_path: str | Path) -> str | None:
    """The checkpoint (as written in the JSON's ``"checkpoint"`` field) with the highest selection score.

    Args:
        results_path: an evaluation JSON (``eval/results.json``).

    Returns:
        The winning checkpoint path, or ``None`` if the file is missing or holds no comparable figure.
    """
    path = Path(results_path)
    if not path.is_file():
        return None
    scores = selection_scores(json.loads(path.read_text()))
    # max() keeps the first of equal scores, i.e. file order breaks ties.
    return max(scores, key=scores.__getitem__) if scores else None
