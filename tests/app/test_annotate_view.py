"""The Annotate view: handlers as plain functions, building inside gr.Blocks, and the API through gradio_client."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest

from app.auth import COOKIE, SignIn
from app.views import annotate
from app.views import annotate_forms as forms
from app.views.annotate_api import api_functions
from app.views.common import Context, user_errors
from core.annotations import AnnotationStore
from core.annotations.desk import AnnotationDesk, QueueUnavailableError
from core.annotations.identity import ADMIN, ANNOTATOR, ANONYMOUS, AccessPolicy, Identity, add_account
from core.ecg import ECG
from core.explorer import QueryService, RecordInfo, ServiceConfig

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
ANA, BO, DEE = (
    Identity("ana", ANNOTATOR, "account"),
    Identity("bo", ANNOTATOR, "account"),
    Identity("dee", ADMIN, "account"),
)


@pytest.fixture()
def desk(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite3", known_record_ids=set(IDS))
    yield AnnotationDesk(
        store=lambda: store,
        reference_labels=lambda r: REFERENCE.get(r, []),
        vocabulary=lambda: ["NORM", "MI", "STTC"],
        queue_inputs=lambda: (PROBS, REFERENCE),
        record_ids=lambda: IDS,
    )
    store.close()


def test_load_save_undo_handlers(desk):
    labels, status, note, summary, history = forms.load_record(desk, "ptbxl/00002")
    assert (labels, status, note, len(history)) == ([], "unreviewed", "", 0)
    assert "**Reference labels:** MI" in summary and "Not annotated yet" in summary

    out = forms.save_annotation(desk, "ptbxl/00002", ANA, ["NORM"], "corrected", 'looks normal, "no Q"')
    labels, status, note, summary, history, message = out
    assert (labels, status, note) == (["NORM"], "corrected", 'looks normal, "no Q"')
    assert message.startswith("Saved change #1") and "by **ana**" in summary
    assert list(history.columns) == forms.HISTORY_COLUMNS and history.iloc[0]["reviewer"] == "ana"

    again = forms.save_annotation(desk, "ptbxl/00002", ANA, ["NORM"], "corrected", 'looks normal, "no Q"')
    assert again[-1] == "Nothing changed."

    with pytest.raises(ValueError, match="no change made by bo left to undo"):  # an annotator undoes their own only
        forms.undo_last(desk, "ptbxl/00002", BO)
    labels, status, note, summary, history, message = forms.undo_last(desk, "ptbxl/00002", DEE)
    assert (labels, status, note) == ([], "unreviewed", "")
    assert message.startswith("Undid change #1")
    assert len(history) == 2 and history.iloc[1]["undone by"] == "#2"  # newest first: the undo, then the change


@pytest.mark.parametrize(
    ("record_id", "reviewer", "status", "note", "message"),
    [
        ("ptbxl/99999", ANA, "confirmed", "", "unknown record"),
        ("upload/abc123", ANA, "confirmed", "", "unknown record"),
        ("ptbxl/00001", ANONYMOUS, "confirmed", "", "sign in to save annotations"),
        ("ptbxl/00001", Identity("vic"), "confirmed", "", "vic has the viewer role"),
        ("ptbxl/00001", ANA, "finished", "", "unknown status"),
        ("ptbxl/00001", ANA, "confirmed", "x" * 10_001, "limit is 10,000"),
    ],
)
def test_save_rejects_bad_input_with_gr_error(desk, record_id, reviewer, status, note, message):
    with pytest.raises(gr.Error, match=message):
        with user_errors():
            forms.save_annotation(desk, record_id, reviewer, ["MI"], status, note)
    assert desk.store().count_events() == 0


def test_queue_next_and_filters(desk):
    q = forms.queue_frame(desk, "model disagrees with the reference")
    assert list(q["record_id"]) == ["ptbxl/00002", "ptbxl/00003", "ptbxl/00001"]
    assert "model: NORM 0.80 (not in reference)" in q.iloc[0]["reason"]
    assert forms.next_record(desk, "") == "ptbxl/00002"
    forms.save_annotation(desk, "ptbxl/00002", ANA, ["NORM"], "corrected", "")
    # records ana reviewed leave ana's queue, and "next" is the top of what is left
    assert list(forms.queue_frame(desk, who=ANA)["record_id"]) == ["ptbxl/00003", "ptbxl/00001"]
    assert forms.next_record(desk, "ptbxl/00002", who=ANA) == "ptbxl/00003"
    assert forms.next_record(desk, "ptbxl/00003", who=ANA) == "ptbxl/00001"  # the top, the current one excepted
    assert forms.next_record(desk, "ptbxl/00001", who=ANA) == "ptbxl/00003"  # the top again, not "after 00001"
    # bo has reviewed nothing: ana's review does not leave bo's queue (independent reviews)
    assert list(forms.queue_frame(desk, who=BO)["record_id"]) == ["ptbxl/00002", "ptbxl/00003", "ptbxl/00001"]
    # without skipping, Next walks the queue
    assert forms.next_record(desk, "ptbxl/00002", skip_reviewed=False, who=ANA) == "ptbxl/00003"
    assert len(forms.queue_frame(desk, "model uncertainty", skip_reviewed=False)) == 3
    # orders that need no model
    unreviewed = forms.queue_frame(desk, "unreviewed first (no model needed)", skip_reviewed=False)
    assert list(unreviewed["record_id"]) == ["ptbxl/00001", "ptbxl/00003", "ptbxl/00002"]
    assert list(unreviewed["reason"]) == ["not reviewed yet", "not reviewed yet", "reviewed by ana"]
    progress = forms.progress_frame(desk, BO)
    assert progress.values.tolist() == [["ana", 1, 2], ["bo", 0, 3]]

    forms.save_annotation(desk, "ptbxl/00001", BO, ["NORM", "free label"], "confirmed", "")
    assert set(forms.annotated_frame(desk)["record_id"]) == {"ptbxl/00001", "ptbxl/00002"}
    assert list(forms.annotated_frame(desk, "confirmed")["record_id"]) == ["ptbxl/00001"]
    assert list(forms.annotated_frame(desk, label="free label")["record_id"]) == ["ptbxl/00001"]
    assert list(forms.annotated_frame(desk, "unreviewed")["record_id"]) == ["ptbxl/00003"]  # never annotated
    statuses, labels = forms.filter_choices(desk)
    assert labels == ["any", "NORM", "free label"] and ("needs second opinion", "needs_second_opinion") in statuses


def test_export_import_handlers(desk, tmp_path):
    forms.save_annotation(desk, "ptbxl/00001", ANA, ["MI"], "corrected", 'ü, "q"\nline')
    path = forms.export_annotations_file(desk, "events", "json")
    assert json.loads(Path(path).read_text(encoding="utf-8"))["events"][0]["reviewer"] == "ana"
    other = AnnotationStore(tmp_path / "b.sqlite3")
    with pytest.raises(ValueError, match="to import annotations you need the admin role"):
        forms.import_annotations_file(AnnotationDesk(store=lambda: other), path, BO)
    assert other.count_events() == 0
    message = forms.import_annotations_file(AnnotationDesk(store=lambda: other), path, DEE)
    assert "1 event written" in message and other.get("ptbxl/00001").note == 'ü, "q"\nline'
    assert other.history()[0].reviewer == "ana"  # an admin's import keeps the file's reviewer
    other.close()
    with pytest.raises(ValueError, match="choose a .csv or .json file"):
        forms.import_annotations_file(desk, None, DEE)


def test_a_team_annotator_reviews_independently(desk):
    """Until ana saves her own review she sees neither bo's labels nor his note; her first save keeps his note."""
    forms.save_annotation(desk, "ptbxl/00001", BO, ["MI"], "corrected", "Q waves in III")
    labels, status, note, summary, history = forms.load_record(desk, "ptbxl/00001", ANA)
    assert (labels, status, note, len(history)) == ([], "unreviewed", "", 0)
    assert "1 other reviewer changed this record" in summary and "MI" not in summary.replace("Reference", "")
    out = forms.save_annotation(desk, "ptbxl/00001", ANA, ["NORM"], "confirmed", "")
    assert out[:3] == (["NORM"], "confirmed", "Q waves in III") and len(out[4]) == 2  # her review, all history
    assert desk.store().get("ptbxl/00001").note == "Q waves in III"
    # an admin (to adjudicate) and the single local user see the record as it is
    assert forms.load_record(desk, "ptbxl/00001", DEE)[0] == ["NORM"]
    assert "**Annotated labels:** NORM" in forms.load_record(desk, "ptbxl/00001", Identity("me", ADMIN, "local"))[3]


@pytest.fixture(scope="module")
def team(tmp_path_factory) -> SignIn:
    """Accounts sign-in over ana and bo (annotators) and dee (admin)."""
    path = tmp_path_factory.mktemp("accounts") / "accounts.json"
    for user, role in [("ana", "annotator"), ("bo", "annotator"), ("dee", "admin")]:
        add_account(path, user, f"{user}-password", role)
    return SignIn(AccessPolicy("accounts", accounts_file=path), secret="test secret")


def as_user(sign_in: SignIn, user: str | None) -> gr.Request:
    """A request as Gradio hands it to a handler: the client address and the cookies (the user's, if any)."""
    cookies = {COOKIE: sign_in.token_for(user)} if user else {}
    return gr.Request(client={"host": "127.0.0.1"}, cookies=cookies, headers={})


def test_api_functions_directly(desk, team):
    api = api_functions(desk, team)
    ana, bo = as_user(team, "ana"), as_user(team, "bo")
    out = api["annotate"]("ptbxl/00001", labels=["MI"], status="corrected", key="k1", request=ana)
    assert out["state"]["labels"] == ["MI"] and out["event"]["event_key"] == "k1" and out["event"]["reviewer"] == "ana"
    again = api["annotate"]("ptbxl/00001", labels=["MI"], status="corrected", key="k1", request=ana)
    assert again["event"]["event_id"] == 1
    assert [s["record_id"] for s in api["list_annotations"](status="corrected")] == ["ptbxl/00001"]
    with pytest.raises(gr.Error, match="change #1 was made by ana: only an admin"):
        api["undo_annotation"]("ptbxl/00001", 1, request=bo)
    undo = api["undo_annotation"]("ptbxl/00001", request=ana)
    assert undo["event"]["reverts"] == 1 and undo["state"]["status"] == "unreviewed"
    assert len(api["annotation_history"]("ptbxl/00001")) == 2
    assert api["export_annotations"]("events", "csv").startswith("event_id,event_key,record_id")
    with pytest.raises(gr.Error, match="unknown status"):
        api["annotate"]("ptbxl/00001", status="bogus", request=ana)
    with pytest.raises(gr.Error, match="belongs to 'ptbxl/00001'"):  # refused before anything is written
        api["undo_annotation"]("ptbxl/00002", 1, request=as_user(team, "dee"))
    with pytest.raises(gr.Error, match="kind must be one of records, events"):
        api["export_annotations"]("people", "csv")
    assert api["whoami"](request=ana) == {"user": "ana", "role": "annotator", "source": "account"}
    assert api["whoami"](request=as_user(team, None))["user"] is None
    assert desk.store().count_events() == 2


def test_agreement_and_adjudicate_api_functions(desk, team):
    api = api_functions(desk, team)
    for record_id, ana, bo in [("ptbxl/00001", ["MI"], ["MI"]), ("ptbxl/00002", ["MI"], ["NORM"])]:
        api["annotate"](record_id, labels=ana, status="corrected", request=as_user(team, "ana"))
        api["annotate"](record_id, labels=bo, status="corrected", request=as_user(team, "bo"))
    out = api["agreement"]()
    json.dumps(out)  # plain JSON
    by_label = {row["label"]: row for row in out["labels"]}
    assert set(by_label) == {"MI", "NORM"}
    assert by_label["MI"]["pairs"][0]["pair"] == ["ana", "bo"] and by_label["MI"]["pairs"][0]["n"] == 2
    # MI: ana 1, 1; bo 1, 0 -> Cohen po = pe = .5 -> 0; Fleiss Pbar = .5, Pe = .75^2 + .25^2 -> -1/3
    assert by_label["MI"]["pairs"][0]["kappa"] == pytest.approx(0.0)
    assert by_label["MI"]["fleiss"]["kappa"] == pytest.approx(-1 / 3) and by_label["MI"]["fleiss"]["n"] == 2
    assert [d["record_id"] for d in out["disagreements"]] == ["ptbxl/00002"]
    reviews = out["disagreements"][0]["event_ids"]
    n = desk.store().count_events()
    dee = as_user(team, "dee")
    # a link to another record's review is refused, nothing written
    other = desk.store().reviewer_states()[("ptbxl/00001", "ana")].event_id
    with pytest.raises(gr.Error, match="belongs to 'ptbxl/00001'"):
        api["adjudicate"]("ptbxl/00002", ["MI"], [reviews["ana"], other], request=dee)
    with pytest.raises(gr.Error, match="ana has the annotator role: to adjudicate you need the admin role"):
        api["adjudicate"]("ptbxl/00002", ["MI"], None, request=as_user(team, "ana"))
    assert desk.store().count_events() == n
    adj = api["adjudicate"]("ptbxl/00002", ["MI"], list(reviews.values()), request=dee)
    assert desk.store().count_events() == n + 1
    assert adj["event"]["action"] == "adjudicate" and adj["resolves"] == sorted(reviews.values())
    assert adj["state"]["labels"] == ["MI"] and adj["event"]["reviewer"] == "dee"
    assert api["agreement"]()["disagreements"] == []
    assert len(api["agreement"](include_resolved=True)["disagreements"]) == 1
    rows = json.loads(api["export_annotations"]("adjudicated", "json"))["adjudications"]
    assert [(r["record_id"], r["labels"], r["adjudicator"]) for r in rows] == [("ptbxl/00002", ["MI"], "dee")]
    assert "ptbxl/00002,bo," in api["export_annotations"]("reviewers", "csv")
    assert api["review_progress"]() == [
        {"reviewer": "ana", "done": 2, "remaining": 1},
        {"reviewer": "bo", "done": 2, "remaining": 1},
    ]


class _FakeExplorer:
    key = "fake-index"

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


class _FakeServices(QueryService):
    """The query service over a fake index and embedder (and, when given, a store of the test's own)."""

    def __init__(self, store: AnnotationStore | None = None):
        super().__init__(ServiceConfig())
        self._explorer = _FakeExplorer()
        if store is not None:
            self._store = store

    def explorer(self):
        return self._explorer

    def embedder(self, name=None):
        return _FakeEmbedder()


def test_build_inside_blocks_with_the_app_context(tmp_path):
    store = AnnotationStore(tmp_path / "a.sqlite3", known_record_ids=lambda r: r in IDS)
    services = _FakeServices(store)
    with gr.Blocks() as demo:
        key = gr.Textbox()
        parts = annotate.build(Context(services=services, ecg_key=key, demo=demo))
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
    # the service's desk: reference labels, vocabulary and the zero-shot queue from the (fake) index, one store
    desk = services.annotation_desk()
    assert desk is services.annotation_desk() and desk.store() is services.annotation_store() is store
    assert list(desk.reference_labels("ptbxl/00002")) == ["MI"]
    assert "NORM" in desk.vocabulary()
    q = forms.queue_frame(desk)
    assert sorted(q["record_id"]) == sorted(IDS) and isinstance(q, pd.DataFrame)
    store.close()


def test_queue_without_a_model_is_a_user_facing_error(desk):
    desk = AnnotationDesk(store=desk.store)  # no queue inputs: no model
    with pytest.raises(gr.Error, match="no model is available"):
        with user_errors():
            forms.queue_frame(desk)
    with pytest.raises(QueueUnavailableError):
        desk.next_record(None)


def test_the_services_store_lives_in_the_data_dir_and_accepts_indexed_records_and_uploads(data_dir):
    services = _FakeServices()
    store = services.annotation_store()
    try:
        assert store is services.annotation_store() is services.annotation_desk().store()  # one shared instance
        assert store.path == data_dir / "annotations" / "annotations.sqlite3"
        store.annotate("ptbxl/00001", reviewer="ana", status="confirmed")
        with pytest.raises(ValueError, match="unknown record"):
            store.annotate("upload/123abc", reviewer="ana", status="confirmed")
        assert store.count_events() == 1
        assert [r.record_id for r in services.find_records(review_status="confirmed")] == ["ptbxl/00001"]
        # an uploaded ECG is reviewed under its key while it is loaded
        signal = np.sin(np.linspace(0, 60, 5000, dtype=np.float32))[None].repeat(12, 0)
        upload = services.put_upload(ECG(signal_mv=signal, fs_hz=500.0, lead_mask=np.ones(12, bool)))
        out = forms.save_annotation(services.annotation_desk(), upload, ANA, ["upload label"], "corrected", "")
        assert out[0] == ["upload label"] and list(store.get(upload).labels) == ["upload label"]
    finally:
        store.close()


IMAGE_LABEL = "![x](http://127.0.0.1:9/p.png)"
HTML_TEXT = "<img src=x onerror=alert(1)>"


def _rendered(markdown_text: str) -> str:
    """The HTML a CommonMark renderer (with raw HTML allowed, as a browser Markdown view may) makes of it."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).render(markdown_text)


def test_user_text_is_inert_in_the_summary_messages_and_tables(desk):
    """Labels, notes and reviewer names come out escaped: no image is fetched, no tag or link is made."""
    out = forms.save_annotation(desk, "ptbxl/00001", ANA, [IMAGE_LABEL, HTML_TEXT], "corrected", HTML_TEXT)
    summary, message = out[3], out[5]
    desk.store().annotate("ptbxl/00002", reviewer=HTML_TEXT, labels=[IMAGE_LABEL])  # a name typed through the API
    summary2 = forms.load_record(desk, "ptbxl/00002")[3]
    for text in (summary, message, summary2):
        html = _rendered(text)
        assert "<img" not in html and "<a " not in html, html
        assert "&lt;img src=x onerror=alert(1)&gt;" in text  # shown, as text
    assert "!\\[x\\](http://127.0.0.1:9/p.png)" in summary and "!\\[x\\]" in summary2
    # tables are plain-text columns: the values are kept verbatim (Gradio shows them as text)
    frame = forms.annotated_frame(desk)
    assert HTML_TEXT in set(frame["reviewer"]) and IMAGE_LABEL in frame.iloc[-1]["labels"] + frame.iloc[0]["labels"]
    assert forms.TABLE_DATATYPE == "str"
    undo_message = forms.undo_last(desk, "ptbxl/00001", DEE)[5]
    assert "<img" not in _rendered(undo_message)


def test_the_summary_shows_the_report_as_text_and_cuts_a_long_one(desk, tmp_path):
    reports = {
        "ptbxl/00001": f"sinus rhythm. {IMAGE_LABEL} {HTML_TEXT}",
        "ptbxl/00002": "sinus   rhythm.\n" + "left bundle branch block. " * 40,
    }
    with_reports = AnnotationDesk(store=desk.store, reference_labels=desk.reference_labels, record_text=reports.get)
    summary = forms.load_record(with_reports, "ptbxl/00001")[3]
    assert summary.startswith("### ptbxl/00001\n**Report:** sinus rhythm.")
    html = _rendered(summary)
    assert "<img" not in html and "<a " not in html and "&lt;img src=x onerror=alert(1)&gt;" in summary
    long = forms.load_record(with_reports, "ptbxl/00002")[3]
    shown = long.split("**Report:** ")[1].split("\n")[0]
    assert shown.startswith("sinus rhythm. left bundle") and shown.endswith("…")
    assert len(shown) == forms.REPORT_CHARS and "**Reference labels:** MI" in long
    # A record without a report (an upload) has no report line.
    assert "Report" not in forms.load_record(desk, "ptbxl/00003")[3]


def test_tables_of_the_built_view_are_plain_text(desk):
    with gr.Blocks():
        key = gr.Textbox()
        parts = annotate.build_view(desk, key)
    for name in ("history", "queue", "annotated"):
        datatype = parts[name].datatype
        assert datatype == "str" or set(datatype) == {"str"}, (name, datatype)
