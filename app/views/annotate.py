"""Annotate: label, comment and review the selected ECG; a review queue; filters; export / import; an API.

Wiring (the app shell)::

    with gr.Tab("Annotate", id="annotate"):
        annotate.build(ctx)              # ctx: app.views.common.Context (services, ecg_key, demo)

or over any :class:`~core.annotations.desk.AnnotationDesk` (other apps, tests)::

    annotate.build_view(AnnotationDesk(store=lambda: my_store, ...), record_key=my_textbox, demo=demo)

The view reads and writes the selected record through ``record_key`` (a ``gr.Textbox`` holding a record id): it
fills the form when the key changes, and "Open next in queue" writes the next record id into it (so every tab follows).
Handlers are in :mod:`app.views.annotate_forms`, the API in :mod:`app.views.annotate_api`; the rules in the desk.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from app.views import annotate_forms as forms
from app.views.annotate_api import api_functions
from app.views.annotate_forms import (
    ANNOTATED_COLUMNS,
    ANY,
    HISTORY_COLUMNS,
    QUEUE_COLUMNS,
    QUEUE_METHODS,
    STATUS_CHOICES,
    TABLE_DATATYPE,
)
from app.views.common import user_errors
from core.annotations.desk import UNREVIEWED, AnnotationDesk


def _guarded(fn: Callable) -> Callable:
    """``fn`` behind the app boundary (user-facing errors become ``gr.Error``)."""

    def call(*args):
        with user_errors():
            return fn(*args)

    return call


def _table(headers: list[str], label: str, *, max_height: int = 260) -> gr.Dataframe:
    """A read-only, wrapping table of the desk (history, queue, annotated records)."""
    return gr.Dataframe(
        headers=headers, datatype=TABLE_DATATYPE, interactive=False, max_height=max_height, wrap=True, label=label
    )


def build_view(desk: AnnotationDesk, record_key: gr.Textbox, demo: gr.Blocks | None = None) -> dict:
    """Create the Annotate components and events inside the current Blocks context.

    Args:
        desk: the annotation desk (the store and the record data).
        record_key: the component holding the selected record id; read on change, written by "next in queue".
        demo: the enclosing Blocks, to fill the filters on page load (optional).

    Returns:
        The created components by name (for tests and for wiring other tabs).
    """
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
            )
            with gr.Row():
                copy_ref = gr.Button("Use reference labels", size="sm")
                clear_labels = gr.Button("Clear labels", size="sm")
            status = gr.Radio(STATUS_CHOICES, value=UNREVIEWED, label="Status")
            note = gr.Textbox(
                label="Note", lines=4, max_length=10_000, placeholder="free text (up to 10,000 characters)"
            )
        with gr.Column(scale=2):
            reviewer = gr.Textbox(
                label="Reviewer name", placeholder="your name (required to save)", elem_id="annotate-reviewer"
            )
            with gr.Row():
                save_btn = gr.Button("Save", variant="primary")
                undo_btn = gr.Button("Undo last change")
            message = gr.Markdown(elem_id="annotate-message")
            history = _table(HISTORY_COLUMNS, "History (newest first)")
    with gr.Accordion("Review queue: likeliest label errors first", open=True):
        with gr.Row():
            method = gr.Dropdown(list(QUEUE_METHODS), value=next(iter(QUEUE_METHODS)), label="Order by", scale=2)
            skip_reviewed = gr.Checkbox(True, label="skip reviewed records", scale=1)
            queue_btn = gr.Button("Refresh queue", scale=1)
            next_btn = gr.Button("Open next in queue ▶", variant="primary", scale=1)
        queue = _table(QUEUE_COLUMNS, "Queue (click a row to open it)")
    with gr.Accordion("Annotated records", open=False):
        with gr.Row():
            status_filter = gr.Dropdown([(ANY, ANY), *STATUS_CHOICES], value=ANY, label="Status")
            label_filter = gr.Dropdown([ANY], value=ANY, label="Annotated label", allow_custom_value=True)
            list_btn = gr.Button("Refresh")
        annotated = _table(ANNOTATED_COLUMNS, "Annotations (click a row to open it)", max_height=300)
    with gr.Accordion("Export / import", open=False):
        with gr.Row():
            export_kind = gr.Radio(
                ["records", "events", "labelstudio", "wfdb"],
                value="records",
                label="What",
                info="records: one row per record; events: the full history; labelstudio: Label Studio tasks "
                "(JSON); wfdb: header comments and annotation files for PhysioNet tools (zip)",
            )
            export_fmt = gr.Radio(["csv", "json"], value="csv", label="Format")
            export_btn = gr.Button("Export")
        export_file = gr.File(label="Exported file", interactive=False)
        with gr.Row():
            import_upload = gr.File(label="Import a .csv / .json export", file_types=[".csv", ".json"], type="filepath")
            import_btn = gr.Button("Import")
        import_message = gr.Markdown()

    form = [labels, status, note, summary, history]
    on_load_record = _guarded(lambda key: (*forms.load_record(desk, key), ""))
    on_save = _guarded(lambda *form_values: forms.save_annotation(desk, *form_values))
    on_undo = _guarded(lambda key, who: forms.undo_last(desk, key, who))
    on_vocabulary = _guarded(lambda: gr.Dropdown(choices=sorted(set(desk.vocabulary()))))
    on_reference = _guarded(lambda key: list(desk.reference_labels((key or "").strip())))
    on_queue = _guarded(lambda m, skip: forms.queue_frame(desk, m, skip))
    on_next = _guarded(lambda key, m, skip: forms.next_record(desk, key, m, skip))
    on_annotated = _guarded(lambda stat, lab: forms.annotated_frame(desk, stat, lab))
    on_filters = _guarded(lambda: (gr.Dropdown(choices=forms.filter_choices(desk)[1]), forms.annotated_frame(desk)))
    on_export = _guarded(lambda kind, fmt: forms.export_annotations_file(desk, kind, fmt))
    on_import = _guarded(lambda path, who: forms.import_annotations_file(desk, path, who))

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
    save_btn.click(
        on_save, [record_key, reviewer, labels, status, note], [*form, message], api_name="annotate_save", **fast
    )
    undo_btn.click(on_undo, [record_key, reviewer], [*form, message], api_name="annotate_undo", **fast)
    copy_ref.click(on_reference, record_key, labels, api_name="annotate_reference", api_visibility="private")
    clear_labels.click(lambda: [], None, labels, api_name="annotate_clear", api_visibility="private")
    queue_btn.click(on_queue, [method, skip_reviewed], queue, api_name="review_queue")
    method.change(on_queue, [method, skip_reviewed], queue, api_name="review_queue_method", api_visibility="private")
    next_btn.click(on_next, [record_key, method, skip_reviewed], record_key, api_name="review_next")
    for tbl, cols, name in [(queue, QUEUE_COLUMNS, "review_pick"), (annotated, ANNOTATED_COLUMNS, "annotated_pick")]:
        tbl.select(pick_column(cols.index("record_id")), None, record_key, api_name=name, api_visibility="private")
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
        on_import, [import_upload, reviewer], import_message, api_name="annotate_import_file", api_visibility="private"
    )
    for api_name, fn in api_functions(desk).items():
        gr.api(fn, api_name=api_name, concurrency_limit=None if api_name != "export_annotations" else "default")
    if demo is not None:
        demo.load(on_vocabulary, None, labels, api_name="annotate_vocabulary", api_visibility="private")
        demo.load(on_filters, None, [label_filter, annotated], api_name="annotate_filters", api_visibility="private")
    return {
        "summary": summary,
        "labels": labels,
        "status": status,
        "note": note,
        "reviewer": reviewer,
        "save": save_btn,
        "undo": undo_btn,
        "message": message,
        "history": history,
        "queue": queue,
        "next": next_btn,
        "annotated": annotated,
        "status_filter": status_filter,
        "label_filter": label_filter,
        "export_file": export_file,
    }


def build(ctx) -> dict:
    """The Annotate tab inside the app over the query service's desk (``ctx``: :class:`app.views.common.Context`)."""
    return build_view(ctx.services.annotation_desk(), ctx.ecg_key, ctx.demo)
