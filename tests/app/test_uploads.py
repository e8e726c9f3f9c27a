"""The Upload tab's handler and endpoint: unit warnings, the window shown is the window scored, partial-lead
warnings, temporary files removed, and failures that are short, path-free and logged without a traceback."""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from app.views.upload import MAX_FILE_SIZE, upload_ecg
from core.data.readers import read_ecg
from core.leads import CANONICAL_LEADS

MITBIH = "wfdb_sample_data/100"
PTBXL = "ptb-xl/1.0.3/records500/00000/00001_hr"


def write_uv_csv(shared_data: Path, folder: Path) -> Path:
    """A real PTB-XL record written as CSV in microvolts, without a unit in the header."""
    ecg = read_ecg(shared_data / PTBXL)
    frame = pd.DataFrame({"time": np.arange(ecg.n_samples) / ecg.fs_hz})
    for name, row in zip(CANONICAL_LEADS, ecg.signal_mv, strict=True):
        frame[name] = np.round(row.astype(np.float64) * 1000.0, 2)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ptbxl_uv.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def gradio_tmp(tmp_path, monkeypatch) -> Path:
    """Gradio's upload folder, moved to tmp_path: files the handler may delete live here."""
    folder = tmp_path / "gradio"
    folder.mkdir()
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    return folder


def test_a_microvolt_csv_gets_a_visible_units_warning(services, shared_data, tmp_path):
    path = write_uv_csv(shared_data, tmp_path)
    key, _, info = upload_ecg(services, [str(path)])
    assert key.startswith("upload/") and key.endswith("@0")
    assert "⚠️" in info and "microvolts" in info and "Units = mV" in info
    assert np.abs(services.ecg(key).signal_mv).max() < 10  # read as µV: millivolts on screen and for the model
    assert upload_ecg(services, [str(path)], 0)[0] == key  # the page's empty rate field (0): the time column's rate
    key_uv, _, info_uv = upload_ecg(services, [str(path)], units="uV")
    assert "microvolts" not in info_uv
    np.testing.assert_allclose(services.ecg(key_uv).signal_mv, read_ecg(shared_data / PTBXL).signal_mv, atol=1e-3)


def test_a_csv_normalised_lead_by_lead_gets_a_visible_amplitude_warning(services, shared_data, tmp_path):
    """Each column min-max normalised (a common export step): the summary warns that the millivolts are not the
    recorded ones, the limb leads come back in proportion (III = II - I) and no voltage is measured."""
    ecg = read_ecg(shared_data / PTBXL)
    frame = pd.DataFrame({"time": np.arange(ecg.n_samples) / ecg.fs_hz})
    for name, row in zip(CANONICAL_LEADS, ecg.signal_mv.astype(np.float64), strict=True):
        frame[name] = np.round((row - row.min()) / np.ptp(row), 5)
    path = tmp_path / "normalised.csv"
    frame.to_csv(path, index=False)
    key, fig, info = upload_ecg(services, [str(path)])
    assert "⚠️ **Amplitudes not calibrated: the file stores every lead scaled to the same range" in info
    assert fig.layout.title.text.endswith("(uploaded) · amplitudes not calibrated (relative sizes only)")
    assert "No voltage is measured; the intervals, the rate and the frontal axis are." in info
    x = services.ecg(key).signal_mv.astype(np.float64)
    assert np.std(x[2] - (x[1] - x[0])) < 0.01 * np.std(x[2])


def test_mitbih_100_window_plotted_is_the_window_scored(services, shared_data):
    rec = shared_data / MITBIH
    files = [str(rec.with_suffix(".hea")), str(rec.with_suffix(".dat"))]
    key, fig, info = upload_ecg(services, files, start_s=600)
    assert key.endswith("@600") and "600-610 s" in fig.layout.title.text
    assert "180 windows" in info and "2 of 12 (II, V5)" in info and "less reliable" in info
    window = services.ecg(key)  # what zero-shot, measurements, the map and saliency read
    full = read_ecg(rec)
    present = np.asarray(full.lead_mask)
    np.testing.assert_array_equal(window.signal_mv[present], full.signal_mv[present, 216_000:219_600])
    embedder = services.embedder("tiny-a")
    np.testing.assert_allclose(services.embedding(key, "tiny-a"), embedder.encode_ecgs([window])[0], atol=1e-5)
    # Another window is another key; the first stays as it was.
    key2, _, _ = upload_ecg(services, files, start_s=0)
    assert key2 != key and key2.split("@")[0] == key.split("@")[0]
    assert not np.array_equal(services.ecg(key2).signal_mv, window.signal_mv)


def test_temporary_files_are_removed_and_another_window_needs_no_file(services, shared_data, gradio_tmp):
    rec = shared_data / MITBIH
    copies = []
    for suffix in (".hea", ".dat"):
        folder = gradio_tmp / f"hash{suffix[1:]}"
        folder.mkdir()
        copies.append(folder / f"100{suffix}")
        copies[-1].write_bytes(rec.with_suffix(suffix).read_bytes())
    key, _, _ = upload_ecg(services, [str(p) for p in copies], start_s=20)
    assert not any(p.exists() for p in copies) and not any(gradio_tmp.iterdir())
    key2, _, info = upload_ecg(services, [str(p) for p in copies], start_s=30)  # the form still holds the paths
    assert key2.endswith("@30") and "30-40 s" in info
    # A user's own file (outside Gradio's folder) is never deleted.
    assert rec.with_suffix(".hea").exists()


def test_a_failed_upload_is_short_path_free_logged_without_traceback_and_removed(
    services, shared_data, gradio_tmp, caplog
):
    folder = gradio_tmp / "abc123"
    folder.mkdir()
    bad = folder / "bad.hea"
    bad.write_text((shared_data / MITBIH).with_suffix(".hea").read_text().replace("100 2 360", "100 2 -1"))
    with caplog.at_level(logging.INFO), pytest.raises(gr.Error) as err:
        upload_ecg(services, [str(bad)])
    message = str(err.value.message)
    assert "bad.hea" in message and "-1" in message and "/" not in message and len(message) < 300
    refused = [r for r in caplog.records if "upload refused" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.INFO and refused[0].exc_info is None
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)
    assert not bad.exists()


def test_endpoint_warns_about_microvolts_and_partial_leads(client, shared_data, tmp_path):
    path = write_uv_csv(shared_data, tmp_path)
    key, _, info = client.predict([handle_file(str(path))], None, "", "auto", 0, api_name="/upload")
    assert key.startswith("upload/") and "microvolts" in info
    rec = shared_data / MITBIH
    files = [handle_file(str(rec.with_suffix(".hea"))), handle_file(str(rec.with_suffix(".dat")))]
    key, _, info = client.predict(files, None, "", "auto", 1200, api_name="/upload")
    assert key.endswith("@1200") and "180 windows" in info and "Partial leads" in info
    with pytest.raises(AppError, match="not in the list of choices"):
        client.predict([handle_file(str(path))], None, "", "mmHg", 0, api_name="/upload")


def test_the_upload_size_limit_is_set():
    from app.main import launch  # noqa: F401 - the module sets the limit from app.views.upload

    assert 10 * 2**20 <= MAX_FILE_SIZE <= 200 * 2**20
