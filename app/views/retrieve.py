"""Retrieve: ECG -> nearest reports (FAISS, cosine); free text -> nearest ECGs and the best distinct reports (hybrid
lexical + dense search, :mod:`core.search`), with dataset, label and exclusion filters."""

from __future__ import annotations

import html

import gradio as gr
import pandas as pd

from app.state import Services
from app.views.common import Context, short, user_errors
from core.embed import _LRU
from core.explorer import RecordInfo, ReportMatch
from core.plotting import thumbnail_svg
from core.search import split_terms

_SVG = _LRU(2048)  # thumbnail SVG text per (explorer, record): formatting 360 points costs more than a search
RESULT_COLUMNS = ["rank", "record_id", "similarity", "labels", "report (English)"]
# One row per distinct report text: record_id is the first record with it, record_ids all of them.
REPORT_COLUMNS = ["rank", "record_id", "count", "score", "lexical", "dense", "labels", "report (English)", "record_ids"]
ALL = "all"


def _frame(hits: list[tuple[RecordInfo, float]], query_id: str | None = None) -> pd.DataFrame:
    rows = []
    for rank, (info, sim) in enumerate(hits, start=1):
        rid = info.record_id + (" (this ECG)" if info.record_id == query_id else "")
        rows.append([rank, rid, round(sim, 4), ", ".join(info.label_list()), info.text_en])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def _report_frame(matches: list[ReportMatch]) -> pd.DataFrame:
    rows = []
    for rank, m in enumerate(matches, start=1):
        labels = list(dict.fromkeys(x for r in m.records for x in r.label_list()))
        rows.append(
            [
                rank,
                m.record_ids[0],
                m.hit.count,
                round(m.hit.score, 4),
                round(m.hit.lexical, 4),
                round(m.hit.dense, 4),
                ", ".join(labels),
                m.hit.text,
                ", ".join(m.record_ids),
            ]
        )
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


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


def search_text(
    services: Services, query: str, k: int = 5, dataset: str = ALL, label: str = "", exclude: str = ""
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Free text -> the ``k`` nearest indexed ECGs and the ``k`` best distinct reports (hybrid search).

    ``dataset`` and ``label`` keep only matching records (``"all"``/empty: no filter); ``exclude`` (comma-separated)
    and "..., not X" in the query drop records with label X and reports that say X.
    """
    query = (query or "").strip()
    if not query:
        raise gr.Error("type a query, e.g. 'atrial fibrillation with rapid ventricular response'")
    with user_errors():
        found = services.explorer().search_text(
            query, int(k), dataset=dataset or ALL, label=label or ALL, exclude=split_terms(exclude)
        )
        what = f"ECGs nearest to “{found.query}”" + (f" (not {', '.join(found.exclude)})" if found.exclude else "")
        return _frame(found.ecgs), _report_frame(found.reports), _thumbnails(services, found.ecgs, what)


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
        if not (key or "").strip():
            return gr.skip(), gr.skip()
        return reports_for_ecg(services, key, kk)

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
    text_btn.click(run_text, inputs, [text_ecgs, text_reports, text_html], api_name="search_text")
    query.submit(
        run_text, inputs, [text_ecgs, text_reports, text_html], api_name="search_text_submit", api_visibility="private"
    )
