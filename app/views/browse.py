"""Browse: the indexed records one page at a time (filtered and searched on the server). Clicking a row opens that
ECG: it becomes the current ECG, which the viewer above the tabs draws with its report, labels and measurements."""

from __future__ import annotations

import math

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from app.formatting import TABLE_COLUMNS, ecg_plot, page_summary, record_markdown, records_frame
from app.views.common import Context, require_key, user_errors
from core.annotations.schema import STATUSES, status_title
from core.explorer import ALL, PAGE_SIZE, BrowsePage, QueryService
from core.plotting import LAYOUTS

STATUS_CHOICES = [(status_title(s), s) for s in STATUSES]
PAGE_SIZES = [10, PAGE_SIZE, 50, 100]
CHOOSE_DATASET = "Choose a dataset to filter by its own labels (each dataset has its own vocabulary)."


def show_ecg(services: QueryService, key: str, layout: str = "clinical") -> tuple[go.Figure, str]:
    """Figure and details (report, labels, measurements) of the ECG ``key`` (the ``/show_ecg`` call)."""
    with user_errors():
        opened = services.open_record(require_key(key))
    return ecg_plot(opened, layout), record_markdown(opened)


def page_number(value) -> int:
    """A page number from the page box (blank, fractional or negative input becomes a valid page)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 1
    return max(1, int(number)) if math.isfinite(number) else 1


def browse_page(
    services: QueryService,
    query: str = "",
    dataset: str = ALL,
    label: str = ALL,
    review_status: str = ALL,
    annotated_label: str = ALL,
    page=1,
    page_size: int = PAGE_SIZE,
) -> BrowsePage:
    """One page of matching records (the service filters and pages; only this page leaves the server)."""
    with user_errors():
        return services.browse(
            query or "",
            dataset or ALL,
            label or ALL,
            review_status or ALL,
            annotated_label or ALL,
            page=page_number(page),
            page_size=page_size,
        )


def records_json(page: BrowsePage) -> dict:
    """A page as JSON: ``{"headers", "data", "page", "n_pages", "page_size", "total"}``."""
    frame = records_frame(page.records)
    return {
        "headers": list(frame.columns),
        "data": frame.values.tolist(),
        "page": page.page,
        "n_pages": page.n_pages,
        "page_size": page.page_size,
        "total": page.total,
    }


def label_dropdown(services: QueryService, dataset: str) -> gr.Dropdown:
    """The Label filter for a dataset: its own labels with their counts (all datasets: only when there is one)."""
    with user_errors():
        datasets = services.record_filters().datasets
        if (dataset or ALL) == ALL and len(datasets) > 1:
            return gr.Dropdown(choices=[ALL], value=ALL, info=CHOOSE_DATASET)
        labels = services.label_choices(dataset or ALL)
    choices = [(ALL, ALL), *((f"{lab} ({n})", lab) for lab, n in labels)]
    return gr.Dropdown(choices=choices, value=ALL, info=f"{len(labels)} labels of {dataset}")


def build(ctx: Context) -> None:
    """Browse tab."""
    services = ctx.services
    with gr.Row():
        query = gr.Textbox(
            label="Search (id, label, report text; press Enter)",
            placeholder="e.g. LBBB, Vorhofflimmern, sinus rhythm, ludb/12",
            scale=3,
            elem_id="browse-search",
        )
        dataset = gr.Dropdown([ALL], value=ALL, label="Dataset", scale=1, elem_id="browse-dataset")
        label = gr.Dropdown([ALL], value=ALL, label="Label", scale=2, elem_id="browse-label", info=CHOOSE_DATASET)
        review_status = gr.Dropdown([(ALL, ALL), *STATUS_CHOICES], value=ALL, label="Review status", scale=1)
        annotated_label = gr.Dropdown([ALL], value=ALL, label="Annotated label", scale=1, allow_custom_value=True)
    table = gr.Dataframe(
        headers=TABLE_COLUMNS,
        interactive=False,
        max_height=560,
        wrap=True,
        column_widths=["120px", "80px", "220px", "40%", "30%"],
        label="Records (click a row to open it)",
        elem_id="browse-table",
    )
    with gr.Row():
        prev_btn = gr.Button("◀ Previous", size="sm", scale=0, elem_id="browse-prev")
        page = gr.Number(1, label="Page", precision=0, minimum=1, scale=0, min_width=90, elem_id="browse-page")
        next_btn = gr.Button("Next ▶", size="sm", scale=0, elem_id="browse-next")
        page_size = gr.Dropdown(
            PAGE_SIZES, value=PAGE_SIZE, label="Rows per page", scale=0, min_width=140, elem_id="browse-page-size"
        )
        summary = gr.Markdown(elem_id="browse-summary")
    # The current ECG is drawn by the viewer above the tabs; these hidden outputs only serve the /show_ecg call.
    plot = gr.Plot(visible=False)
    details = gr.Markdown(visible=False)
    layout = gr.Radio(list(LAYOUTS), value="clinical", visible=False)

    def show_page(q, ds, lab, st, alab, pg, size=PAGE_SIZE) -> tuple[pd.DataFrame, str, int]:
        out = browse_page(services, q, ds, lab, st, alab, pg, page_number(size))
        return records_frame(out.records), page_summary(out), out.page

    def first_page(q, ds, lab, st, alab, size=PAGE_SIZE):
        return show_page(q, ds, lab, st, alab, 1, size)

    def step(delta: int):
        def go_to(q, ds, lab, st, alab, pg, size=PAGE_SIZE):
            return show_page(q, ds, lab, st, alab, page_number(pg) + delta, size)

        return go_to

    def choose_dataset(q, ds, st, alab, size=PAGE_SIZE):
        return label_dropdown(services, ds), *show_page(q, ds, ALL, st, alab, 1, size)

    def annotated_labels() -> gr.Dropdown:
        with user_errors():
            return gr.Dropdown(choices=[ALL, *services.annotated_labels()])

    def init():
        with user_errors():
            datasets = services.record_filters().datasets
        return (
            gr.Dropdown(choices=[ALL, *datasets], value=ALL),
            label_dropdown(services, ALL),
            *show_page("", ALL, ALL, ALL, ALL, 1),
        )

    def pick(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[0]) if row and str(row[0]).strip() else gr.skip()

    def records(
        query: str = "",
        dataset: str = ALL,
        label: str = ALL,
        review_status: str = ALL,
        annotated_label: str = ALL,
        page: int = 1,
        page_size: int = PAGE_SIZE,
    ) -> dict:
        """One page of the indexed records matching a text query (id, labels, reports) and the filters, as JSON:
        {"headers", "data", "page", "n_pages", "page_size", "total"}."""
        out = browse_page(services, query, dataset, label, review_status, annotated_label, page, page_size)
        return records_json(out)

    filters = [query, dataset, label, review_status, annotated_label, page_size]
    paged = [table, summary, page]
    hidden = dict(api_visibility="private", show_progress="hidden")
    # `.input` (a user's change), not `.change`: resetting the label when the dataset changes must not refresh twice.
    query.submit(first_page, filters, paged, api_name="browse_search", **hidden)
    unlabelled = [query, dataset, review_status, annotated_label, page_size]
    dataset.input(choose_dataset, unlabelled, [label, *paged], api_name="browse_dataset", **hidden)
    filter_names = ("label", "status", "annotated", "page_size")
    for name, component in zip(filter_names, (label, review_status, annotated_label, page_size), strict=True):
        component.input(first_page, filters, paged, api_name=f"browse_{name}", **hidden)
    at_page = [*filters[:5], page, page_size]
    page.submit(show_page, at_page, paged, api_name="browse_page", show_progress="hidden")
    prev_btn.click(step(-1), at_page, paged, api_name="browse_prev", **hidden)
    next_btn.click(step(+1), at_page, paged, api_name="browse_next", **hidden)
    gr.api(records, api_name="records", queue=False)
    annotated_label.focus(
        annotated_labels, None, annotated_label, api_name="annotated_labels", api_visibility="private"
    )
    table.select(pick, None, ctx.ecg_key, api_name="select_record", api_visibility="private")
    show_btn = gr.Button("Show", visible=False)
    show_btn.click(
        lambda k, lay: show_ecg(services, k, lay), [ctx.ecg_key, layout], [plot, details], api_name="show_ecg"
    )
    # The table and filters fill once the page opens (the explorer call waits for the background build).
    ctx.demo.load(init, None, [dataset, label, *paged], api_name="browse_load", api_visibility="private")
