"""Batch zero-shot: score many indexed ECGs against one prompt table and compare with their reference labels.

Reference labels: a prompt class matches a record's label when the names are equal ignoring case and surrounding
space (``NORM`` matches the PTB-XL superclass label ``norm``), in any of the record's label sets.

* **AUC** (per class, scikit-learn's ``roc_auc_score`` on the class probabilities) is computed over the *evaluable*
  records: those carrying at least one of the table's classes among their labels. Records labelled in another
  vocabulary (e.g. LUDB's phrases) are left out rather than counted as negatives. A class without positives or
  without negatives among them has no AUC (None).
* **Confusion matrix** (scikit-learn's ``confusion_matrix``): rows are the reference class, columns the predicted
  class (the argmax of the scores), over the records whose labels match *exactly one* of the table's classes
  (reference single-label records); multi-label and unmatched records are not counted.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, roc_auc_score

from core import zeroshot
from core.explorer.store import RecordInfo


@dataclass(frozen=True)
class BatchZeroShot:
    """Zero-shot scores of a set of indexed ECGs and how they compare with the reference labels.

    Attributes:
        checkpoint: the checkpoint that scored them.
        dataset: the dataset scored (``"all"``: every indexed record).
        kind: ``"softmax"`` or ``"sigmoid"`` (what :attr:`probability` is).
        classes: the prompt table's class names, in table order (the columns of the arrays).
        record_ids: the scored records, in index order.
        similarity: (n, C) cosine similarities.
        probability: (n, C) probabilities of :attr:`kind`.
        predicted: the top class of each record (argmax; ties keep the table order).
        reference: (n, C) bool, the record carries the class among its labels (case-insensitive).
        auc: class -> ROC AUC over the evaluable records (None without positives or negatives).
        positives: class -> number of evaluable records carrying it.
        n_evaluable: records carrying at least one of the classes.
        confusion: (C, C) counts, rows = reference class, columns = predicted, over reference single-label records.
        n_confusion: records counted in :attr:`confusion`.
        csv: per-record scores as CSV text (one row per record).
        skipped: ``(name, reason)`` of uploaded records that could not be read (uploads only).
    """

    checkpoint: str
    dataset: str
    kind: str
    classes: list[str]
    record_ids: list[str]
    similarity: np.ndarray
    probability: np.ndarray
    predicted: list[str]
    reference: np.ndarray
    auc: dict[str, float | None]
    positives: dict[str, int]
    n_evaluable: int
    confusion: np.ndarray
    n_confusion: int
    csv: str
    skipped: tuple[tuple[str, str], ...] = ()

    @property
    def n(self) -> int:
        return len(self.record_ids)

    def to_dict(self) -> dict:
        """The summary as JSON-ready values (no per-record scores; those are in :attr:`csv`)."""
        return {
            "checkpoint": self.checkpoint,
            "dataset": self.dataset,
            "score_kind": self.kind,
            "n": self.n,
            "classes": list(self.classes),
            "auc": {c: (None if a is None else round(a, 5)) for c, a in self.auc.items()},
            "positives": dict(self.positives),
            "n_evaluable": self.n_evaluable,
            "confusion": {
                "rows": "reference",
                "columns": "predicted",
                "classes": list(self.classes),
                "matrix": self.confusion.astype(int).tolist(),
                "n": self.n_confusion,
            },
            "skipped": [{"record": n, "reason": r} for n, r in self.skipped],
        }


def reference_matrix(records: Sequence[RecordInfo], classes: Sequence[str]) -> np.ndarray:
    """(n, C) bool: record i carries class j among its labels (any label set, case-insensitive)."""
    wanted = [c.strip().lower() for c in classes]
    out = np.zeros((len(records), len(wanted)), bool)
    for i, r in enumerate(records):
        labels = {lab.strip().lower() for lab in r.label_list()}
        out[i] = [c in labels for c in wanted]
    return out


def score_batch(
    records: Sequence[RecordInfo],
    ecg_emb: np.ndarray,
    classes: Sequence[str],
    class_emb: np.ndarray,
    *,
    checkpoint: str,
    dataset: str,
    kind: str,
    logit_scale: float,
    logit_bias: float | None = None,
) -> BatchZeroShot:
    """Score (n, D) ECG embeddings of ``records`` against (C, D) class embeddings (see the module docstring)."""
    classes = list(classes)
    sim = np.asarray(zeroshot.scores(np.atleast_2d(ecg_emb), class_emb), np.float64).reshape(len(records), -1)
    prob = np.asarray(zeroshot.probabilities(sim, kind, logit_scale, logit_bias), np.float64)
    top = np.argmax(sim, axis=1) if len(records) else np.zeros(0, int)
    predicted = [classes[i] for i in top]
    ref = reference_matrix(records, classes)

    evaluable = ref.any(axis=1)
    auc: dict[str, float | None] = {}
    positives: dict[str, int] = {}
    for j, c in enumerate(classes):
        y = ref[evaluable, j]
        positives[c] = int(y.sum())
        auc[c] = float(roc_auc_score(y, prob[evaluable, j])) if 0 < y.sum() < len(y) else None

    single = ref.sum(axis=1) == 1
    labels = list(range(len(classes)))
    truth = np.argmax(ref[single], axis=1) if single.any() else np.zeros(0, int)
    confusion = (
        confusion_matrix(truth, top[single], labels=labels)
        if single.any()
        else np.zeros((len(classes), len(classes)), int)
    )

    frame = pd.DataFrame(
        {
            "record_id": [r.record_id for r in records],
            "dataset": [r.dataset for r in records],
            "reference labels": [", ".join(r.label_list()) for r in records],
            "predicted": predicted,
        }
    )
    for j, c in enumerate(classes):
        frame[f"p({c})"] = np.round(prob[:, j], 6)
    for j, c in enumerate(classes):
        frame[f"cos({c})"] = np.round(sim[:, j], 6)
    buf = io.StringIO()
    frame.to_csv(buf, index=False)

    return BatchZeroShot(
        checkpoint=checkpoint,
        dataset=dataset,
        kind=kind,
        classes=classes,
        record_ids=[r.record_id for r in records],
        similarity=sim,
        probability=prob,
        predicted=predicted,
        reference=ref,
        auc=auc,
        positives=positives,
        n_evaluable=int(evaluable.sum()),
        confusion=np.asarray(confusion, int),
        n_confusion=int(single.sum()),
        csv=buf.getvalue(),
    )
