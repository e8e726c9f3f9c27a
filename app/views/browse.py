"""Browse: a searchable, filterable table of the indexed records; the selected ECG on ECG paper with its report."""

from __future__ import annotations

import logging

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from app.state import UPLOAD_PREFIX, Services
from app.views.annotate import STATUS_CHOICES, store_for
from app.views.common import Context, user_errors
from core.annotations import filter_records
from core.plotting import LAYOUTS, ecg_figure

logger = logging.getLogger(__name__)

TABLE_COLUMNS = ["record_id", "dataset", "labels", "report", "report (English)"]
ALL = "all"


def records_table(
    services: Services,
    query: str = "",
    dataset: str = ALL,
    label: str = ALL,
    review_status: str = ALL,
    annotated_label: str = ALL,
) -> pd.DataFrame:
    """Indexed records matching a free-text query (id, labels, original or English report) and the filters.

    ``review_status`` and ``annotated_label`` filter by the annotation store's current state (Annotate tab).
    """
    explorer = services.explorer()
    query = (query or "").strip().lower()
    keep = None
    if review_status not in (None, "", ALL) or annotated_label not in (None, "", ALL):
        keep = filter_records(
            store_for(services),
            status=None if review_status in (None, "", ALL) else review_status,
            label=None if annotated_label in (None, "", ALL) else annotated_label,
            record_ids=[r.record_id for r in explorer.records],
        )
    rows = []
    for r in explorer.records:
        if keep is not None and r.record_id not in keep:
            continue
        if dataset not in (None, "", ALL) and r.dataset != dataset:
            continue
        labels = r.label_list()
        if label not in (None, "", ALL) and label not in labels:
            continue
        label_text = ", ".join(labels)
        if query and not any(query in s.lower() for s in (r.record_id, label_text, r.text, r.text_en)):
            continue
        rows.append([r.record_id, r.dataset, label_text, r.text, r.text_en])
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def filter_choices(services: Services) -> tuple[list[str], list[str]]:
    """Dataset and label choices for the filters (labels by frequency)."""
    explorer = services.explorer()
    datasets = sorted({r.dataset for r in explorer.records})
    counts: dict[str, int] = {}
    for r in explorer.records:
        for lab in r.label_list():
            counts[lab] = counts.get(lab, 0) + 1
    labels = sorted(counts, key=lambda k: (-counts[k], k))
    return [ALL, *datasets], [ALL, *labels]


def ecg_plot(services: Services, key: str, layout: str = "clinical") -> go.Figure:
    """The 12-lead figure of an ECG key."""
    ecg = services.ecg(key)
    return ecg_figure(ecg.signal_mv, ecg.fs_hz, lead_mask=ecg.lead_mask, layout=layout,
                      title=f"{key} · {ecg.fs_hz:g} Hz · {ecg.duration_s:.1f} s", duration_s=min(10.0, ecg.duration_s))


def record_details(services: Services, key: str) -> str:
    """Markdown: report (original and English), labels, and the measured waveform features."""
    parts = []
    if not key.startswith(UPLOAD_PREFIX):
        info = services.explorer().record(key)
        parts.append(f"### {info.record_id} ({info.dataset}, {info.split} split)")
        parts.append(f"**Report:** {info.text or '—'}")
        if info.text_en and info.text_en != info.text:
            parts.append(f"**Report (English):** {info.text_en}")
        parts.append("**Labels:** " + (info.label_text() or "—"))
    else:
        ecg = services.ecg(key)
        parts.append(f"### {key} (uploaded)\nLeads present: {', '.join(ecg.present_leads)}")
    try:
        m = services.measurements(key)
        parts.append(f"**Measured:** {m.to_sentence()}")
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        # The plot and report are still useful without the measurements; say why they are missing.
        logger.warning("measurements of %s failed: %s", key, exc)
        parts.append(f"**Measured:** unavailable ({type(exc).__name__}: {exc})")
    return "\n\n".join(parts)


def show_ecg(services: Services, key: str, layout: str = "clinical") -> tuple[go.Figure, str]:
    """Figure and details of the ECG ``key``."""
    key = (key or "").strip()
    if not key:
        raise gr.Error("no ECG selected: pick one in Browse or upload a file")
    with user_errors():
        return ecg_plot(services, key, layout), record_details(services, key)


def build(ctx: Context) -> None:
    """Browse tab."""
    services = ctx.services
    with gr.Row():
        query = gr.Textbox(label="Search (id, label, report text)", placeholder="e.g. LBBB, Vorhofflimmern, ludb/12",
                           scale=3)
        dataset = gr.Dropdown([ALL], value=ALL, label="Dataset", scale=1, allow_custom_value=True)
        label = gr.Dropdown([ALL], value=ALL, label="Label", scale=1, allow_custom_value=True)
        review_status = gr.Dropdown([(ALL, ALL), *STATUS_CHOICES], value=ALL, label="Review status", scale=1)
        annotated_label = gr.Dropdown([ALL], value=ALL, label="Annotated label", scale=1, allow_custom_value=True)
    table = gr.Dataframe(headers=TABLE_COLUMNS, interactive=False, max_height=320, wrap=False,
                         label="Records (click a row to open it)", elem_id="browse-table")
    with gr.Row():
        layout = gr.Radio(list(LAYOUTS), value="clinical", label="Layout",
                          info="clinical 3×4 + lead II rhythm strip, or 12 stacked leads")
    with gr.Row():
        with gr.Column(scale=3):
            plot = gr.Plot(label="12-lead ECG (25 mm/s, 10 mm/mV)", elem_id="browse-plot")
        with gr.Column(scale=1):
            details = gr.Markdown(elem_id="browse-details")

    def refresh(q: str, ds: str, lab: str, st: str = ALL, alab: str = ALL) -> pd.DataFrame:
        with user_errors():
            return records_table(services, q, ds, lab, st, alab)

    def annotated_labels() -> gr.Dropdown:
        labels = sorted({lab for state in store_for(services).states().values() for lab in state.labels})
        return gr.Dropdown(choices=[ALL, *labels])

    def init() -> tuple:
        with user_errors():
            datasets, labels = filter_choices(services)
            return (gr.Dropdown(choices=datasets, value=ALL), gr.Dropdown(choices=labels, value=ALL),
                    records_table(services))

    def pick(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[0]) if row else gr.skip()

    def show(key: str, lay: str):
        if not (key or "").strip():
            return gr.skip(), gr.skip()
        return show_ecg(services, key, lay)

    filters = [query, dataset, label, review_status, annotated_label]
    query.submit(refresh, filters, table, api_name="records", show_progress="hidden")
    for i, component in enumerate((dataset, label, review_status, annotated_label)):
        component.change(refresh, filters, table, api_name=f"records_filter_{i}", api_visibility="private",
                         show_progress="hidden")
    annotated_label.focus(annotated_labels, None, annotated_label, api_name="annotated_labels",
                          api_visibility="private")
    table.select(pick, None, ctx.ecg_key, api_name="select_record", api_visibility="private")
    ctx.ecg_key.change(show, [ctx.ecg_key, layout], [plot, details], api_name="show_ecg_on_change",
                       api_visibility="private")
    layout.change(show, [ctx.ecg_key, layout], [plot, details], api_name="show_ecg_layout", api_visibility="private")
    show_btn = gr.Button("Show", visible=False)
    show_btn.click(lambda k, lay: show_ecg(services, k, lay), [ctx.ecg_key, layout], [plot, details],
                   api_name="show_ecg")
    # The table and filters fill once the page opens (the explorer call waits for the background build).
    ctx.demo.load(init, None, [dataset, label, table], api_name="browse_load", api_visibility="private")
