"""Batch zero-shot in the app: the view's helpers and the ``/batch_zeroshot`` endpoint, on real PTB-XL + LUDB data."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from app.formatting import batch_auc_frame, batch_confusion_frame
from app.views.batch import batch_zero_shot, write_csv
from app.views.zeroshot import prompts_frame

PROMPT_TABLE_COLUMNS = ["class", "prompts (separated by |)"]


@pytest.fixture(scope="module")
def table(services) -> dict:
    frame = prompts_frame(services, "ptbxl_superclass")
    return {"headers": PROMPT_TABLE_COLUMNS, "data": frame.values.tolist()}


def _n_ptbxl(services) -> int:
    return sum(r.dataset == "ptbxl" for r in services.explorer().records)


@pytest.mark.parametrize("checkpoint", ["tiny-a", "tiny-b"])  # the index checkpoint, and one that embeds signals
def test_batch_over_ptbxl(services, table, checkpoint):
    out = batch_zero_shot(services, table, checkpoint, "ptbxl")
    assert out.n == _n_ptbxl(services) == 16
    assert out.classes == ["NORM", "MI", "STTC", "CD", "HYP"]
    for c in out.classes:
        if out.auc[c] is not None:
            assert 0.0 <= out.auc[c] <= 1.0 and out.positives[c] > 0
    assert int(out.confusion.sum()) == out.n_confusion == int((out.reference.sum(axis=1) == 1).sum())
    frame = pd.read_csv(io.StringIO(out.csv))
    assert len(frame) == out.n and set(frame["record_id"]) == set(out.record_ids)
    with open(write_csv(out), encoding="utf-8") as f:
        assert len(pd.read_csv(f)) == out.n
    assert list(batch_auc_frame(out)["class"]) == out.classes
    assert batch_confusion_frame(out).iloc[:, 1:].to_numpy().sum() == out.n_confusion


def test_batch_all_leaves_other_vocabularies_out(services, table):
    out = batch_zero_shot(services, table, "tiny-a", "all")
    assert out.n == len(services.explorer()) == 22
    ptbxl = batch_zero_shot(services, table, "tiny-a", "ptbxl")
    assert out.n_evaluable == ptbxl.n_evaluable  # LUDB's phrases match no superclass
    assert out.positives == ptbxl.positives


def test_batch_endpoint_matches(client, services, table):
    got = client.predict(table, "tiny-a", "ptbxl", api_name="/batch_zeroshot")
    want = batch_zero_shot(services, table, "tiny-a", "ptbxl").to_dict()
    assert got["n"] == want["n"] == 16
    assert got["positives"] == want["positives"]
    assert got["auc"] == pytest.approx(want["auc"])
    assert got["confusion"] == want["confusion"]
    assert sum(map(sum, got["confusion"]["matrix"])) == got["confusion"]["n"]
    as_dict = client.predict(
        {"NORM": ["normal ECG"], "MI": "myocardial infarction"}, "tiny-a", "ptbxl", api_name="/batch_zeroshot"
    )
    assert as_dict["classes"] == ["NORM", "MI"] and as_dict["n"] == 16
