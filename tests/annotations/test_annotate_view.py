"""The Annotate view: handlers as plain functions, building inside gr.Blocks, and the API through gradio_client."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest

from app.views import annotate
from app.views.annotate import AnnotateSources
from core.annotations import AnnotationStore
from core.explorer import RecordInfo

RECORDS = [
    RecordInfo("ptbxl/00001", "ptbxl", "Sinusrhythmus", "sinus rhythm", {"superclass": ["NORM"]}),
    RecordInfo("ptbxl/00002", "ptbxl", "Infarkt", "infarction", {"superclass": ["MI"]}),
    RecordInfo("ptbxl/00003", "ptbxl", "normal", "normal", {"superclass": ["NORM"]}),
]
IDS = [r.record_id for r in RECORDS]
PROBS = {
    "ptbxl/00001": {"NORM": 0.9, "MI": 0.1},
    "ptbxl/00002": {"NORM": 0.8, "MI": 0.2},
    "ptbxl/00003": {"NORM": 0.6, "MI": 0.4},
}
REFERENCE = {r.record_id: r.label_list() for r in RECORDS}


@pytest.fixture()
def sources(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite3", known_record_ids=set(IDS))
    yield AnnotateSources(
        store=lambda: store,
        reference_labels=lambda r: REFERENCE.get(r, []),
        vocabulary=lambda: ["NORM", "MI", "STTC"],
        queue_inputs=lambda: (PROBS, REFERENCE),
        record_ids=lambda: IDS,
    )
    store.close()


def test_load_save_undo_handlers(sources):
    labels, status, note, summary, history = annotate.load_record(sources, "ptbxl/00002")
    assert (labels, status, note, len(history)) == ([], "unreviewed", "", 0)
    assert "**Reference labels:** MI" in summary and "Not annotated yet" in summary

    out = annotate.save_annotation(sources, "ptbxl/00002", "ana", ["NORM"], "corrected", 'looks normal, "no Q"')
    labels, status, note, summary, history, message = out
    assert (labels, status, note) == (["NORM"], "corrected", 'looks normal, "no Q"')
    assert message.startswith("Saved change #1") and "by **ana**" in summary
    assert list(history.columns) == annotate.HISTORY_COLUMNS and history.iloc[0]["reviewer"] == "ana"

    again = annotate.save_annotation(sources, "ptbxl/00002", "ana", ["NORM"], "corrected", 'looks normal, "no Q"')
    assert again[-1] == "Nothing changed."

    labels, status, note, summary, history, message = annotate.undo_last(sources, "ptbxl/00002", "bo")
    assert (labels, status, note) == ([], "unreviewed", "")
    assert message.startswith("Undid change #1")
    assert len(history) == 2 and history.iloc[1]["undone by"] == "#2"  # newest first: the undo, then the change


@pytest.mark.parametrize(
    ("record_id", "reviewer", "status", "note", "message"),
    [
        ("ptbxl/99999", "ana", "confirmed", "", "unknown record"),
        ("upload/abc123", "ana", "confirmed", "", "unknown record"),
        ("ptbxl/00001", "", "confirmed", "", "reviewer name is empty"),
        ("ptbxl/00001", "ana", "finished", "", "unknown status"),
        ("ptbxl/00001", "ana", "confirmed", "x" * 10_001, "limit is 10,000"),
    ],
)
def test_save_rejects_bad_input_with_gr_error(sources, record_id, reviewer, status, note, message):
    with pytest.raises(gr.Error, match=message):
        with annotate.user_errors():
            annotate.save_annotation(sources, record_id, reviewer, ["MI"], status, note)
    assert sources.store().count_events() == 0


def test_queue_next_and_filters(sources):
    q = annotate.queue_frame(sources, "disagreement with reference")
    assert list(q["record_id"]) == ["ptbxl/00002", "ptbxl/00003", "ptbxl/00001"]
    assert "model: NORM 0.80 (not in reference)" in q.iloc[0]["reason"]
    assert annotate.next_record(sources, "") == "ptbxl/00002"
    annotate.save_annotation(sources, "ptbxl/00002", "ana", ["NORM"], "corrected", "")
    # reviewed records leave the queue, and "next" skips them
    assert list(annotate.queue_frame(sources)["record_id"]) == ["ptbxl/00003", "ptbxl/00001"]
    assert annotate.next_record(sources, "ptbxl/00002") == "ptbxl/00003"
    assert annotate.next_record(sources, "ptbxl/00003") == "ptbxl/00001"
    assert len(annotate.queue_frame(sources, "model uncertainty", skip_reviewed=False)) == 3

    annotate.save_annotation(sources, "ptbxl/00001", "bo", ["NORM", "free label"], "confirmed", "")
    assert set(annotate.annotated_frame(sources)["record_id"]) == {"ptbxl/00001", "ptbxl/00002"}
    assert list(annotate.annotated_frame(sources, "confirmed")["record_id"]) == ["ptbxl/00001"]
    assert list(annotate.annotated_frame(sources, label="free label")["record_id"]) == ["ptbxl/00001"]
    assert list(annotate.annotated_frame(sources, "unreviewed")["record_id"]) == ["ptbxl/00003"]  # never annotated
    statuses, labels = annotate.filter_choices(sources)
    assert labels == ["any", "NORM", "free label"] and ("needs second opinion", "needs_second_opinion") in statuses


def test_export_import_handlers(sources, tmp_path):
    annotate.save_annotation(sources, "ptbxl/00001", "ana", ["MI"], "corrected", 'ü, "q"\nline')
    path = annotate.export_annotations_file(sources, "events", "json")
    assert json.loads(Path(path).read_text(encoding="utf-8"))["events"][0]["reviewer"] == "ana"
    other = AnnotationStore(tmp_path / "b.sqlite3")
    message = annotate.import_annotations_file(AnnotateSources(store=lambda: other), path, "bo")
    assert "1 event written" in message and other.get("ptbxl/00001").note == 'ü, "q"\nline'
    other.close()
    with pytest.raises(ValueError, match="choose a .csv or .json file"):
        annotate.import_annotations_file(sources, None, "bo")


def test_api_functions_directly(sources):
    api = annotate.api_functions(sources)
    out = api["annotate"]("ptbxl/00001", "ana", labels=["MI"], status="corrected", key="k1")
    assert out["state"]["labels"] == ["MI"] and out["event"]["event_key"] == "k1"
    assert api["annotate"]("ptbxl/00001", "ana", labels=["MI"], status="corrected", key="k1")["event"]["event_id"] == 1
    assert [s["record_id"] for s in api["list_annotations"](status="corrected")] == ["ptbxl/00001"]
    undo = api["undo_annotation"]("ptbxl/00001", "bo")
    assert undo["event"]["reverts"] == 1 and undo["state"]["status"] == "unreviewed"
    assert len(api["annotation_history"]("ptbxl/00001")) == 2
    assert api["export_annotations"]("events", "csv").startswith("event_id,event_key,record_id")
    with pytest.raises(gr.Error, match="unknown status"):
        api["annotate"]("ptbxl/00001", "ana", status="bogus")


class _FakeExplorer:
    def __init__(self):
        self.records = RECORDS
        self.ecg_emb = np.eye(3, 8, dtype=np.float32)

    def __contains__(self, record_id):
        return record_id in IDS

    def record(self, record_id):
        return RECORDS[IDS.index(record_id)]


class _FakeEmbedder:
    logit_scale = 10.0

    @staticmethod
    def encode_texts(texts):
        seeds = [int(hashlib.sha1(t.encode()).hexdigest()[:8], 16) for t in texts]
        return np.stack([np.random.default_rng(s).standard_normal(8) for s in seeds]).astype(np.float32)


class _FakeServices:
    def __init__(self):
        self._explorer = _FakeExplorer()

    def explorer(self):
        return self._explorer

    def embedder(self, name=None):
        return _FakeEmbedder()


def test_build_inside_blocks_with_the_app_context(tmp_path):
    from app.views.common import Context

    store = AnnotationStore(tmp_path / "a.sqlite3", known_record_ids=lambda r: r in IDS)
    services = _FakeServices()
    with gr.Blocks() as demo:
        key = gr.Textbox()
        parts = annotate.build(Context(services=services, ecg_key=key, demo=demo), store=store)
    assert isinstance(parts["labels"], gr.Dropdown) and isinstance(parts["history"], gr.Dataframe)
    api_names = {d.api_name for d in demo.fns.values()}
    assert {
        "annotate",
        "undo_annotation",
        "list_annotations",
        "export_annotations",
        "review_queue",
        "review_next",
    } <= api_names
    # the app adapter: reference labels, vocabulary and the zero-shot queue from the (fake) services
    sources = annotate.sources_from_services(services, store)
    assert list(sources.reference_labels("ptbxl/00002")) == ["MI"]
    assert "NORM" in sources.vocabulary()
    q = annotate.queue_frame(sources)
    assert sorted(q["record_id"]) == sorted(IDS) and isinstance(q, pd.DataFrame)
    store.close()


def test_api_through_gradio_client(sources):
    from gradio_client import Client

    with gr.Blocks() as demo:
        key = gr.Textbox()
        annotate.build_view(sources, key, demo)
    demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        out = client.predict(
            "ptbxl/00003", "ana", ["STTC", "a, b"], "needs second opinion", 'n "1"', None, api_name="/annotate"
        )
        assert out["state"]["status"] == "needs_second_opinion" and out["state"]["labels"] == ["STTC", "a, b"]
        assert (
            client.predict(status="needs_second_opinion", label=None, api_name="/list_annotations")[0]["note"]
            == 'n "1"'
        )
        undo = client.predict("ptbxl/00003", "bo", None, api_name="/undo_annotation")
        assert undo["state"]["labels"] == []
        text = client.predict("records", "json", api_name="/export_annotations")
        assert json.loads(text)["records"][0]["record_id"] == "ptbxl/00003"
        with pytest.raises(Exception, match="unknown record"):
            client.predict("nope/1", "ana", None, "confirmed", None, None, api_name="/annotate")
        assert sources.store().count_events() == 2
    finally:
        demo.close()


def test_store_for_the_app_lives_in_the_data_dir_and_accepts_indexed_records(data_dir):
    services = _FakeServices()
    store = annotate.store_for(services)
    try:
        assert store is annotate.store_for(services)  # one shared instance
        assert store.path == data_dir / "annotations" / "annotations.sqlite3"
        store.annotate("ptbxl/00001", reviewer="ana", status="confirmed")
        with pytest.raises(ValueError, match="unknown record"):
            store.annotate("upload/123abc", reviewer="ana", status="confirmed")
        assert store.count_events() == 1
    finally:
        annotate._stores.pop(str(store.path)).close()
