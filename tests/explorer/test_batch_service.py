"""Batch zero-shot over the indexed PTB-XL records (real data, untrained tiny checkpoint) and its scoring rules."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from core.explorer import InvalidRequestError, RecordInfo
from core.explorer.batch import score_batch
from core.zeroshot import load_prompt_set


def test_batch_over_ptbxl(ptbxl_service):
    classes = load_prompt_set("ptbxl_superclass").classes
    out = ptbxl_service.batch_zero_shot(classes, None, "ptbxl")
    n_ptbxl = sum(r.dataset == "ptbxl" for r in ptbxl_service.explorer().records)
    assert out.n == n_ptbxl == 300
    assert out.classes == list(classes)
    assert out.probability.shape == (300, len(classes))
    for c in out.classes:
        if 0 < out.positives[c] < out.n_evaluable:
            assert 0.0 <= out.auc[c] <= 1.0
        else:
            assert out.auc[c] is None
    assert sum(out.positives.values()) >= out.n_evaluable > 0  # PTB-XL superclasses match the prompt classes
    single = int((out.reference.sum(axis=1) == 1).sum())
    assert out.confusion.shape == (len(classes), len(classes))
    assert int(out.confusion.sum()) == out.n_confusion == single > 0
    frame = pd.read_csv(io.StringIO(out.csv))
    assert len(frame) == 300 and list(frame["record_id"]) == out.record_ids
    # The stored embeddings give the same scores as the one-ECG call.
    one = ptbxl_service.zero_shot(out.record_ids[0], classes)
    probs = dict(zip(one.scores.names, one.scores.probability, strict=True))
    np.testing.assert_allclose([probs[c] for c in out.classes], out.probability[0], atol=1e-5)
    assert out.predicted[0] == one.scores.names[0]


def test_batch_unknown_dataset(ptbxl_service):
    with pytest.raises(InvalidRequestError, match="no indexed record"):
        ptbxl_service.batch_zero_shot({"NORM": ["normal ECG"]}, None, "nosuchset")


def test_score_batch_rules():
    records = [
        RecordInfo("a/1", "a", "", "", {"superclass": ["NORM"]}),
        RecordInfo("a/2", "a", "", "", {"superclass": ["mi", "STTC"]}),  # multi-label: AUC only
        RecordInfo("a/3", "a", "", "", {"superclass": ["MI"]}),
        RecordInfo("b/1", "b", "", "", {"phrases": ["sinus rhythm"]}),  # other vocabulary: left out
    ]
    class_emb = np.eye(3, dtype=np.float32)
    ecg_emb = np.array([[1, 0, 0], [0, 1, 0.5], [0.9, 0.1, 0], [0, 0, 1]], np.float32)
    out = score_batch(
        records,
        ecg_emb,
        ["NORM", "MI", "STTC"],
        class_emb,
        checkpoint="x",
        dataset="all",
        kind="softmax",
        logit_scale=10.0,
    )
    assert out.n == 4 and out.n_evaluable == 3
    assert out.positives == {"NORM": 1, "MI": 2, "STTC": 1}
    assert out.predicted == ["NORM", "MI", "NORM", "STTC"]
    assert out.n_confusion == 2
    assert out.confusion.tolist() == [[1, 0, 0], [1, 0, 0], [0, 0, 0]]  # a/3 (MI) was called NORM
    assert out.auc["NORM"] == pytest.approx(1.0) and out.auc["STTC"] == pytest.approx(1.0)
    assert out.to_dict()["confusion"]["matrix"] == out.confusion.tolist()
