"""Browse: a searchable, filterable table of the indexed records; the selected ECG on ECG paper with its report."""

from __future__ import annotations

import html
import logging
import math
import re
from collections.abc import Sequence
from typing import Any

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
MEASUREMENTS_HEADING = "Automated measurements (unconfirmed)"
MEASUREMENTS_NOTE = (
    "Measured by a machine from the signal and not confirmed by a reader: check them on the tracing "
    '(tick "Show measured fiducial points") before relying on them.'
)
# (attribute, label, unit as appended to the value, format) of the numeric values shown, in the order a 12-lead ECG
# report lists them. Attributes a Measurements object lacks (an older measurement version) are left out, not shown
# as missing.
MEASUREMENT_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("hr_bpm", "Heart rate", " bpm", "{:.0f}"),
    ("pr_ms", "PR interval", " ms", "{:.0f}"),
    ("qrs_ms", "QRS duration", " ms", "{:.0f}"),
    ("qt_ms", "QT interval", " ms", "{:.0f}"),
    ("qtc_ms", "QTc (Bazett)", " ms", "{:.0f}"),
    ("qtc_fridericia_ms", "QTc (Fridericia)", " ms", "{:.0f}"),
    ("jt_ms", "JT interval", " ms", "{:.0f}"),
    ("axis_deg", "Frontal QRS axis", "°", "{:+.0f}"),
    ("rr_irregularity", "RR variation (SD/mean)", "", "{:.2f}"),
    ("rmssd_ms", "RMSSD", " ms", "{:.0f}"),
    ("sokolow_lyon_mv", "Sokolow-Lyon index", " mV", "{:.2f}"),
    ("limb_qrs_amplitude_mv", "Largest limb-lead QRS amplitude", " mV", "{:.2f}"),
    ("precordial_qrs_amplitude_mv", "Largest precordial QRS amplitude", " mV", "{:.2f}"),
)
# Values computed from others: their confidence is the lowest of their sources', and a missing one gives its
# source's reason when it has none of its own.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "qtc_ms": ("qt_ms", "hr_bpm"),
    "qtc_fridericia_ms": ("qt_ms", "hr_bpm"),
    "jt_ms": ("qt_ms", "qrs_ms"),
}
# Yes/no findings: (attribute, label, text when True, text when False).
MEASUREMENT_FLAGS: tuple[tuple[str, str, str, str], ...] = (
    ("irregular", "Rhythm", "irregular", "regular"),
    ("low_voltage", "Low QRS voltage", "yes", "no"),
)
# Characters Gradio's Markdown would read as markup inside a line (emphasis, links, tables, code, strike, LaTeX).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")


def escape_markdown(text: Any) -> str:
    """Dataset or user text made inert for a Markdown component: one line, markup characters backslash-escaped and
    ``& < >`` turned into HTML entities (after the backslashes, so the entities themselves stay intact)."""
    one_line = " ".join(str(text).split())
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", one_line), quote=False)


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


def ecg_plot(
    services: Services, key: str, layout: str = "clinical", fiducials: Sequence[Any] | None = None
) -> go.Figure:
    """The 12-lead figure of an ECG key, with the measured fiducial points of ``fiducials`` (per-beat) when given."""
    ecg = services.ecg(key)
    return ecg_figure(
        ecg.signal_mv,
        ecg.fs_hz,
        lead_mask=ecg.lead_mask,
        layout=layout,
        fiducials=fiducials,
        title=f"{key} · {ecg.fs_hz:g} Hz · {ecg.duration_s:.1f} s",
        duration_s=min(10.0, ecg.duration_s),
    )


def _number(value: Any) -> float | None:
    """A finite float, or None (a NaN or infinity is no measurement either)."""
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _qualified(line: str, name: str, quality: dict) -> str:
    q = _number(quality.get(name))
    if q is None and name in DERIVED_FROM:
        sources = [_number(quality.get(src)) for src in DERIVED_FROM[name]]
        q = min(sources) if sources and None not in sources else None
    return f"{line} (confidence {q:.2f})" if q is not None else line


def _not_measured(label: str, name: str, missing: dict) -> str:
    reason = missing.get(name) or next((missing[s] for s in DERIVED_FROM.get(name, ()) if missing.get(s)), None)
    reason = reason or "no reason given"
    return f"{label}: not measured: {escape_markdown(reason)}"


def measurement_lines(m: Any) -> list[str]:
    """One plain-text line per measurement: value, unit and confidence, or ``not measured: <reason>``.

    Args:
        m: a :class:`core.measure.Measurements` (its ``quality`` and ``missing`` dicts are used when present).

    Returns:
        Lines such as ``"QRS duration: 96 ms (confidence 0.90)"`` or ``"PR interval: not measured: <reason>"``
        (reasons escaped for Markdown), then the beat count and leads used.
    """
    from core.measure import axis_category

    quality = getattr(m, "quality", None) or {}
    missing = getattr(m, "missing", None) or {}
    lines = []
    for name, label, unit, fmt in MEASUREMENT_ROWS:
        if not hasattr(m, name):
            continue
        value = _number(getattr(m, name))
        if value is None:
            lines.append(_not_measured(label, name, missing))
            continue
        text = f"{label}: {fmt.format(value)}{unit}"
        if name == "axis_deg":
            text += f" ({axis_category(value)})"
        lines.append(_qualified(text, name, quality))
    for name, label, yes, no in MEASUREMENT_FLAGS:
        if not hasattr(m, name):
            continue
        value = getattr(m, name)
        if value is None:
            lines.append(_not_measured(label, name, missing))
        else:
            lines.append(_qualified(f"{label}: {yes if value else no}", name, quality))
    beats = getattr(m, "beats", None) or ()
    n_used = sum(1 for b in beats if (b.get("used", True) if isinstance(b, dict) else getattr(b, "used", True)))
    counted = f"{getattr(m, 'n_beats', 0)} beats found" + (f", {n_used} used for the medians" if beats else "")
    leads = ", ".join(escape_markdown(x) for x in getattr(m, "leads_used", ()) or ()) or "none"
    lines.append(f"{counted}; leads used: {leads}")
    version = getattr(m, "version", None)
    if version:
        lines.append(f"Measurement version: {escape_markdown(version)}")
    return lines


def measurements_markdown(m: Any) -> str:
    """The measurements block of the details panel: heading, one bullet per value, and the reader's note."""
    bullets = "\n".join(f"- {line}" for line in measurement_lines(m))
    return f"#### {MEASUREMENTS_HEADING}\n{bullets}\n\n*{MEASUREMENTS_NOTE}*"


def record_details(services: Services, key: str) -> str:
    """Markdown: report (original and English), labels, and the automated waveform measurements.

    Record and dataset text is escaped (:func:`escape_markdown`), so a report cannot inject markup.
    """
    parts = []
    if not key.startswith(UPLOAD_PREFIX):
        info = services.explorer().record(key)
        parts.append(
            f"### {escape_markdown(info.record_id)} ({escape_markdown(info.dataset)}, "
            f"{escape_markdown(info.split)} split)"
        )
        parts.append(f"**Report:** {escape_markdown(info.text or '—')}")
        if info.text_en and info.text_en != info.text:
            parts.append(f"**Report (English):** {escape_markdown(info.text_en)}")
        parts.append("**Labels:** " + escape_markdown(info.label_text() or "—"))
    else:
        ecg = services.ecg(key)
        parts.append(
            f"### {escape_markdown(key)} (uploaded)\nLeads present: {escape_markdown(', '.join(ecg.present_leads))}"
        )
    try:
        parts.append(measurements_markdown(services.measurements(key)))
    except (ImportError, OSError, ValueError, RuntimeError) as exc:
        # The plot and report are still useful without the measurements; say that they are missing, without
        # the exception text (it can hold server paths).
        logger.warning("measurements of %s failed: %s", key, exc)
        parts.append(f"#### {MEASUREMENTS_HEADING}\nnot measured: the measurement failed ({type(exc).__name__})")
    return "\n\n".join(parts)


def show_ecg(
    services: Services, key: str, layout: str = "clinical", show_fiducials: bool = False
) -> tuple[go.Figure, str]:
    """Figure (with the measured fiducial points when ``show_fiducials``) and details of the ECG ``key``."""
    fig = fiducial_plot(services, key, layout, show_fiducials)
    with user_errors():
        return fig, record_details(services, key.strip())


def fiducial_plot(services: Services, key: str, layout: str = "clinical", show_fiducials: bool = False) -> go.Figure:
    """The figure of ``key``, with the measured per-beat fiducial points drawn when ``show_fiducials``.

    Raises:
        gr.Error: the key is unknown, or fiducials were asked for and the measurement failed.
    """
    key = (key or "").strip()
    if not key:
        raise gr.Error("no ECG selected: pick one in Browse or upload a file")
    with user_errors():
        if not show_fiducials:
            return ecg_plot(services, key, layout)
        try:
            beats = tuple(getattr(services.measurements(key), "beats", ()) or ())
        except (ImportError, OSError, RuntimeError) as exc:
            logger.warning("measurements of %s failed: %s", key, exc)
            raise gr.Error(f"the fiducial points could not be measured ({type(exc).__name__})") from exc
        if not beats:
            gr.Warning("No per-beat fiducial points were measured on this ECG.")
        return ecg_plot(services, key, layout, fiducials=beats)


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
            return records_table(services, q, ds, lab, st, alab)

    def annotated_labels() -> gr.Dropdown:
        labels = sorted({lab for state in store_for(services).states().values() for lab in state.labels})
        return gr.Dropdown(choices=[ALL, *labels])

    def init() -> tuple:
        with user_errors():
            datasets, labels = filter_choices(services)
            return (
                gr.Dropdown(choices=datasets, value=ALL),
                gr.Dropdown(choices=labels, value=ALL),
                records_table(services),
            )

    def pick(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[0]) if row else gr.skip()

    def show(key: str, lay: str, fid: bool = False):
        if not (key or "").strip():
            return gr.skip(), gr.skip()
        return show_ecg(services, key, lay, fid)

    def redraw(key: str, lay: str, fid: bool):
        if not (key or "").strip():
            return gr.skip()
        return fiducial_plot(services, key, lay, fid)

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
    ctx.ecg_key.change(
        show,
        [ctx.ecg_key, layout, show_fiducials],
        [plot, details],
        api_name="show_ecg_on_change",
        api_visibility="private",
    )
    layout.change(
        redraw, [ctx.ecg_key, layout, show_fiducials], plot, api_name="show_ecg_layout", api_visibility="private"
    )
    show_fiducials.change(
        redraw, [ctx.ecg_key, layout, show_fiducials], plot, api_name="show_ecg_fiducials", api_visibility="private"
    )
    show_btn = gr.Button("Show", visible=False)
    show_btn.click(
        lambda k, lay: show_ecg(services, k, lay), [ctx.ecg_key, layout], [plot, details], api_name="show_ecg"
    )
    # The table and filters fill once the page opens (the explorer call waits for the background build).
    ctx.demo.load(init, None, [dataset, label, table], api_name="browse_load", api_visibility="private")
