"""Annotate: label, comment and review the selected ECG; a review queue; filters; export / import; an API.

Wiring (the app shell)::

    with gr.Tab("Annotate", id="annotate"):
        annotate.build(ctx)              # ctx: app.views.common.Context (services, ecg_key, demo)

or over any :class:`~core.annotations.desk.AnnotationDesk` (other apps, tests)::

    annotate.build_view(AnnotationDesk(store=lambda: my_store, ...), record_key=my_textbox, demo=demo)

The view reads and writes the selected record through ``record_key`` (a ``gr.Textbox`` holding a record id; in the
app, the page's current-ECG box, so the shared ECG viewer shows the record under review): it fills the form when the
key changes, and "Next" / "Previous" write into it (so every tab follows).

Who writes is the request's signed-in user (:class:`app.auth.SignIn`), resolved in each write handler on the
server; the page shows who that is and offers the sign-in. Keyboard shortcuts come from a small page script
(:mod:`app.views.annotate_keys`). Handlers are in :mod:`app.views.annotate_forms`, the API in
:mod:`app.views.annotate_api`; the rules in the desk and in :mod:`core.annotations.identity`.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from app.auth import SignIn, build_sign_in_bar
from app.views import annotate_forms as forms
from app.views.annotate_api import api_functions
from app.views.annotate_forms import (
    AGREEMENT_COLUMNS,
    ANNOTATED_COLUMNS,
    ANY,
    DISAGREEMENT_COLUMNS,
    HISTORY_COLUMNS,
    PROGRESS_COLUMNS,
    QUEUE_COLUMNS,
    QUEUE_METHODS,
    STATUS_CHOICES,
    TABLE_DATATYPE,
)
from app.views.annotate_keys import KEYS_HELP, KEYS_JS
from app.views.common import user_errors
from core.annotations.desk import UNREVIEWED, AnnotationDesk, QueueUnavailableError


def _guarded(fn: Callable) -> Callable:
    """``fn`` behind the app boundary (user-facing errors become ``gr.Error``)."""

    def call(*args):
        with user_errors():
            return fn(*args)

    return call


def _table(headers: list[str], label: str, name: str, *, max_height: int = 260) -> gr.Dataframe:
    """A read-only, wrapping table of the desk (history, queue, annotated records, ...), ``#annotate-<name>``."""
    return gr.Dataframe(
        headers=headers,
        datatype=TABLE_DATATYPE,
        interactive=False,
        max_height=max_height,
        wrap=True,
        label=label,
        elem_id=f"annotate-{name}",
    )


def build_view(
    desk: AnnotationDesk, record_key: gr.Textbox, demo: gr.Blocks | None = None, sign_in: SignIn | None = None
) -> dict:
    """Create the Annotate components and events inside the current Blocks context.

    Args:
        desk: the annotation desk (the store and the record data).
        record_key: the component holding the selected record id; read on change, written by Next / Previous.
        demo: the enclosing Blocks, to fill the filters and the sign-in line on page load (optional).
        sign_in: who requests are from (default: :meth:`SignIn` from the environment).

    Returns:
        The created components by name (for tests and for wiring other tabs).
    """
    sign_in = sign_in or SignIn()
    identity_line = build_sign_in_bar(sign_in, demo)
    with gr.Row():
        with gr.Column(scale=3):
            summary = gr.Markdown("*Select a record to annotate it.*", elem_id="annotate-summary")
            labels = gr.Dropdown(
                [],
                value=[],
                multiselect=True,
                allow_custom_value=True,
                label="Labels",
                info="pick from the dataset's vocabulary, or type a new label and press Enter",
                elem_id="annotate-labels",
            )
            with gr.Row():
                copy_ref = gr.Button("Use reference labels", size="sm")
                clear_labels = gr.Button("Clear labels", size="sm")
            status = gr.Radio(STATUS_CHOICES, value=UNREVIEWED, label="Status", elem_id="annotate-status")
            note = gr.Textbox(
                label="Note",
                lines=3,
                max_length=10_000,
                placeholder="free text (up to 10,000 characters)",
                elem_id="annotate-note",
            )
        with gr.Column(scale=2):
            with gr.Row():
                prev_btn = gr.Button("◀ Previous", elem_id="annotate-prev", scale=1)
                save_btn = gr.Button("Save", variant="primary", elem_id="annotate-save", scale=1)
                next_btn = gr.Button("Next in queue ▶", variant="primary", elem_id="annotate-next", scale=1)
            undo_btn = gr.Button("Undo last change (annotators: their own)", size="sm")
            message = gr.Markdown(elem_id="annotate-message")
            gr.Markdown(KEYS_HELP, elem_id="annotate-keys")
    history = _table(HISTORY_COLUMNS, "History of the record (newest first)", "history", max_height=220)
    visited = gr.State([])
    with gr.Accordion("Review queue", open=True):
        with gr.Row():
            method = gr.Dropdown(list(QUEUE_METHODS), value=next(iter(QUEUE_METHODS)), label="Order by", scale=2)
            skip_reviewed = gr.Checkbox(True, label="skip records I reviewed", scale=1)
            queue_btn = gr.Button("Refresh queue", scale=1)
        queue = _table(QUEUE_COLUMNS, "Queue: Next opens the top (click a row to open it)", "queue")
        progress = _table(PROGRESS_COLUMNS, "Progress per reviewer (done / remaining)", "progress", max_height=200)
    with gr.Accordion("Agreement between reviewers and adjudication", open=False):
        agreement_btn = gr.Button("Refresh agreement", size="sm")
        agreement = _table(
            AGREEMENT_COLUMNS, "Agreement per label (κ: 1 = perfect, 0 = chance)", "agreement", max_height=240
        )
        disagreements = _table(
            DISAGREEMENT_COLUMNS, "Open disagreements (click a row to open it)", "disagreements", max_height=240
        )
        with gr.Row():
            adjudicate_labels = gr.Dropdown(
                [],
                value=[],
                multiselect=True,
                allow_custom_value=True,
                label="Adjudicated labels for the current record (admins)",
                elem_id="adjudicate-labels",
                scale=3,
            )
            adjudicate_btn = gr.Button("Adjudicate", elem_id="adjudicate-btn", scale=1)
        adjudicate_message = gr.Markdown(elem_id="adjudicate-message")
    with gr.Accordion("Annotated records", open=False):
        with gr.Row():
            status_filter = gr.Dropdown([(ANY, ANY), *STATUS_CHOICES], value=ANY, label="Status")
            label_filter = gr.Dropdown([ANY], value=ANY, label="Annotated label", allow_custom_value=True)
            list_btn = gr.Button("Refresh")
        annotated = _table(ANNOTATED_COLUMNS, "Annotations (click a row to open it)", "annotated", max_height=300)
    with gr.Accordion("Export / import", open=False):
        with gr.Row():
            export_kind = gr.Radio(
                ["records", "events", "reviewers", "adjudicated", "labelstudio", "wfdb"],
                value="records",
                label="What",
                info="records: one row per record; events: the full history; reviewers: one row per record and "
                "reviewer; adjudicated: adjudicated labels; labelstudio: Label Studio tasks (JSON); wfdb: header "
                "comments and annotation files for PhysioNet tools (zip)",
            )
            export_fmt = gr.Radio(["csv", "json"], value="csv", label="Format")
            export_btn = gr.Button("Export")
        export_file = gr.File(label="Exported file", interactive=False)
        with gr.Row():
            import_upload = gr.File(
                label="Import a .csv / .json export (admins)", file_types=[".csv", ".json"], type="filepath"
            )
            import_btn = gr.Button("Import")
        import_message = gr.Markdown()

    form = [labels, status, note, summary, history]

    # Every write handler resolves the user from its own request (gr.Request / gr.OAuthProfile are filled in by
    # Gradio on the server); the page never sends a reviewer name.
    def on_save(key, labs, stat, text, m, skip, request: gr.Request, profile: gr.OAuthProfile | None):
        with user_errors():
            who = sign_in.identify(request, profile)
            saved = forms.save_annotation(desk, key, who, labs, stat, text)
            return (*saved, *_queue_and_progress(m, skip, who))

    def _queue_and_progress(m, skip, who) -> tuple:
        """The queue and the progress after a save or on page load. A queue this order cannot compute (no model)
        is left as it is: the save succeeded, and "Refresh queue" says why."""
        try:
            queue_table = forms.queue_frame(desk, m, skip, who)
        except QueueUnavailableError:
            queue_table = gr.skip()
        return queue_table, forms.progress_frame(desk, who)

    def on_page_load(m, skip, request: gr.Request, profile: gr.OAuthProfile | None):
        with user_errors():
            return _queue_and_progress(m, skip, sign_in.identify(request, profile))

    def on_undo(key, request: gr.Request, profile: gr.OAuthProfile | None):
        with user_errors():
            return forms.undo_last(desk, key, sign_in.identify(request, profile))

    def on_adjudicate(key, labs, request: gr.Request, profile: gr.OAuthProfile | None):
        with user_errors():
            who = sign_in.identify(request, profile)
            text = forms.adjudicate_record(desk, key, labs, who)
            return text, forms.agreement_frame(desk), forms.disagreement_frame(desk), *forms.load_record(desk, key, who)

    def on_import(path, request: gr.Request, profile: gr.OAuthProfile | None):
        with user_errors():
            return forms.import_annotations_file(desk, path, sign_in.identify(request, profile))

    def on_queue(m, skip, request: gr.Request, profile: gr.OAuthProfile | None):
        with user_errors():
            return _queue_and_progress(m, skip, sign_in.identify(request, profile))

    def on_next(key, m, skip, request: gr.Request, profile: gr.OAuthProfile | None):
        with user_errors():
            return forms.next_record(desk, key, m, skip, sign_in.identify(request, profile))

    def on_load_record(key, request: gr.Request, profile: gr.OAuthProfile | None):
        with user_errors():
            return (*forms.load_record(desk, key, sign_in.identify(request, profile)), "")

    def on_rights(request: gr.Request, profile: gr.OAuthProfile | None):
        """Write buttons enabled by the visitor's role (a convenience: each write checks the role again)."""
        who = sign_in.identify(request, profile)
        return [gr.Button(interactive=who.can(action)) for action in ("annotate", "undo", "adjudicate", "import")]

    def on_previous(seen):
        with user_errors():
            return forms.previous_record(seen or [])

    on_vocabulary = _guarded(lambda: [gr.Dropdown(choices=sorted(set(desk.vocabulary()))) for _ in range(2)])
    on_reference = _guarded(lambda key: list(desk.reference_labels((key or "").strip())))
    on_agreement = _guarded(lambda: (forms.agreement_frame(desk), forms.disagreement_frame(desk)))
    on_annotated = _guarded(lambda stat, lab: forms.annotated_frame(desk, stat, lab))
    on_filters = _guarded(lambda: (gr.Dropdown(choices=forms.filter_choices(desk)[1]), forms.annotated_frame(desk)))
    on_export = _guarded(lambda kind, fmt: forms.export_annotations_file(desk, kind, fmt))

    def pick_column(column: int) -> Callable:
        def pick(evt: gr.SelectData):
            row = evt.row_value or []
            return str(row[column]) if len(row) > column and row[column] else gr.skip()

        return pick

    # Annotation reads and writes take milliseconds: they get their own unlimited concurrency group, so they never
    # wait in the queue behind the ECG plots, maps and model calls that the same record change triggers in other tabs.
    fast = dict(concurrency_limit=None, api_visibility="private")
    record_key.change(
        on_load_record, record_key, [*form, message], api_name="annotate_load", show_progress="hidden", **fast
    )
    record_key.change(forms.visit, [visited, record_key], visited, api_name="annotate_visit", **fast)
    save_btn.click(
        on_save,
        [record_key, labels, status, note, method, skip_reviewed],
        [*form, message, queue, progress],
        api_name="annotate_save",
        **fast,
    )
    undo_btn.click(on_undo, [record_key], [*form, message], api_name="annotate_undo", **fast)
    copy_ref.click(on_reference, record_key, labels, api_name="annotate_reference", api_visibility="private")
    clear_labels.click(lambda: [], None, labels, api_name="annotate_clear", api_visibility="private")
    queue_btn.click(on_queue, [method, skip_reviewed], [queue, progress], api_name="review_queue")
    method.change(
        on_queue, [method, skip_reviewed], [queue, progress], api_name="review_queue_method", api_visibility="private"
    )
    next_btn.click(on_next, [record_key, method, skip_reviewed], record_key, api_name="review_next", **fast)
    prev_btn.click(on_previous, visited, [record_key, visited], api_name="review_previous", **fast)
    for tbl, cols, name in [
        (queue, QUEUE_COLUMNS, "review_pick"),
        (annotated, ANNOTATED_COLUMNS, "annotated_pick"),
        (disagreements, DISAGREEMENT_COLUMNS, "disagreement_pick"),
    ]:
        tbl.select(pick_column(cols.index("record_id")), None, record_key, api_name=name, api_visibility="private")
    agreement_btn.click(on_agreement, None, [agreement, disagreements], api_name="agreement_tables", **fast)
    adjudicate_btn.click(
        on_adjudicate,
        [record_key, adjudicate_labels],
        [adjudicate_message, agreement, disagreements, *form],
        api_name="annotate_adjudicate",
        **fast,
    )
    filters = [status_filter, label_filter]
    for event, name in [
        (list_btn.click, "annotated_table"),
        (status_filter.change, "annotated_status"),
        (label_filter.change, "annotated_label"),
    ]:
        event(on_annotated, filters, annotated, api_name=name, api_visibility="private")
    export_btn.click(
        on_export, [export_kind, export_fmt], export_file, api_name="annotate_export_file", api_visibility="private"
    )
    import_btn.click(
        on_import, [import_upload], import_message, api_name="annotate_import_file", api_visibility="private"
    )
    for api_name, fn in api_functions(desk, sign_in).items():
        gr.api(fn, api_name=api_name, concurrency_limit=None if api_name != "export_annotations" else "default")
    if demo is not None:
        demo.load(
            on_vocabulary, None, [labels, adjudicate_labels], api_name="annotate_vocabulary", api_visibility="private"
        )
        demo.load(on_filters, None, [label_filter, annotated], api_name="annotate_filters", api_visibility="private")
        demo.load(on_page_load, [method, skip_reviewed], [queue, progress], api_name="annotate_queue", **fast)
        demo.load(on_agreement, None, [agreement, disagreements], api_name="annotate_agreement_load", **fast)
        demo.load(on_rights, None, [save_btn, undo_btn, adjudicate_btn, import_btn], api_name="annotate_rights", **fast)
        demo.load(None, None, None, js=KEYS_JS)
    return {
        "identity": identity_line,
        "summary": summary,
        "labels": labels,
        "status": status,
        "note": note,
        "save": save_btn,
        "undo": undo_btn,
        "message": message,
        "history": history,
        "queue": queue,
        "progress": progress,
        "next": next_btn,
        "previous": prev_btn,
        "agreement": agreement,
        "disagreements": disagreements,
        "adjudicate_labels": adjudicate_labels,
        "adjudicate": adjudicate_btn,
        "annotated": annotated,
        "status_filter": status_filter,
        "label_filter": label_filter,
        "export_file": export_file,
    }


def build(ctx, sign_in: SignIn | None = None) -> dict:
    """The Annotate tab inside the app over the query service's desk (``ctx``: :class:`app.views.common.Context`)."""
    return build_view(ctx.services.annotation_desk(), ctx.ecg_key, ctx.demo, sign_in)
