"""Annotate: label, comment and review the selected ECG; a review queue; filters; export / import; an API.

Wiring (the app shell)::

    with gr.Tab("Annotate", id="annotate"):
        annotate.build(ctx)              # ctx: app.views.common.Context (services, ecg_key, demo)

or, without the app's :class:`~app.state.Services` (other apps, tests)::

    sources = annotate.AnnotateSources(store=lambda: my_store, reference_labels=..., vocabulary=...)
    annotate.build_view(sources, record_key=my_textbox, demo=demo)

The view reads and writes the selected record through ``record_key`` (a ``gr.Textbox`` holding a record id): it
fills the form when the key changes, and "Open next in queue" writes the next record id into it (so every tab follows).

API (``gradio_client``): ``/annotate``, ``/undo_annotation``, ``/list_annotations``, ``/annotation_history``,
``/export_annotations`` — see :func:`api_functions`.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import gradio as gr
import pandas as pd

from app.views.common import user_errors
from core.annotations import AnnotationStore, filter_records
from core.annotations.export import export, import_file
from core.annotations.queue import QueueItem, next_in_queue, review_queue
from core.annotations.schema import STATUSES, RecordState, status_title
from core.annotations.store import default_path

logger = logging.getLogger(__name__)

ANY = "any"
HISTORY_COLUMNS = ["#", "time (UTC)", "reviewer", "change", "undone by"]
ANNOTATED_COLUMNS = ["record_id", "status", "labels", "note", "reviewer", "updated (UTC)"]
QUEUE_COLUMNS = ["rank", "record_id", "score", "reason", "status"]
STATUS_CHOICES = [(status_title(s), s) for s in STATUSES]
QUEUE_METHODS = {
    "disagreement with reference": "disagreement",
    "strongest single disagreement": "max_disagreement",
    "model uncertainty": "uncertainty",
}


@dataclass
class AnnotateSources:
    """Everything the view needs, as callables (so it renders before the data is ready and is easy to test).

    Attributes:
        store: returns the (shared, thread-safe) annotation store.
        reference_labels: record id -> the record's reference labels (from the dataset).
        vocabulary: the label vocabulary offered in the label picker (free labels may be typed too).
        queue_inputs: returns ``(record id -> {class: model probability}, record id -> reference labels)`` for the
            review queue; ``None`` when no model is available.
        record_ids: all records that can be annotated (for "unreviewed" filtering); ``None``: annotated ones only.
    """

    store: Callable[[], AnnotationStore]
    reference_labels: Callable[[str], Sequence[str]] = lambda record_id: ()
    vocabulary: Callable[[], Sequence[str]] = lambda: ()
    queue_inputs: Callable[[], tuple[dict, dict]] | None = None
    record_ids: Callable[[], Sequence[str]] | None = None
    _queue_cache: dict = field(default_factory=dict, repr=False)

    def queue(self, method: str) -> list[QueueItem]:
        """The review queue (model inputs computed once, then cached)."""
        if self.queue_inputs is None:
            raise LookupError("no model is available for the review queue: add a checkpoint")
        if "inputs" not in self._queue_cache:
            self._queue_cache["inputs"] = self.queue_inputs()
        probs, reference = self._queue_cache["inputs"]
        return review_queue(probs, reference, method=method)


def _time(ts: str) -> str:
    return ts[:19].replace("T", " ") if ts else ""


def _key(record_id: str | None) -> str:
    return (record_id or "").strip()


# ---- pure handlers (tested as plain functions) ---------------------------------------------------------------------
def summary_markdown(state: RecordState, reference: Sequence[str]) -> str:
    """The record's reference labels and current annotation, for the page."""
    ref = ", ".join(reference) or "—"
    if not state.n_events:
        return f"### {state.record_id}\n**Reference labels:** {ref}\n\n*Not annotated yet.*"
    labels = ", ".join(state.labels) or "—"
    return (
        f"### {state.record_id}\n**Reference labels:** {ref}\n\n**Annotated labels:** {labels} · "
        f"**status:** {status_title(state.status)} · last change by **{state.reviewer}** at "
        f"{_time(state.updated_at)} UTC ({state.n_events} change{'s' if state.n_events != 1 else ''})"
    )


def history_frame(store: AnnotationStore, record_id: str) -> pd.DataFrame:
    """The record's events, newest first."""
    undone = store.undone_ids()
    rows = [
        [e.event_id, _time(e.ts), e.reviewer, e.describe(), f"#{undone[e.event_id]}" if e.event_id in undone else ""]
        for e in reversed(store.history(record_id))
    ]
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def load_record(sources: AnnotateSources, record_id: str) -> tuple[list[str], str, str, str, pd.DataFrame]:
    """Form values for a record: (labels, status, note, summary markdown, history)."""
    record_id = _key(record_id)
    if not record_id:
        return (
            [],
            STATUSES[0],
            "",
            "*Select a record (Browse, Map, or the review queue) to annotate it.*",
            pd.DataFrame(columns=HISTORY_COLUMNS),
        )
    store = sources.store()
    state = store.get(record_id)
    reference = list(sources.reference_labels(record_id))
    return (
        list(state.labels),
        state.status,
        state.note,
        summary_markdown(state, reference),
        history_frame(store, record_id),
    )


def save_annotation(
    sources: AnnotateSources, record_id: str, reviewer: str, labels: Sequence[str] | None, status: str, note: str
) -> tuple[list[str], str, str, str, pd.DataFrame, str]:
    """Save the form: one event with every changed field. Returns the refreshed form and a message."""
    record_id = _key(record_id)
    event = sources.store().annotate(
        record_id, reviewer=reviewer, labels=list(labels or []), status=status, note=note or ""
    )
    message = f"Saved change #{event.event_id}: {event.changes()}" if event else "Nothing changed."
    return (*load_record(sources, record_id), message)


def undo_last(
    sources: AnnotateSources, record_id: str, reviewer: str
) -> tuple[list[str], str, str, str, pd.DataFrame, str]:
    """Undo the record's latest change (a new, compensating event)."""
    record_id = _key(record_id)
    event = sources.store().undo_last(record_id, reviewer=reviewer)
    return (
        *load_record(sources, record_id),
        f"Undid change #{event.reverts} (as change #{event.event_id}): {event.changes()}",
    )


def annotated_frame(sources: AnnotateSources, status: str | None = ANY, label: str | None = ANY) -> pd.DataFrame:
    """Records filtered by annotated status and label (``"any"`` = no filter), newest change first."""
    store = sources.store()
    status = None if status in (None, "", ANY) else status
    label = None if label in (None, "", ANY) else label
    universe = sources.record_ids() if (sources.record_ids and status == STATUSES[0]) else None
    ids = filter_records(store, status=status, label=label, record_ids=universe)
    states = store.states()
    chosen = [states.get(r) or RecordState(r) for r in ids]
    chosen.sort(key=lambda s: (s.updated_at, s.record_id), reverse=True)
    rows = [
        [s.record_id, status_title(s.status), ", ".join(s.labels), s.note[:120], s.reviewer, _time(s.updated_at)]
        for s in chosen
    ]
    return pd.DataFrame(rows, columns=ANNOTATED_COLUMNS)


def filter_choices(sources: AnnotateSources) -> tuple[list, list[str]]:
    """Choices of the status and label filters: statuses, and every label used in an annotation."""
    labels = sorted({lab for s in sources.store().states().values() for lab in s.labels})
    return [(ANY, ANY), *STATUS_CHOICES], [ANY, *labels]


def queue_frame(
    sources: AnnotateSources, method: str = "disagreement", skip_reviewed: bool = True, limit: int = 200
) -> pd.DataFrame:
    """The review queue as a table (reviewed records left out when ``skip_reviewed``)."""
    method = QUEUE_METHODS.get(method, method)
    states = sources.store().states()
    rows = []
    for item in sources.queue(method):
        status = states[item.record_id].status if item.record_id in states else STATUSES[0]
        if skip_reviewed and status != STATUSES[0]:
            continue
        rows.append([len(rows) + 1, item.record_id, round(item.score, 3), item.reason, status_title(status)])
        if len(rows) >= limit:
            break
    return pd.DataFrame(rows, columns=QUEUE_COLUMNS)


def next_record(
    sources: AnnotateSources, current: str, method: str = "disagreement", skip_reviewed: bool = True
) -> str:
    """The record after ``current`` in the queue (reviewed ones skipped when asked)."""
    method = QUEUE_METHODS.get(method, method)
    queue = sources.queue(method)
    skip = set()
    if skip_reviewed:
        skip = {r for r, s in sources.store().states().items() if s.status != STATUSES[0]}
    found = next_in_queue(queue, _key(current) or None, skip=skip)
    if found is None:
        raise LookupError("the review queue is empty: every queued record has been reviewed")
    return found


def export_annotations_file(sources: AnnotateSources, kind: str = "records", fmt: str = "csv") -> str:
    """Write an export into a fresh temporary folder; returns the file path (for a download)."""
    folder = Path(tempfile.mkdtemp(prefix="annotations-"))
    return str(export(sources.store(), folder / f"annotations-{kind}.{fmt}", kind=kind))


def import_annotations_file(sources: AnnotateSources, path: str | None, reviewer: str) -> str:
    """Import an uploaded records / events export; returns what it did."""
    if not path:
        raise ValueError("choose a .csv or .json file exported from this app first")
    return str(import_file(sources.store(), path, reviewer=reviewer or "import"))


# ---- API (gradio_client) -------------------------------------------------------------------------------------------
def api_functions(sources: AnnotateSources) -> dict[str, Callable]:
    """api_name -> typed function exposed through ``gr.api`` (bad input raises ``gr.Error`` with the reason)."""

    def annotate(
        record_id: str,
        reviewer: str,
        labels: list[str] | None = None,
        status: str | None = None,
        note: str | None = None,
        key: str | None = None,
    ) -> dict:
        """Set labels (the full list; [] clears), status and/or note of a record; None leaves a field unchanged.

        Args:
            record_id: e.g. "ptbxl/00001".
            reviewer: who makes the change.
            labels: the complete new label list, or None.
            status: unreviewed | confirmed | corrected | needs_second_opinion, or None.
            note: the new note, or None.
            key: optional idempotency key; a retried call with the same key writes nothing new.

        Returns:
            {"event": the event written (null when nothing changed), "state": the record's state}.
        """
        with user_errors():
            store = sources.store()
            event = store.annotate(record_id, reviewer=reviewer, labels=labels, status=status, note=note, key=key)
            return {"event": event.to_dict() if event else None, "state": store.get(record_id).to_dict()}

    def undo_annotation(record_id: str, reviewer: str, event_id: int | None = None) -> dict:
        """Undo one event (by id), or the record's latest change; the undo is itself a new event.

        Returns:
            {"event": the undo event, "state": the record's state}.
        """
        with user_errors():
            store = sources.store()
            if event_id is None:
                event = store.undo_last(record_id, reviewer=reviewer)
            else:
                event = store.undo(int(event_id), reviewer=reviewer)
                if event.record_id != record_id:
                    raise ValueError(f"event #{event_id} belongs to {event.record_id!r}, not {record_id!r}")
            return {"event": event.to_dict(), "state": store.get(event.record_id).to_dict()}

    def list_annotations(status: str | None = None, label: str | None = None) -> list[dict]:
        """Current annotations, filtered by status and/or label (None = any)."""
        with user_errors():
            store = sources.store()
            ids = filter_records(store, status=status or None, label=label or None)
            states = store.states()
            return [states[r].to_dict() for r in sorted(ids) if r in states]

    def annotation_history(record_id: str | None = None) -> list[dict]:
        """Events of one record (or all), oldest first."""
        with user_errors():
            return [e.to_dict() for e in sources.store().history(record_id or None)]

    def export_annotations(kind: str = "records", fmt: str = "json") -> str:
        """The records (current states) or the event log, as CSV or JSON text."""
        with user_errors():
            from core.annotations.export import dumps_events, dumps_records, event_rows, record_rows

            if fmt not in ("csv", "json"):
                raise ValueError(f"fmt must be csv or json, not {fmt!r}")
            store = sources.store()
            if kind == "records":
                return dumps_records(record_rows(store), fmt)
            if kind == "events":
                return dumps_events(event_rows(store), fmt)
            raise ValueError(f"kind must be records or events, not {kind!r}")

    return {
        "annotate": annotate,
        "undo_annotation": undo_annotation,
        "list_annotations": list_annotations,
        "annotation_history": annotation_history,
        "export_annotations": export_annotations,
    }


# ---- the view ------------------------------------------------------------------------------------------------------
def build_view(sources: AnnotateSources, record_key: gr.Textbox, demo: gr.Blocks | None = None) -> dict:
    """Create the Annotate components and events inside the current Blocks context.

    Args:
        sources: the store and the record data (:class:`AnnotateSources`).
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
            status = gr.Radio(STATUS_CHOICES, value=STATUSES[0], label="Status")
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
            history = gr.Dataframe(
                headers=HISTORY_COLUMNS, interactive=False, max_height=260, wrap=True, label="History (newest first)"
            )
    with gr.Accordion("Review queue: likeliest label errors first", open=True):
        with gr.Row():
            method = gr.Dropdown(list(QUEUE_METHODS), value=next(iter(QUEUE_METHODS)), label="Order by", scale=2)
            skip_reviewed = gr.Checkbox(True, label="skip reviewed records", scale=1)
            queue_btn = gr.Button("Refresh queue", scale=1)
            next_btn = gr.Button("Open next in queue ▶", variant="primary", scale=1)
        queue = gr.Dataframe(
            headers=QUEUE_COLUMNS, interactive=False, max_height=260, wrap=True, label="Queue (click a row to open it)"
        )
    with gr.Accordion("Annotated records", open=False):
        with gr.Row():
            status_filter = gr.Dropdown([(ANY, ANY), *STATUS_CHOICES], value=ANY, label="Status")
            label_filter = gr.Dropdown([ANY], value=ANY, label="Annotated label", allow_custom_value=True)
            list_btn = gr.Button("Refresh")
        annotated = gr.Dataframe(
            headers=ANNOTATED_COLUMNS,
            interactive=False,
            max_height=300,
            wrap=True,
            label="Annotations (click a row to open it)",
        )
    with gr.Accordion("Export / import", open=False):
        with gr.Row():
            export_kind = gr.Radio(
                ["records", "events"],
                value="records",
                label="What",
                info="records: one row per record; events: the full history",
            )
            export_fmt = gr.Radio(["csv", "json"], value="csv", label="Format")
            export_btn = gr.Button("Export")
        export_file = gr.File(label="Exported file", interactive=False)
        with gr.Row():
            import_upload = gr.File(label="Import a .csv / .json export", file_types=[".csv", ".json"], type="filepath")
            import_btn = gr.Button("Import")
        import_message = gr.Markdown()

    form = [labels, status, note, summary, history]

    def on_load_record(key: str):
        with user_errors():
            return (*load_record(sources, key), "")

    def on_save(key, who, labs, stat, text):
        with user_errors():
            return save_annotation(sources, key, who, labs, stat, text)

    def on_undo(key, who):
        with user_errors():
            return undo_last(sources, key, who)

    def on_vocabulary():
        with user_errors():
            return gr.Dropdown(choices=sorted(set(sources.vocabulary())))

    def on_reference(key: str):
        with user_errors():
            return list(sources.reference_labels(_key(key)))

    def on_queue(m, skip):
        with user_errors():
            return queue_frame(sources, m, skip)

    def on_next(key, m, skip):
        with user_errors():
            return next_record(sources, key, m, skip)

    def pick_column(column: int) -> Callable:
        def pick(evt: gr.SelectData):
            row = evt.row_value or []
            return str(row[column]) if len(row) > column and row[column] else gr.skip()

        return pick

    def on_annotated(stat, lab):
        with user_errors():
            return annotated_frame(sources, stat, lab)

    def on_filters():
        with user_errors():
            statuses, labs = filter_choices(sources)
            return gr.Dropdown(choices=labs), annotated_frame(sources)

    def on_export(kind, fmt):
        with user_errors():
            return export_annotations_file(sources, kind, fmt)

    def on_import(path, who):
        with user_errors():
            return import_annotations_file(sources, path, who)

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
    queue.select(
        pick_column(QUEUE_COLUMNS.index("record_id")),
        None,
        record_key,
        api_name="review_pick",
        api_visibility="private",
    )
    annotated.select(
        pick_column(ANNOTATED_COLUMNS.index("record_id")),
        None,
        record_key,
        api_name="annotated_pick",
        api_visibility="private",
    )
    list_btn.click(
        on_annotated, [status_filter, label_filter], annotated, api_name="annotated_table", api_visibility="private"
    )
    status_filter.change(
        on_annotated, [status_filter, label_filter], annotated, api_name="annotated_status", api_visibility="private"
    )
    label_filter.change(
        on_annotated, [status_filter, label_filter], annotated, api_name="annotated_label", api_visibility="private"
    )
    export_btn.click(
        on_export, [export_kind, export_fmt], export_file, api_name="annotate_export_file", api_visibility="private"
    )
    import_btn.click(
        on_import, [import_upload, reviewer], import_message, api_name="annotate_import_file", api_visibility="private"
    )
    for api_name, fn in api_functions(sources).items():
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


# ---- the app's adapter ---------------------------------------------------------------------------------------------
_store_lock = threading.Lock()
_stores: dict[str, AnnotationStore] = {}  # store file path -> the open store


def store_for(services) -> AnnotationStore:
    """The app's annotation store (one per :class:`~app.state.Services`, opened on first use, shared by all users).

    It lives in ``core.paths.data_dir() / "annotations" / "annotations.sqlite3"`` (``/data/...`` on Spaces) and
    accepts the indexed records only. Other tabs (e.g. Browse's status / label filters) use this same instance::

        keep = filter_records(store_for(services), status="corrected", label="MI", record_ids=ids)
    """
    with _store_lock:
        key = str(default_path())
        if key not in _stores:
            _stores[key] = AnnotationStore.open_default(
                known_record_ids=lambda record_id: record_id in services.explorer()
            )
        return _stores[key]


def sources_from_services(services, store: AnnotationStore | None = None) -> AnnotateSources:
    """:class:`AnnotateSources` over the app's :class:`~app.state.Services` (indexed records, index checkpoint).

    Args:
        services: the app services (``explorer()``, ``embedder()``).
        store: an existing store (tests); default :func:`store_for` ``(services)``.
    """

    def get_store() -> AnnotationStore:
        return store if store is not None else store_for(services)

    def reference_labels(record_id: str) -> list[str]:
        explorer = services.explorer()
        return explorer.record(record_id).label_list() if record_id in explorer else []

    def vocabulary() -> list[str]:
        labels = {lab for r in services.explorer().records for lab in r.label_list()}
        labels |= {lab for s in get_store().states().values() for lab in s.labels}
        return sorted(labels)

    def queue_inputs() -> tuple[dict, dict]:
        from core.annotations.modelscores import zero_shot_inputs

        explorer = services.explorer()
        embedder = services.embedder()
        return zero_shot_inputs(
            explorer.records, explorer.ecg_emb, embedder.encode_texts, logit_scale=embedder.logit_scale
        )

    def record_ids() -> list[str]:
        return [r.record_id for r in services.explorer().records]

    return AnnotateSources(
        store=get_store,
        reference_labels=reference_labels,
        vocabulary=vocabulary,
        queue_inputs=queue_inputs,
        record_ids=record_ids,
    )


def build(ctx, *, store: AnnotationStore | None = None) -> dict:
    """The Annotate tab inside the app: ``ctx`` is :class:`app.views.common.Context` (services, ecg_key, demo).

    Args:
        ctx: the app context; ``ctx.ecg_key`` is the selected record id.
        store: an existing store (tests); default: the one in the app's data directory.
    """
    return build_view(sources_from_services(ctx.services, store), ctx.ecg_key, ctx.demo)
