"""Retrieve: ECG -> nearest reports (FAISS, cosine); free text -> nearest ECGs and the best distinct reports (hybrid
lexical + dense search, :mod:`core.search`), with dataset, label and exclusion filters."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from app.formatting import REPORT_COLUMNS, RESULT_COLUMNS, neighbours_frame, reports_frame, thumbnails_html
from app.views.common import Context, require_key, user_errors
from core.explorer import ALL, QueryService
from core.search import split_terms


def reports_for_ecg(services: QueryService, key: str, k: int = 5) -> tuple[pd.DataFrame, str]:
    """The ``k`` indexed reports nearest to an ECG (table + HTML with thumbnails of the neighbours' ECGs)."""
    key = require_key(key)
    with user_errors():
        hits = services.nearest_reports(key, int(k))
    return neighbours_frame(hits, key), thumbnails_html(hits, f"Reports nearest to {key}")


def search_text(
    services: QueryService, query: str, k: int = 5, dataset: str = ALL, label: str = "", exclude: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Free text -> the ``k`` nearest indexed ECGs and the ``k`` best distinct reports (hybrid search).

    ``dataset`` and ``label`` keep only matching records (``"all"``/empty: no filter); ``exclude`` (comma-separated)
    and "..., not X" in the query drop records with label X and reports that say X.
    """
    with user_errors():
        found = services.search_text(query, int(k), dataset=dataset, label=label, exclude=split_terms(exclude))
    what = f"ECGs nearest to “{found.query}”" + (f" (not {', '.join(found.exclude)})" if found.exclude else "")
    return neighbours_frame(found.ecgs), reports_frame(found.reports), thumbnails_html(found.ecgs, what)


def build(ctx: Context) -> None:
    """Retrieve tab."""
    services = ctx.services
    k = gr.Slider(1, 50, value=5, step=1, label="k (results)")
    with gr.Row():
        ecg_btn = gr.Button("Nearest reports to the current ECG", variant="primary")
    ecg_table = gr.Dataframe(
        headers=RESULT_COLUMNS, interactive=False, label="Nearest reports", wrap=True, elem_id="retrieve-reports"
    )
    ecg_html = gr.HTML()
    gr.Markdown("### Free-text search")
    with gr.Row():
        query = gr.Textbox(label="Query", placeholder="atrial fibrillation with rapid ventricular response", scale=4)
        text_btn = gr.Button("Search", scale=1)
    datasets = [ALL, *dict.fromkeys(name for name, _ in services.config.spec.datasets)]
    with gr.Row():
        dataset = gr.Dropdown(datasets, value=ALL, label="Dataset", scale=1)
        label = gr.Textbox(value="", label="Label (e.g. CLBBB, MI; comma-separated)", scale=2)
        exclude = gr.Textbox(value="", label="Exclude (labels or words, e.g. RBBB; or type '…, not RBBB')", scale=2)
    with gr.Row():
        text_ecgs = gr.Dataframe(headers=RESULT_COLUMNS, interactive=False, label="Nearest ECGs", wrap=True)
        text_reports = gr.Dataframe(
            headers=REPORT_COLUMNS,
            interactive=False,
            wrap=True,
            elem_id="search-reports",
            label="Matching reports (identical texts in one row; BM25 + embedding score)",
        )
    text_html = gr.HTML()

    def run_ecg(key: str, kk: int):
        return reports_for_ecg(services, key, kk)

    def run_ecg_if_selected(key: str, kk: int):
        return reports_for_ecg(services, key, kk) if (key or "").strip() else (gr.skip(), gr.skip())

    def run_text(q: str, kk: int, ds: str = ALL, lab: str = "", exc: str = ""):
        return search_text(services, q, kk, ds, lab, exc)

    ecg_btn.click(run_ecg, [ctx.ecg_key, k], [ecg_table, ecg_html], api_name="retrieve_reports", queue=False)
    ctx.ecg_key.change(
        run_ecg_if_selected,
        [ctx.ecg_key, k],
        [ecg_table, ecg_html],
        api_name="retrieve_on_change",
        api_visibility="private",
    )
    # The filter inputs come last with defaults, so `/search_text` called with (query, k) works as before.
    inputs = [query, k, dataset, label, exclude]
    outputs = [text_ecgs, text_reports, text_html]
    text_btn.click(run_text, inputs, outputs, api_name="search_text")
    query.submit(run_text, inputs, outputs, api_name="search_text_submit", api_visibility="private")
