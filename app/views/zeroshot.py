"""Zero-shot: an editable table of classes and prompts, scored against the current ECG by one or two checkpoints."""

from __future__ import annotations

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from app.formatting import SCORE_COLUMNS, escape_markdown, short
from app.views import batch
from app.views.common import Context, require_key, user_errors
from app.views.follow import openable
from core import zeroshot
from core.explorer import UPLOAD_PREFIX, QueryService
from core.plotting import compare_bar_figure, score_bar_figure
from core.search.criteria import criteria_for

PROMPT_COLUMNS = ["class", "prompts (separated by |)"]
DEFAULT_SET = "ptbxl_superclass"
NONE = "none"


def prompts_frame(services: QueryService, name: str = DEFAULT_SET) -> pd.DataFrame:
    """The prompt set ``name`` from ``assets/prompts/`` as an editable table (one row per class)."""
    with user_errors():
        prompt_set = services.prompt_set(name)
    return pd.DataFrame([[c, " | ".join(p)] for c, p in prompt_set.classes.items()], columns=PROMPT_COLUMNS)


def parse_prompts(table: pd.DataFrame | list | dict | None) -> dict[str, list[str]]:
    """Table rows -> ``{class: [prompt, ...]}``; blank rows are skipped, a class without prompts uses its name."""
    if table is None:
        raise gr.Error("the prompt table is empty: add a class")
    if isinstance(table, dict):  # the client-side form {"headers": [...], "data": [[...]]}
        table = pd.DataFrame(table.get("data", []), columns=table.get("headers") or None)
    classes: dict[str, list[str]] = {}
    for row in pd.DataFrame(table).itertuples(index=False):
        values = ["" if v is None or (isinstance(v, float) and pd.isna(v)) else str(v) for v in row]
        name = values[0].strip() if values else ""
        if not name:
            continue
        prompts = [p.strip() for p in (values[1] if len(values) > 1 else "").split("|") if p.strip()]
        classes.setdefault(name, []).extend(prompts or [name])
    if not classes:
        raise gr.Error("the prompt table has no class: add a row with a class name and its prompts")
    return classes


def zero_shot(
    services: QueryService, key: str, table, checkpoint: str | None, compare_with: str | None = None
) -> tuple[go.Figure, pd.DataFrame]:
    """Scores for the current ECG: a sorted bar chart (or two checkpoints side by side) and a table whose
    ``probability`` column is of the checkpoint's kind (softmax over the listed classes, or independent sigmoids)."""
    key = require_key(key)
    classes = parse_prompts(table)
    compare = compare_with if compare_with and compare_with not in (NONE, checkpoint) else None
    with user_errors():
        first = services.zero_shot(key, classes, checkpoint or None)
        second = services.zero_shot(key, classes, compare) if compare else None
    s = first.scores
    frame = pd.DataFrame([[n, round(a, 4), round(p, 4)] for n, a, p in s.rows()], columns=SCORE_COLUMNS)
    measured = measured_readings(services, key, classes)
    if measured:
        frame[MEASURED_COLUMN] = [measured.get(n, "") for n in frame["class"]]
    if second is None:
        title = f"{key} · {first.checkpoint} · {s.label}"
        return score_bar_figure(list(zip(s.names, s.similarity, strict=True)), title=title), frame
    sim = dict(zip(second.scores.names, second.scores.similarity, strict=True))
    fig = compare_bar_figure(s.names, {first.checkpoint: s.similarity, compare: [sim[n] for n in s.names]})
    frame[f"similarity ({compare})"] = [round(sim[n], 4) for n in s.names]
    return fig, frame


MEASURED_COLUMN = "measured (automated)"


def measured_readings(services: QueryService, key: str, classes: dict[str, list[str]]) -> dict[str, str]:
    """Per class whose name or prompts name a finding a measurement defines (:mod:`core.search.criteria`: "first
    degree AV block" is PR > 200 ms), the ECG's automated value beside it, so a score can be checked against the
    tracing's numbers; empty when no class names one."""
    wanted = {name: criteria_for(". ".join([name, *prompts])) for name, prompts in classes.items()}
    wanted = {name: found for name, found in wanted.items() if found}
    if not wanted:
        return {}
    measurements, _ = services.measured_or_reason(key)
    return {name: "; ".join(c.reading(measurements) for c in found) for name, found in wanted.items()}


def reference_markdown(services: QueryService, key: str) -> str:
    """The current ECG and its reference labels (what the scores can be checked against), or why there are none."""
    key = openable(services, key)
    if key is None:
        return "*No ECG selected: open one in Browse, Retrieve or the Map, or upload a file.*"
    if key.startswith(UPLOAD_PREFIX):
        return f"**{escape_markdown(key)}** (uploaded): no reference labels."
    info = services.explorer().record(key)
    labels = escape_markdown(info.label_text() or "none")
    report = escape_markdown(short(info.text_en, 300))
    return f"**{escape_markdown(key)}** · reference labels: {labels}  \n**Report:** {report}"


def score_label(services: QueryService, checkpoint: str | None) -> str:
    """The score table's label: which kind of probability the checkpoint gives."""
    with user_errors():
        kind = services.score_kind(checkpoint or None)
    return f"Scores · probability = {zeroshot.SCORE_LABELS[kind]}"


def build(ctx: Context) -> None:
    """Zero-shot tab."""
    services = ctx.services
    sets = zeroshot.list_prompt_sets()
    names = services.checkpoint_names
    with gr.Row():
        first_set = DEFAULT_SET if DEFAULT_SET in sets else (sets or [None])[0]
        prompt_set = gr.Dropdown(sets, value=first_set, label="Prompt set (assets/prompts/)", scale=2)
        load_btn = gr.Button("Load set", scale=1)
        reset_btn = gr.Button("Reset", scale=1)
    table = gr.Dataframe(
        prompts_frame(services, first_set) if first_set else None,
        headers=PROMPT_COLUMNS,
        interactive=True,
        row_count=None,
        wrap=True,
        label="Classes and prompts (editable)",
        elem_id="prompt-table",
        column_widths=["25%", "75%"],
    )
    selected_row = gr.State(None)
    with gr.Row():
        add_btn = gr.Button("Add class", size="sm")
        remove_btn = gr.Button("Remove selected class", size="sm")
    with gr.Row():
        default = services.index_name if services.index_name in names else (names[0] if names else None)
        checkpoint = gr.Dropdown(names, value=default, label="Checkpoint", scale=2)
        compare = gr.Dropdown([NONE, *names], value=NONE, label="Compare with", scale=2)
        score_btn = gr.Button("Score", variant="primary", scale=1, elem_id="score-btn")
    reference = gr.Markdown(reference_markdown(services, ""), elem_id="zeroshot-reference")
    with gr.Row():
        plot = gr.Plot(label="Scores (cosine similarity of the ECG to each class)", elem_id="zeroshot-plot")
        label = score_label(services, default) if default else "Scores"
        # Wrapped: the measured column's readings ("QRS 168 ms (≥ 120 ms: met)") stay in view beside the scores.
        scores = gr.Dataframe(
            headers=SCORE_COLUMNS,
            interactive=False,
            wrap=True,
            column_widths=["34%", "15%", "15%", "36%"],
            elem_id="zeroshot-scores",
            label=label,
        )

    def run(key: str, tab, ckpt: str, other: str):
        return zero_shot(services, key, tab, ckpt, other)

    def run_if_selected(key: str, tab, ckpt: str, other: str):
        # Following the current-ECG box: a key that opens nothing clears the scores (the viewer says why, once).
        key = openable(services, key)
        return zero_shot(services, key, tab, ckpt, other) if key else (None, pd.DataFrame(columns=SCORE_COLUMNS))

    def load(name: str):
        return prompts_frame(services, name)

    def add_row(tab):
        frame = pd.DataFrame(tab, columns=PROMPT_COLUMNS) if tab is not None else pd.DataFrame(columns=PROMPT_COLUMNS)
        new = pd.DataFrame([["new class", "describe it here"]], columns=PROMPT_COLUMNS)
        return pd.concat([frame, new], ignore_index=True)

    def remember(evt: gr.SelectData):
        return evt.index[0] if isinstance(evt.index, list | tuple) else evt.index

    def remove_row(tab, row):
        frame = pd.DataFrame(tab, columns=PROMPT_COLUMNS)
        if row is None or not 0 <= int(row) < len(frame):
            raise gr.Error("select a cell of the class to remove first")
        return frame.drop(index=frame.index[int(row)]).reset_index(drop=True), None

    # Interactive endpoints skip the queue: they take milliseconds, and the queue's event stream costs more than that.
    inputs = [ctx.ecg_key, table, checkpoint, compare]

    def score_clicked(key: str, tab, ckpt: str, other: str):
        # In the page a request the user can fix (no ECG, an empty table) is a warning and cleared scores, not an
        # error overlay on the plot and table; the /zeroshot call below still raises.
        try:
            return zero_shot(services, key, tab, ckpt, other)
        except gr.Error as exc:
            gr.Warning(exc.message)
            return None, pd.DataFrame(columns=SCORE_COLUMNS)

    score_btn.click(score_clicked, inputs, [plot, scores], api_name="zeroshot_click", api_visibility="private")
    gr.Button("Score", visible=False).click(run, inputs, [plot, scores], api_name="zeroshot", queue=False)
    ctx.ecg_key.change(run_if_selected, inputs, [plot, scores], api_name="zeroshot_on_change", api_visibility="private")
    ctx.ecg_key.change(
        lambda key: reference_markdown(services, key),
        ctx.ecg_key,
        reference,
        api_name="zeroshot_reference",
        api_visibility="private",
        queue=False,
    )
    # The table says which kind of probability it shows as soon as the checkpoint changes (read from its config).
    checkpoint.change(
        lambda c: gr.update(label=score_label(services, c)), checkpoint, scores, queue=False, api_visibility="private"
    )
    load_btn.click(load, prompt_set, table, api_name="load_prompts")
    reset_btn.click(load, prompt_set, table, api_name="reset_prompts", api_visibility="private")
    add_btn.click(add_row, table, table, api_name="add_class", api_visibility="private")
    table.select(remember, None, selected_row, api_name="select_class", api_visibility="private")
    remove_btn.click(
        remove_row, [table, selected_row], [table, selected_row], api_name="remove_class", api_visibility="private"
    )
    batch.build(ctx, table, checkpoint)
