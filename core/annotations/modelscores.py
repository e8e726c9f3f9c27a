"""Zero-shot model probabilities and reference labels per record: the inputs of :func:`review_queue`.

Per dataset, the prompt set is the one the evaluation uses (``assets/prompts``): ``<dataset>.json`` scores the
union of the dataset's label sets; otherwise ``<dataset>_superclass.json``, otherwise the first
``<dataset>_<label set>.json`` whose label set the records carry. Probabilities are the softmax over the prompt
set's classes of ``logit_scale * cosine(ECG embedding, class embedding)`` (:mod:`core.zeroshot`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from core.zeroshot import (
    PROMPTS_DIR,
    PromptSet,
    class_embeddings,
    list_prompt_sets,
    load_prompt_set,
    scores,
    softmax_probs,
)

logger = logging.getLogger(__name__)

TextEncoder = Callable[[list[str]], np.ndarray]


class LabelledRecord(Protocol):
    """What is needed of a record: its id, dataset and label sets (``core.explorer.RecordInfo`` fits)."""

    record_id: str
    dataset: str
    labels: dict[str, list[str]]


def prompt_set_for(
    dataset: str, label_sets: Sequence[str] = (), prompts_dir: Path = PROMPTS_DIR
) -> tuple[PromptSet, tuple[str, ...] | None] | None:
    """(prompt set, label sets whose union is the reference; ``None`` = all) for a dataset, or ``None``."""
    names = list_prompt_sets(prompts_dir)
    if dataset in names:
        return load_prompt_set(dataset, prompts_dir), None
    preferred = [f"{dataset}_superclass"] + [f"{dataset}_{s}" for s in label_sets]
    for name in preferred:
        if name in names and name[len(dataset) + 1 :] in label_sets:
            return load_prompt_set(name, prompts_dir), (name[len(dataset) + 1 :],)
    return None


def zero_shot_inputs(
    records: Sequence[LabelledRecord],
    ecg_emb: np.ndarray,
    encode_text: TextEncoder,
    *,
    logit_scale: float = 100.0,
    prompts_dir: Path = PROMPTS_DIR,
) -> tuple[dict[str, dict[str, float]], dict[str, list[str]]]:
    """Model probabilities and reference labels of each record whose dataset has a prompt set.

    Args:
        records: the records (row ``i`` of ``ecg_emb`` is ``records[i]``).
        ecg_emb: (N, D) ECG embeddings.
        encode_text: texts -> (n, D) embeddings (the same model's text tower).
        logit_scale: the model's temperature multiplier.
        prompts_dir: where the prompt sets are.

    Returns:
        ``(record id -> {class: probability}, record id -> reference labels)``.
    """
    ecg_emb = np.asarray(ecg_emb, np.float32)
    if len(records) != len(ecg_emb):
        raise ValueError(f"{len(records)} records but {len(ecg_emb)} embeddings")
    by_dataset: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        by_dataset.setdefault(r.dataset, []).append(i)
    probs: dict[str, dict[str, float]] = {}
    reference: dict[str, list[str]] = {}
    for dataset, rows in by_dataset.items():
        label_sets = sorted({s for i in rows for s in records[i].labels})
        found = prompt_set_for(dataset, label_sets, prompts_dir)
        if found is None:
            logger.info("review queue: no prompt set for dataset %r; its records are not queued", dataset)
            continue
        prompt_set, sets = found
        names, class_emb = class_embeddings(prompt_set.classes, encode_text)
        p = softmax_probs(scores(ecg_emb[rows], class_emb), logit_scale)
        for i, row in zip(rows, p, strict=True):
            rec = records[i]
            probs[rec.record_id] = {c: float(v) for c, v in zip(names, row, strict=True)}
            chosen = rec.labels if sets is None else {s: rec.labels.get(s, []) for s in sets}
            reference[rec.record_id] = sorted({lab for values in chosen.values() for lab in values})
    return probs, reference
