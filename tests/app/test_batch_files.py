"""Batch zero-shot over uploaded files in the app: the /batch_zeroshot_files endpoint with a zip of real PTB-XL
records, a zip bomb refused with one short message, and the CSV files kept in Gradio's cache and replaced."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from gradio.utils import get_upload_folder
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from app.views.batch import write_csv
from tests.explorer.test_batch_uploads_service import RECORDS, ptbxl_zip

TABLE = {"headers": ["class", "prompts"], "data": [["NORM", "normal ECG"], ["MI", "myocardial infarction"]]}


def _frame(value: dict) -> pd.DataFrame:
    return pd.DataFrame(value["data"], columns=value["headers"])


def test_endpoint_scores_a_zip_with_auc_and_a_csv(client, shared_data, tmp_path):
    archive = ptbxl_zip(shared_data, tmp_path / "ptbxl4.zip")
    summary, auc, confusion, csv = client.predict(
        [handle_file(str(archive))], TABLE, "tiny-a", api_name="/batch_zeroshot_files"
    )
    assert "**4** uploaded records" in summary
    auc = _frame(auc)
    assert list(auc["class"]) == ["NORM", "MI"] and list(auc["positives"]) == [2, 2]
    assert all(0.0 <= float(a) <= 1.0 for a in auc["AUC"])
    assert _frame(confusion).iloc[:, 1:].to_numpy().sum() == 4
    frame = pd.read_csv(csv)
    assert sorted(frame["record_id"]) == sorted(RECORDS)


def test_a_zip_bomb_is_one_short_message(client, tmp_path, monkeypatch):
    # The live app runs in this process: a 1 MB unpacked limit lets a 5 MB bomb stand in for a real one.
    monkeypatch.setattr("core.explorer.batch_files.ZIP_MAX_BYTES", 2**20)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.csv", b"0" * 5_000_000)
    with pytest.raises(AppError) as err:
        client.predict([handle_file(str(bomb))], TABLE, "tiny-a", api_name="/batch_zeroshot_files")
    message = str(err.value)
    assert "bomb.zip: unpacks to 5,000,000 bytes, more than the 1,048,576 allowed" in message
    assert "/tmp" not in message and len(message) < 300


def test_csv_lives_in_gradio_cache_and_the_previous_one_is_removed(services, tmp_path):
    from app.views.batch import batch_zero_shot

    out = batch_zero_shot(services, TABLE, "tiny-a", "ptbxl")
    first = Path(write_csv(out))
    assert Path(get_upload_folder()).resolve() in first.resolve().parents
    assert len(pd.read_csv(io.StringIO(first.read_text()))) == out.n == 16
    second = Path(write_csv(out, previous=str(first)))
    assert second.is_file() and not first.exists()
    outside = tmp_path / "not-ours.csv"
    outside.write_text("keep me")
    Path(write_csv(out, previous=str(outside))).unlink()
    assert outside.read_text() == "keep me"  # a path outside the CSV folder is never deleted
    second.unlink()
