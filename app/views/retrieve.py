"""Retrieve: ECG -> nearest reports (FAISS, cosine); free text -> nearest ECGs and the best distinct reports (hybrid
lexical + dense search, :mod:`core.search`), with dataset, label and exclusion filters. Clicking a result row or a
thumbnail opens that ECG."""

from __future__ import annotations

from collections.abc import Sequence

import gradio as gr
import pandas as pd

from app.formatting import (
    REPORT_COLUMNS,
    RESULT_COLUMNS,
    escape_markdown,
    message_html,
    neighbours_frame,
    reports_frame,
    thumbnails_html,
)
from app.views.common import USER_FACING, Context, flag, user_errors, user_message
from app.views.follow import openable
from core.explorer import ALL, QueryService
from core.search import negated_words, parse_query, split_terms
from core.search.criteria import EXAMPLE_QUERIES, criteria_for
from core.search.criteria import finds_only as criterion_finds_only
from core.search.examples import MIN_EXAMPLES, OPPOSITE_WEIGHT

THIS_ECG = " (this ECG)"
# The thumbnails are HTML: a click on a row with a record id reports it as the component's select event.
OPEN_ON_CLICK = """
element.addEventListener('click', (event) => {
  const row = event.target.closest('[data-ecg]');
  if (row) trigger('select', {value: row.dataset.ecg, index: row.rowIndex});
});
"""
# Column widths that add up to the table's width, the report column taking most of it (it wraps, never cut).
RESULT_WIDTHS = ["5%", "12%", "8%", "25%", "50%"]
REPORT_WIDTHS = ["5%", "10%", "5%", "6%", "6%", "6%", "6%", "6%", "12%", "27%", "11%"]


def reports_for_ecg(services: QueryService, key: str, k: int = 5) -> tuple[pd.DataFrame, str]:
    """The ``k`` indexed reports nearest to an ECG (table + HTML with thumbnails of the neighbours' ECGs).

    A request the user can fix (no ECG selected, an unknown id) gives empty results and the reason in the HTML.
    """
    try:
        with user_errors():
            key = (key or "").strip()
            hits = services.nearest_reports(key, int(k))
    except gr.Error as exc:
        if not isinstance(exc.__cause__, USER_FACING):
            raise
        return neighbours_frame([]), message_html(user_message(exc.__cause__))
    return neighbours_frame(hits, key), thumbnails_html(hits, f"Reports nearest to {key}")


SEARCH_HINT = (
    "<p><i>The ECGs nearest to your query will be listed here, each with its lead II, and the reports that match it "
    "below: enter a query above and press Search.</i></p>"
)
NEGATION_IGNORED = (
    "The ECGs below are ranked by the model's embedding of the whole query, which places a negated finding "
    "('no P waves') close to the finding itself: they may show it. The matching reports further down read the "
    "negation; click one to open its ECG."
)
NO_WORD_MATCH = (
    "No indexed report states these words (a report that negates them, e.g. 'no pericarditis', does not count): "
    "the matching reports below are ranked by meaning only."
)


def search_text(
    services: QueryService,
    query: str,
    k: int = 5,
    dataset: str = ALL,
    label: str = "",
    exclude: str = "",
    by_example: bool = True,
    by_measurement: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Free text -> the ``k`` nearest indexed ECGs and the ``k`` best distinct reports (hybrid search).

    ``dataset`` and ``label`` keep only matching records (``"all"``/empty: no filter); ``exclude`` (comma-separated)
    and "..., not X" in the query drop records with label X and reports that say X. ``by_example``: rank the ECGs
    like the indexed ECGs whose reports state the query, where enough do. ``by_measurement``: where the query names
    a finding a measurement defines (PR > 200 ms for first-degree AV block), the ECGs whose automated measurements
    meet it come first. A request the user can fix (an empty query) gives empty tables and the reason in the HTML,
    not an error on every output.
    """
    by_example = flag(by_example, "by_example (rank the ECGs by example)")
    by_measurement = flag(by_measurement, "by_measurement (measured criteria first)")
    try:
        with user_errors():
            found = services.search_text(
                query,
                int(k),
                dataset=dataset,
                label=label,
                exclude=split_terms(exclude),
                by_example=by_example,
                by_measurement=by_measurement,
            )
    except gr.Error as exc:
        if not isinstance(exc.__cause__, USER_FACING):
            raise
        return neighbours_frame([]), reports_frame([]), message_html(user_message(exc.__cause__))
    what = f"ECGs nearest to “{found.query}”" + (f" (not {', '.join(found.exclude)})" if found.exclude else "")
    what += ", " + ranking_note(found.examples, by_example, found.opposites, found.counterpart)
    # The examples are answers too (they state the query); a tag tells them from the look-alikes.
    if found.example_hits:
        what += "; rows tagged “example” are among them"
    if found.criteria:
        what += "; " + criteria_note(found.criteria, found.criteria_met, found.criteria_pool)
    html = thumbnails_html(found.ecgs, what, found.example_hits, found.criteria_met, found.criteria_why)
    return neighbours_frame(found.ecgs), reports_frame(found.reports), html


def criteria_note(criteria: Sequence[str], met: Sequence[bool | None], pool: int) -> str:
    """What the measured criteria did to the list, for its heading."""
    n_met = sum(v is True for v in met)
    return (
        f"then re-ordered by what the query names that a measurement defines, {'; '.join(criteria)}: of the {pool} "
        f"nearest, those whose automated measurements meet it come first ({n_met} of the {len(met)} shown; each row "
        "says)"
    )


def measured_findings_markdown() -> str:
    """A table of queries naming each finding the measured criteria read, with the criteria each gives (read off
    :func:`core.search.criteria.criteria_for`, so it says what the search does)."""
    rows = [
        "A query naming one of these findings has its 50 nearest ECGs re-ordered by their automated measurements. "
        "*Finds only*: an ECG short of the bound stays undecided (the criterion finds the finding but does not "
        "exclude it).",
        "",
        "| a query such as | is read as | finds only |",
        "|---|---|---|",
    ]
    for example in EXAMPLE_QUERIES:
        found = criteria_for(example)
        read = "; ".join(c.describe() for c in found)
        only = "yes" if all(criterion_finds_only(c) for c in found) else ""
        rows.append(f"| {escape_markdown(example)} | {escape_markdown(read)} | {only} |")
    return "\n".join(rows)


def ranking_note(examples: int, by_example: bool, opposites: int = 0, counterpart: str = "") -> str:
    """How the ECG list was ranked, for its heading (a similarity means something else in each case)."""
    if examples:
        one = examples == 1
        like = (
            "the one indexed ECG whose report states it"
            if one
            else f"the {examples} indexed ECGs whose reports state it"
        )
        target = "that ECG" if one else "their mean ECG embedding"
        if not opposites:
            return f"ranked by example: like {like} (sim. = cosine to {target})"
        unlike = "the one whose report states" if opposites == 1 else f"the {opposites} whose reports state"
        such_as = f" (such as “{counterpart}”)" if counterpart else ""
        return (
            f"ranked by example: like {like}, unlike {unlike} its counterpart{such_as} "
            f"(sim. = cosine to {target} less {OPPOSITE_WEIGHT:g} x theirs)"
        )
    if by_example:
        too_few = "no indexed report states it" if MIN_EXAMPLES == 1 else f"fewer than {MIN_EXAMPLES} reports state it"
        return f"ranked by the model's embedding of the text: {too_few} (sim. = cosine to the text)"
    return "ranked by the model's embedding of the text (sim. = cosine to the text)"


def negation_notice(query: str | None, examples: int = 0) -> str:
    """A notice above the ECG table when the query negates a finding ("no P waves") and the ECGs were ranked by the
    model's embedding of the query, which sits close to the finding itself. Ranked by example (``examples`` > 0),
    the examples' reports say the negated phrase, so the ECGs follow the "no" and no notice is needed."""
    positive, _ = parse_query(query or "")
    return message_html(NEGATION_IGNORED) if positive and negated_words(positive) and not examples else ""


def word_match_notice(reports: pd.DataFrame | None) -> str:
    """A notice above the report table when none of its reports states the query's words: otherwise the table reads
    as if they said the finding (a report that negates it does not count as stating it)."""
    if reports is None or reports.empty or "lexical" not in reports:
        return ""
    return "" if (pd.to_numeric(reports["lexical"], errors="coerce") > 0).any() else message_html(NO_WORD_MATCH)


def picked_record(evt: gr.SelectData) -> str:
    """The record id of a clicked result (a table row's record_id cell, or a thumbnail row's id)."""
    row = evt.row_value
    if row is not None:  # a table: the record id is the second column (after the rank)
        value = str(row[1]) if len(row) > 1 else ""
    else:
        value = str(evt.value or "")
    value = value.removesuffix(THIS_ECG).strip()
    return value or gr.skip()


def build(ctx: Context) -> None:
    """Retrieve tab."""
    services = ctx.services
    k = gr.Slider(1, 50, value=5, step=1, label="k (results)")
    with gr.Row():
        ecg_btn = gr.Button("Nearest reports to the current ECG", variant="primary")
    # The tables are the API's results (gradio_client gets rows); on screen the same hits show once, as the
    # thumbnail table below, which adds each ECG's lead II. Both on screen read as two different result lists.
    ecg_table = gr.Dataframe(
        headers=RESULT_COLUMNS,
        interactive=False,
        label="Nearest reports (click a row to open that ECG)",
        wrap=True,
        column_widths=RESULT_WIDTHS,
        elem_id="retrieve-reports",
        visible=False,
    )
    ecg_html = gr.HTML(js_on_load=OPEN_ON_CLICK, elem_id="retrieve-thumbs")
    gr.Markdown("### Free-text search")
    with gr.Row():
        query = gr.Textbox(label="Query", placeholder="atrial fibrillation with rapid ventricular response", scale=4)
        text_btn = gr.Button("Search", scale=1, elem_id="search-btn")
    datasets = [ALL, *dict.fromkeys(name for name, _ in services.config.spec.datasets)]
    with gr.Row():
        dataset = gr.Dropdown(datasets, value=ALL, label="Dataset", scale=1)
        label = gr.Textbox(value="", label="Label (e.g. CLBBB, MI; comma-separated)", scale=2)
        exclude = gr.Textbox(value="", label="Exclude (labels or words, e.g. RBBB; or type '…, not RBBB')", scale=2)
    by_example = gr.Checkbox(
        value=True,
        label=(
            "Rank ECGs by example: like the indexed ECGs whose reports state these words (the text model mixes up "
            "twins such as left/right bundle branch block); off: by the model's embedding of the text"
        ),
        elem_id="search-by-example",
    )
    by_measurement = gr.Checkbox(
        value=True,
        label=(
            "Measured criteria first: where the search names a finding a measurement defines (first-degree AV block: "
            "PR > 200 ms; bradycardia: HR < 60; left bundle branch block: QRS ≥ 120 ms and V1 R/S < 0.5; atrial "
            "fibrillation: irregular without P waves; ...), the ECGs whose automated measurements meet it come first, "
            "then the undecided"
        ),
        elem_id="search-by-measurement",
    )
    with gr.Accordion("Which findings are read by measurement", open=False, elem_id="search-criteria-list"):
        gr.Markdown(measured_findings_markdown())
    # Stacked, not side by side: each table gets the page width, so the report column is readable at 1440 px.
    ecg_notice = gr.HTML(elem_id="search-ecg-notice")
    text_ecgs = gr.Dataframe(
        headers=RESULT_COLUMNS,
        interactive=False,
        label="Nearest ECGs (click a row to open it)",
        wrap=True,
        column_widths=RESULT_WIDTHS,
        elem_id="search-ecgs",
        visible=False,
    )
    # Before the first search the space under the filters says what will fill it, instead of a blank gap.
    text_html = gr.HTML(SEARCH_HINT, js_on_load=OPEN_ON_CLICK, elem_id="search-thumbs")
    notice = gr.HTML(elem_id="search-notice")
    text_reports = gr.Dataframe(
        headers=REPORT_COLUMNS,
        interactive=False,
        wrap=True,
        column_widths=REPORT_WIDTHS,
        elem_id="search-reports",
        label=(
            "Matching reports (identical texts in one row; BM25 + embedding score, lower where the report only hedges "
            "the finding, e.g. 'possible ...' (column 'hedged'), or states its counterpart, e.g. 'right' for 'left' "
            "(column 'counterpart'); a click opens the first ECG)"
        ),
    )

    def run_ecg(key: str, kk: int):
        return reports_for_ecg(services, key, kk)

    def run_ecg_if_selected(key: str, kk: int):
        # Following the current-ECG box: a key that opens nothing clears the results (Browse says why, once).
        key = openable(services, key)
        return reports_for_ecg(services, key, kk) if key else (neighbours_frame([]), "")

    def run_negation_notice(q: str, by_ex: bool):
        return negation_notice(q, services.example_count(q) if by_ex else 0)

    def run_text(
        q: str, kk: int, ds: str = ALL, lab: str = "", exc: str = "", by_ex: bool = True, by_meas: bool = True
    ):
        return search_text(services, q, kk, ds, lab, exc, by_ex, by_meas)

    ecg_btn.click(run_ecg, [ctx.ecg_key, k], [ecg_table, ecg_html], api_name="retrieve_reports", queue=False)
    ctx.ecg_key.change(
        run_ecg_if_selected,
        [ctx.ecg_key, k],
        [ecg_table, ecg_html],
        api_name="retrieve_on_change",
        api_visibility="private",
    )
    # The filter inputs come last with defaults, so `/search_text` called with (query, k) works as before.
    inputs = [query, k, dataset, label, exclude, by_example, by_measurement]
    outputs = [text_ecgs, text_reports, text_html]
    for event in (
        text_btn.click(run_text, inputs, outputs, api_name="search_text"),
        query.submit(run_text, inputs, outputs, api_name="search_text_submit", api_visibility="private"),
    ):
        event.then(word_match_notice, text_reports, notice, api_visibility="private", queue=False)
        event.then(run_negation_notice, [query, by_example], ecg_notice, api_visibility="private", queue=False)
    for i, results in enumerate((ecg_table, ecg_html, text_ecgs, text_reports, text_html)):
        results.select(picked_record, None, ctx.ecg_key, api_name=f"retrieve_open_{i}", api_visibility="private")
