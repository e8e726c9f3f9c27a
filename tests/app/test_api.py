"""The app's endpoints over HTTP with gradio_client, on real demo data (PTB-XL + LUDB through the loopback mirror)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from app.formatting import status_markdown
from app.state import AppConfig, Services, discover_checkpoints
from app.views.upload import upload_ecg
from app.views.zeroshot import zero_shot
from core import zeroshot
from core.explorer import DemoSpec, build_explorer

PROMPTS = {
    "headers": ["class", "prompts"],
    "data": [
        ["LBBB", "left bundle branch block | complete left bundle branch block"],
        ["NORM", "normal ECG | sinus rhythm, normal ECG"],
        ["AFIB", "atrial fibrillation"],
        ["RBBB", "right bundle branch block"],
    ],
}
PROMPT_DICT = {
    "LBBB": ["left bundle branch block", "complete left bundle branch block"],
    "NORM": ["normal ECG", "sinus rhythm, normal ECG"],
    "AFIB": ["atrial fibrillation"],
    "RBBB": ["right bundle branch block"],
}


def _wfdb(record: Path) -> list:
    return [handle_file(str(record.with_suffix(".hea"))), handle_file(str(record.with_suffix(".dat")))]


def _frame(value: dict) -> pd.DataFrame:
    return pd.DataFrame(value["data"], columns=value["headers"])


def _arr(value) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array ``{"dtype": ..., "bdata": base64}``."""
    if isinstance(value, dict):
        import base64

        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value)


def _plot(value: dict) -> dict:
    assert value["type"] == "plotly"
    return json.loads(value["plot"])


def test_blocks_expose_every_action_by_api_name(live_app, client):
    api = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for name in (
        "/records",
        "/show_ecg",
        "/zeroshot",
        "/load_prompts",
        "/retrieve_reports",
        "/search_text",
        "/map",
        "/map_open",
        "/map_place",
        "/upload",
        "/explain",
    ):
        assert name in api, name


def test_records_search_and_show_ecg(client, services):
    table = _frame(client.predict("ludb", "all", "all", api_name="/records"))
    assert len(table) == 6 and set(table["dataset"]) == {"ludb"}
    table = _frame(client.predict("sinus rhythm", "all", "all", api_name="/records"))
    assert 5 <= len(table) < 22
    assert all("sinus rhythm" in (r["report (English)"] + r["report"]).lower() for _, r in table.iterrows())

    plot, details = client.predict("ptbxl/00001", "clinical", api_name="/show_ecg")
    fig = _plot(plot)
    assert fig["layout"]["yaxis"]["scaleanchor"] == "x"
    info = services.explorer().record("ptbxl/00001")
    assert info.text in details and "NORM" in details
    stacked = _plot(client.predict("ptbxl/00001", "stacked", api_name="/show_ecg")[0])
    assert len(stacked["layout"]["annotations"]) == 12


def test_zero_shot_scores_match_core_and_compare(client, services):
    plot, scores = client.predict("ptbxl/00002", PROMPTS, "tiny-a", "none", api_name="/zeroshot")
    frame = _frame(scores)
    embedder = services.embedder("tiny-a")
    names, class_emb = zeroshot.class_embeddings(PROMPT_DICT, embedder.encode_texts)
    expected = zeroshot.ranked(names, zeroshot.scores(services.explorer().ecg_embedding("ptbxl/00002"), class_emb))
    assert list(frame["class"]) == [n for n, _ in expected]
    np.testing.assert_allclose(frame["similarity"], [s for _, s in expected], atol=1e-4)
    assert abs(frame["probability"].sum() - 1) < 1e-3
    assert _plot(plot)["data"][0]["type"] == "bar"

    _, both = client.predict("ptbxl/00002", PROMPTS, "tiny-a", "tiny-b", api_name="/zeroshot")
    both = _frame(both)
    assert "similarity (tiny-b)" in both.columns
    assert not np.allclose(both["similarity"], both["similarity (tiny-b)"])  # two different models

    rhythm = _frame(client.predict("ptbxl_rhythm", api_name="/load_prompts"))
    assert "AFIB" in set(rhythm["class"]) and rhythm.shape[1] == 2


def test_retrieval_returns_indexed_reports_in_similarity_order(client, services):
    explorer = services.explorer()
    table, html = client.predict("ptbxl/00003", 5, api_name="/retrieve_reports")
    frame = _frame(table)
    ids = [r.replace(" (this ECG)", "") for r in frame["record_id"]]
    assert len(ids) == 5 and all(i in explorer for i in ids)
    sims = explorer.text_emb @ explorer.ecg_embedding("ptbxl/00003")
    assert ids == [explorer.records[i].record_id for i in np.argsort(-sims)[:5]]
    assert list(frame["similarity"]) == sorted(frame["similarity"], reverse=True)
    assert frame["report (English)"].iloc[0] == explorer.record(ids[0]).text_en
    assert html.count("<svg") == 5  # a thumbnail of every neighbour's ECG

    # By example (the default): the ECGs nearest the mean of those whose reports say "sinus rhythm".
    ecgs, reports, _ = client.predict("sinus rhythm", 3, api_name="/search_text")
    emb = explorer.ecg_emb / np.linalg.norm(explorer.ecg_emb, axis=1, keepdims=True)
    stating = [i for i, r in enumerate(explorer.records) if "sinus rhythm" in r.text_en.lower()]
    top_ecgs = [explorer.records[i].record_id for i in np.argsort(-(emb @ emb[stating].mean(axis=0)))[:3]]
    assert stating and list(_frame(ecgs)["record_id"]) == top_ecgs
    # By the text embedding (the checkbox off).
    by_text, _, _ = client.predict("sinus rhythm", 3, "all", "", "", False, api_name="/search_text")
    q = services.embedder().encode_texts(["sinus rhythm"])[0]
    top_ecgs = [explorer.records[i].record_id for i in np.argsort(-(explorer.ecg_emb @ q))[:3]]
    assert list(_frame(by_text)["record_id"]) == top_ecgs
    assert all(r in explorer for r in _frame(reports)["record_id"])


def test_map_colours_and_marks_the_current_ecg(client, services):
    fig = _plot(client.predict("dataset", "ludb/3", api_name="/map"))
    ids = {i for t in fig["data"] if t.get("customdata") for i in t["customdata"]}
    assert ids == {r.record_id for r in services.explorer().records}
    assert {t["name"].split(" (")[0] for t in fig["data"][:-1]} == {"ptbxl", "ludb"}
    star = fig["data"][-1]
    xy = services.explorer().map_xy[services.explorer().row("ludb/3")]
    assert star["marker"]["symbol"] == "star" and _arr(star["x"])[0] == pytest.approx(float(xy[0]), rel=1e-5)
    assert client.predict("ludb/3", api_name="/map_open") == "ludb/3"
    with pytest.raises(AppError, match="not in the index"):
        client.predict("ptbxl/99999", api_name="/map_open")


def test_upload_wfdb_csv_and_bad_files(client, services, shared_data, tmp_path):
    rec = shared_data / "ptb-xl/1.0.3/records500/00000/00286_hr"
    key, plot, info = client.predict(_wfdb(rec), None, "", api_name="/upload")
    assert key.startswith("upload/") and "500 Hz" in info and "12 of 12 leads" in info
    assert len(_plot(plot)["data"]) >= 1
    # The upload is usable everywhere: zero-shot, retrieval and the map (placed by its neighbours).
    frame = _frame(client.predict(key, PROMPTS, "tiny-a", "none", api_name="/zeroshot")[1])
    assert set(frame["class"]) == set(PROMPT_DICT)
    assert len(_frame(client.predict(key, 3, api_name="/retrieve_reports")[0])) == 3
    xy = client.predict(key, api_name="/map_place")
    assert len(xy) == 2 and np.isfinite(xy).all()

    # CSV with a subset of leads in another order, named in the header: masked leads are reported.
    t = np.arange(2500) / 250.0
    csv = tmp_path / "partial.csv"
    pd.DataFrame({"time": t, "V2": np.sin(t * 7), "II": np.cos(t * 6), "I": np.sin(t * 5)}).to_csv(csv, index=False)
    key2, _, info2 = client.predict([handle_file(str(csv))], None, "", api_name="/upload")
    assert key2.startswith("upload/") and "3 of 12 leads" in info2 and "V1" in info2

    bad = tmp_path / "broken.hea"
    shutil.copy(rec.with_suffix(".hea"), bad)  # a header without its .dat
    with pytest.raises(AppError) as err:
        client.predict([handle_file(str(bad))], None, "", api_name="/upload")
    assert "broken" in str(err.value)
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"not a numpy file at all")
    with pytest.raises(AppError, match="junk.npy"):
        client.predict([handle_file(str(junk))], 500, "", api_name="/upload")
    # ... and the server keeps serving.
    assert len(_frame(client.predict("ludb", "all", "all", api_name="/records"))) == 6


def test_explain_draws_saliency_over_the_plot(client):
    plot, text = client.predict("ptbxl/00004", "sinus rhythm", "tiny-a", 2.5, "stacked", api_name="/explain")
    fig = _plot(plot)
    assert any(s["type"] == "rect" for s in fig["layout"]["shapes"])
    assert "Score" in text and "s:" in text


def test_trained_checkpoint_scores_lbbb_record_as_lbbb(client, shared_data):
    """The default trained checkpoint (first of checkpoints/{mets,dbeta,fgclep}) gets a held-out LBBB right."""
    trained = discover_checkpoints()
    if not trained:
        pytest.skip("no trained checkpoint in checkpoints/{mets,dbeta,fgclep}/ yet")
    # ecg_id 180: CLBBB 100, sinus rhythm; strat_fold 10, i.e. held out from training.
    rec = shared_data / "ptb-xl/1.0.3/records500/00000/00180_hr"
    key, _, _ = client.predict(_wfdb(rec), None, "", api_name="/upload")
    name = next(iter(trained))
    frame = _frame(client.predict(key, PROMPTS, name, "none", api_name="/zeroshot")[1])
    assert frame["class"].iloc[0] == "LBBB", (name, frame.to_dict("records"))


def test_warm_cache_loads_without_network(services, app_env, monkeypatch, tmp_path):
    empty = tmp_path / "no-mirror"
    empty.mkdir()
    monkeypatch.setenv("ECG_DATA_MIRROR", str(empty))  # any download would now fail
    first = services.explorer()
    again = build_explorer(services.embedder(), services.config.spec)
    assert again.cache_dir == first.cache_dir and [r.record_id for r in again.records] == [
        r.record_id for r in first.records
    ]
    np.testing.assert_array_equal(again.ecg_emb, first.ecg_emb)


def test_without_data_the_app_explains_and_uploads_still_work(tiny_checkpoints, shared_data, monkeypatch, tmp_path):
    empty = tmp_path / "no-mirror"
    empty.mkdir()
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ECG_DATA_MIRROR", str(empty))
    svc = Services(
        AppConfig(
            checkpoints={"tiny-a": tiny_checkpoints["tiny-a"]}, spec=DemoSpec.parse("ptbxl:3,ludb:2", map_method="pca")
        )
    )
    svc.start()
    with pytest.raises(Exception, match="ECG_DATA_MIRROR"):
        svc.explorer(timeout_s=120).nearest_reports(np.ones(32), 3)
    status = status_markdown(svc.status())
    assert "No demo data" in status and "ECG_DATA_MIRROR" in status and "uploads still work" in status
    rec = shared_data / "ludb/1.0.1/data/1"
    key, _, _ = upload_ecg(svc, [str(rec.with_suffix(".hea")), str(rec.with_suffix(".dat"))])
    _, scores = zero_shot(svc, key, pd.DataFrame(PROMPTS["data"], columns=["class", "prompts"]), "tiny-a")
    assert set(scores["class"]) == set(PROMPT_DICT)
    assert not (Path(tmp_path / "data") / "explorer").exists()  # an empty build is not cached


def test_analyze_returns_scores_and_neighbours_in_one_call(client, services):
    out = client.predict("ptbxl/00005", PROMPT_DICT, 4, "tiny-b", api_name="/analyze")
    assert out["ecg"] == "ptbxl/00005" and out["checkpoint"] == "tiny-b"
    assert sorted(c for c, _, _ in out["scores"]) == sorted(PROMPT_DICT)
    sims = [s for _, s, _ in out["scores"]]
    assert sims == sorted(sims, reverse=True)
    explorer = services.explorer()
    nearest = np.argsort(-(explorer.text_emb @ explorer.ecg_embedding("ptbxl/00005")))[:4]
    assert [r[0] for r in out["reports"]] == [explorer.records[i].record_id for i in nearest]
    with pytest.raises(AppError, match="at least one class"):
        client.predict("ptbxl/00005", {}, 4, "", api_name="/analyze")


def test_build_index_cli_loads_the_same_cache(services, tiny_checkpoints, caplog):
    from core.__main__ import main

    caplog.set_level("INFO")
    code = main(
        ["build-index", "--checkpoint", str(tiny_checkpoints["tiny-a"]), "--records", "ptbxl:16,ludb:6", "--map", "pca"]
    )
    assert code == 0
    assert str(services.explorer().cache_dir) in caplog.text and "22 ECGs indexed" in caplog.text


def test_build_index_mirror_option_leaves_the_environment_alone(services, tiny_checkpoints, mirror_url, tmp_path):
    import os

    from core.__main__ import main

    before = dict(os.environ)
    checkpoint = str(tiny_checkpoints["tiny-a"])
    args = ["build-index", "--checkpoint", checkpoint, "--records", "ludb:3", "--map", "pca", "--mirror", mirror_url]
    assert main(args) == 0
    assert dict(os.environ) == before


def test_browse_filters_by_review_status_and_annotated_label(client, services):
    store = services.annotation_store()  # the one store: the Annotate tab writes through it, Browse filters by it
    store.annotate("ptbxl/00002", reviewer="filter-test", labels=["MI", "custom label"], status="corrected")
    table = _frame(client.predict("", "all", "all", "corrected", "all", api_name="/records"))
    assert list(table["record_id"]) == ["ptbxl/00002"]
    table = _frame(client.predict("", "all", "all", "all", "custom label", api_name="/records"))
    assert list(table["record_id"]) == ["ptbxl/00002"]
    unreviewed = _frame(client.predict("", "all", "all", "unreviewed", "all", api_name="/records"))
    assert "ptbxl/00002" not in set(unreviewed["record_id"]) and len(unreviewed) == len(services.explorer()) - 1


def test_zero_shot_sets_each_measured_finding_beside_the_ecgs_value(client, services):
    """A class naming a finding a measurement defines (LBBB, RBBB: QRS >= 120 ms and V1's R/S; AFIB: an irregular rhythm
    without P waves; NORM's "sinus rhythm": P waves before the QRS) shows the ECG's automated value beside its score;
    the others show nothing there."""
    frame = _frame(client.predict("ptbxl/00002", PROMPTS, "tiny-a", "none", api_name="/zeroshot")[1])
    measured = services.measurements("ptbxl/00002")
    qrs = measured.qrs_ms
    wide = f"QRS {qrs:.0f} ms (≥ 120 ms: {'met' if qrs >= 120 else 'not met'})"
    ratio = measured.v1_r_to_s
    left = f"{wide}; V1 R/S {ratio:.2f} (< 0.5: {'met' if ratio < 0.5 else 'not met'})"
    right = f"{wide}; V1 R/S {ratio:.2f} (≥ 0.5: {'met' if ratio >= 0.5 else 'not met'})"
    assert measured.irregular is False and measured.pr_ms is not None  # a regular sinus rhythm
    rhythm = "irregular rhythm without P waves: no (not met)"
    sinus = "P waves before the QRS: yes (met)"
    readings = dict(zip(frame["class"], frame["measured (automated)"], strict=True))
    assert readings == {"LBBB": left, "RBBB": right, "NORM": sinus, "AFIB": rhythm}
    # No class names one: no column.
    plain = {"headers": ["class", "prompts"], "data": [["NORM", "normal ECG"], ["CD", "conduction disturbance"]]}
    frame = _frame(client.predict("ptbxl/00002", plain, "tiny-a", "none", api_name="/zeroshot")[1])
    assert "measured (automated)" not in frame.columns
    # An infarction is found by its Q waves, which an ECG without them does not contradict.
    infarction = {"headers": ["class", "prompts"], "data": [["MI", "myocardial infarction"]]}
    frame = _frame(client.predict("ptbxl/00002", infarction, "tiny-a", "none", api_name="/zeroshot")[1])
    assert measured.q_wave_leads == ()
    said = "pathological Q waves in 2 contiguous leads: none (not met, which does not exclude it)"
    assert dict(zip(frame["class"], frame["measured (automated)"], strict=True)) == {"MI": said}
