"""Browse: a searchable, filterable table of the indexed records; the selected ECG on ECG paper with its report."""

from __future__ import annotations

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from app.formatting import TABLE_COLUMNS, ecg_plot, record_markdown, records_frame
from app.views.common import Context, require_key, user_errors
from core.annotations.schema import STATUSES, status_title
from core.explorer import ALL, OpenedRecord, QueryService
from core.plotting import LAYOUTS

STATUS_CHOICES = [(status_title(s), s) for s in STATUSES]


def _checked(opened: OpenedRecord, fiducials: bool) -> OpenedRecord:
    """Fiducials asked for: a failed measurement is an error, a measurement without beats a warning."""
    if fiducials and opened.measure_error:
        raise gr.Error(f"the fiducial points could not be measured ({opened.measure_error})")
    if fiducials and not getattr(opened.measurements, "beats", None):
        gr.Warning("No per-beat fiducial points were measured on this ECG.")
    return opened


def fiducial_plot(services: QueryService, key: str, layout: str = "clinical", fiducials: bool = False) -> go.Figure:
    """The figure of ``key``; with ``fiducials`` the measurement must succeed (else ``gr.Error``)."""
    with user_errors():
        opened = services.open_record(require_key(key), measure=fiducials)
    return ecg_plot(_checked(opened, fiducials), layout, fiducials)


def show_ecg(
    services: QueryService, key: str, layout: str = "clinical", fiducials: bool = False
) -> tuple[go.Figure, str]:
    """Figure and details (report, labels, measurements) of the ECG ``key``."""
    with user_errors():
        opened = services.open_record(require_key(key))
    return ecg_plot(_checked(opened, fiducials), layout, fiducials), record_markdown(opened)


def build(ctx: Context) -> None:
    """Browse tab."""
    services = ctx.services
    with gr.Row():
        query = gr.Textbox(
            label="Search (id, label, report text)", placeholder="e.g. LBBB, Vorhofflimmern, ludb/12", scale=3
        )
        dataset = gr.Dropdown([ALL], value=ALL, label="Dataset", scale=1, allow_custom_value=True)
        label = gr.Dropdown([ALL], value=ALL, label="Label", scale=1, allow_custom_value=True)
        review_status = gr.Dropdown([(ALL, ALL), *STATUS_CHOICES], value=ALL, label="Review status", scale=1)
        annotated_label = gr.Dropdown([ALL], value=ALL, label="Annotated label", scale=1, allow_custom_value=True)
    table = gr.Dataframe(
        headers=TABLE_COLUMNS,
        interactive=False,
        max_height=320,
        wrap=False,
        label="Records (click a row to open it)",
        elem_id="browse-table",
    )
    with gr.Row():
        layout = gr.Radio(
            list(LAYOUTS),
            value="clinical",
            label="Layout",
            info="clinical 3×4 + lead II rhythm strip, or 12 stacked leads",
        )
        show_fiducials = gr.Checkbox(
            False,
            label="Show measured fiducial points",
            elem_id="browse-fiducials",
            info="P onset/offset, QRS onset/offset and T offset of each beat (automated)",
        )
    with gr.Row():
        with gr.Column(scale=3):
            plot = gr.Plot(label="12-lead ECG (25 mm/s, 10 mm/mV)", elem_id="browse-plot")
        with gr.Column(scale=1):
            details = gr.Markdown(elem_id="browse-details")

    def refresh(q: str, ds: str, lab: str, st: str = ALL, alab: str = ALL) -> pd.DataFrame:
        with user_errors():
            return records_frame(services.find_records(q, ds, lab, st, alab))

    def annotated_labels() -> gr.Dropdown:
        with user_errors():
            return gr.Dropdown(choices=[ALL, *services.annotated_labels()])

    def init() -> tuple:
        with user_errors():
            choices = services.record_filters()
            return (
                gr.Dropdown(choices=[ALL, *choices.datasets], value=ALL),
                gr.Dropdown(choices=[ALL, *choices.labels], value=ALL),
                records_frame(services.find_records()),
            )

    def pick(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[0]) if row else gr.skip()

    def show(key: str, lay: str, fid: bool = False):
        return show_ecg(services, key, lay, fid) if (key or "").strip() else (gr.skip(), gr.skip())

    def redraw(key: str, lay: str, fid: bool):
        return fiducial_plot(services, key, lay, fid) if (key or "").strip() else gr.skip()

    filters = [query, dataset, label, review_status, annotated_label]
    query.submit(refresh, filters, table, api_name="records", show_progress="hidden")
    for i, component in enumerate((dataset, label, review_status, annotated_label)):
        component.change(
            refresh, filters, table, api_name=f"records_filter_{i}", api_visibility="private", show_progress="hidden"
        )
    annotated_label.focus(
        annotated_labels, None, annotated_label, api_name="annotated_labels", api_visibility="private"
    )
    table.select(pick, None, ctx.ecg_key, api_name="select_record", api_visibility="private")
    shown = [ctx.ecg_key, layout, show_fiducials]
    ctx.ecg_key.change(show, shown, [plot, details], api_name="show_ecg_on_change", api_visibility="private")
    layout.change(redraw, shown, plot, api_name="show_ecg_layout", api_visibility="private")
    show_fiducials.change(redraw, shown, plot, api_name="show_ecg_fiducials", api_visibility="private")
    show_btn = gr.Button("Show", visible=False)
    show_btn.click(
        lambda k, lay: show_ecg(services, k, lay), [ctx.ecg_key, layout], [plot, details], api_name="show_ecg"
    )
    # The table and filters fill once the page opens (the explorer call waits for the background build).
    ctx.demo.load(init, None, [dataset, label, table], api_name="browse_load", api_visibility="private")
