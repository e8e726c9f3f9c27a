"""Retrieve: ECG -> nearest reports; free text -> nearest ECGs and nearest reports (FAISS, cosine similarity)."""

from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from app.state import Services
from app.views.common import Context, short, user_errors
from core.embed import _LRU
from core.explorer import RecordInfo
from core.plotting import thumbnail_svg

_SVG = _LRU(2048)  # thumbnail SVG text per (explorer, record): formatting 360 points costs more than a search
RESULT_COLUMNS = ["rank", "record_id", "similarity", "labels", "report (English)"]


def _frame(hits: list[tuple[RecordInfo, float]], query_id: str | None = None) -> pd.DataFrame:
    rows = []
    for rank, (info, sim) in enumerate(hits, start=1):
        rid = info.record_id + (" (this ECG)" if info.record_id == query_id else "")
        rows.append([rank, rid, round(sim, 4), ", ".join(info.label_list()), info.text_en])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _thumbnails(services: Services, hits: list[tuple[RecordInfo, float]], what: str) -> str:
    """An HTML table of hits with a lead II thumbnail of each neighbour's ECG."""
    explorer = services.explorer()
    rows = []
    for rank, (info, sim) in enumerate(hits, start=1):
        svg = _SVG.get((id(explorer), info.record_id))
        if svg is None:
            svg = thumbnail_svg(explorer.thumbnail(info.record_id))
            _SVG.put((id(explorer), info.record_id), svg)
        rows.append(
            f"<tr><td>{rank}</td><td><code>{html.escape(info.record_id)}</code></td><td>{sim:.3f}</td>"
            f"<td>{svg}</td><td>{html.escape(', '.join(info.label_list()))}</td>"
            f"<td>{html.escape(short(info.text_en))}</td></tr>"
        )
    head = "<tr><th>#</th><th>record</th><th>sim.</th><th>lead II</th><th>labels</th><th>report</th></tr>"
    return f"<b>{html.escape(what)}</b><table class='thumb-table'>{head}{''.join(rows)}</table>"


def reports_for_ecg(services: Services, key: str, k: int = 5) -> tuple[pd.DataFrame, str]:
    """The ``k`` indexed reports nearest to an ECG (table + HTML with thumbnails of the neighbours' ECGs)."""
    key = (key or "").strip()
    if not key:
        raise gr.Error("no ECG selected: pick one in Browse or upload a file")
    with user_errors():
        hits = services.explorer().nearest_reports(services.embedding(key), int(k))
        return _frame(hits, key), _thumbnails(services, hits, f"Reports nearest to {key}")


def search_text(services: Services, query: str, k: int = 5) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Free text -> the ``k`` nearest indexed ECGs and the ``k`` nearest reports."""
    query = (query or "").strip()
    if not query:
        raise gr.Error("type a query, e.g. 'atrial fibrillation with rapid ventricular response'")
    with user_errors():
        emb = services.embedder().encode_texts([query])[0]
        explorer = services.explorer()
        ecgs = explorer.nearest_ecgs(emb, int(k))
        reports = explorer.nearest_reports(emb, int(k))
        return _frame(ecgs), _frame(reports), _thumbnails(services, ecgs, f"ECGs nearest to “{query}”")


def build(ctx: Context) -> None:
    """Retrieve tab."""
    services = ctx.services
    k = gr.Slider(1, 50, value=5, step=1, label="k (results)")
    with gr.Row():
        ecg_btn = gr.Button("Nearest reports to the current ECG", variant="primary")
    ecg_table = gr.Dataframe(headers=RESULT_COLUMNS, interactive=False, label="Nearest reports", wrap=True,
                             elem_id="retrieve-reports")
    ecg_html = gr.HTML()
    gr.Markdown("### Free-text search")
    with gr.Row():
        query = gr.Textbox(label="Query", placeholder="atrial fibrillation with rapid ventricular response", scale=4)
        text_btn = gr.Button("Search", scale=1)
    with gr.Row():
        text_ecgs = gr.Dataframe(headers=RESULT_COLUMNS, interactive=False, label="Nearest ECGs", wrap=True)
        text_reports = gr.Dataframe(headers=RESULT_COLUMNS, interactive=False, label="Nearest reports", wrap=True)
    text_html = gr.HTML()

    def run_ecg(key: str, kk: int):
        return reports_for_ecg(services, key, kk)

    def run_ecg_if_selected(key: str, kk: int):
        if not (key or "").strip():
            return gr.skip(), gr.skip()
        return reports_for_ecg(services, key, kk)

    def run_text(q: str, kk: int):
        return search_text(services, q, kk)

    ecg_btn.click(run_ecg, [ctx.ecg_key, k], [ecg_table, ecg_html], api_name="retrieve_reports", queue=False)
    ctx.ecg_key.change(run_ecg_if_selected, [ctx.ecg_key, k], [ecg_table, ecg_html],
                       api_name="retrieve_on_change", api_visibility="private")
    text_btn.click(run_text, [query, k], [text_ecgs, text_reports, text_html], api_name="search_text")
    query.submit(run_text, [query, k], [text_ecgs, text_reports, text_html], api_name="search_text_submit",
                 api_visibility="private")
