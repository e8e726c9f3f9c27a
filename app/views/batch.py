"""Batch zero-shot inside the Zero-shot tab: score a whole indexed dataset against the current prompt table."""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr
import pandas as pd

from app.formatting import BATCH_AUC_COLUMNS, batch_auc_frame, batch_confusion_frame, batch_markdown
from app.views.common import Context, user_errors
from core.explorer import ALL, QueryService
from core.explorer.batch import BatchZeroShot


def table_classes(table) -> dict[str, list[str]]:
    """The prompt table as the Zero-shot tab holds it (a frame, rows, or ``{"headers", "data"}``), or a plain
    ``{class: [prompt, ...]}`` mapping (a string value is one prompt)."""
    from app.views.zeroshot import parse_prompts  # the tab's own parser (local: zeroshot imports this module)

    if isinstance(table, dict) and "data" not in table:
        return {str(c): [p] if isinstance(p, str) else [str(x) for x in p] for c, p in table.items()}
    return parse_prompts(table)


def batch_zero_shot(services: QueryService, table, checkpoint: str | None, dataset: str = ALL) -> BatchZeroShot:
    """Score every indexed record of ``dataset`` against the prompt table (errors become ``gr.Error``)."""
    classes = table_classes(table)
    with user_errors():
        return services.batch_zero_shot(classes, checkpoint or None, dataset or ALL)


def write_csv(out: BatchZeroShot) -> str:
    """The per-record scores in a temporary CSV file (for ``gr.File``); returns its path."""
    name = f"zeroshot-{out.dataset}-{out.checkpoint}-".replace("/", "_")
    with tempfile.NamedTemporaryFile("w", suffix=".csv", prefix=name, delete=False, encoding="utf-8") as f:
        f.write(out.csv)
    return str(Path(f.name))


def build(ctx: Context, table: gr.Dataframe, checkpoint: gr.Dropdown) -> None:
    """The "Score the whole dataset" section, reading the tab's prompt table and checkpoint."""
    services = ctx.services
    with gr.Accordion("Score the whole dataset", open=False, elem_id="batch-zeroshot"):
        with gr.Row():
            dataset = gr.Dropdown([ALL], value=ALL, label="Dataset", allow_custom_value=True, scale=2)
            run_btn = gr.Button("Score dataset", scale=1, elem_id="batch-btn")
        summary = gr.Markdown()
        with gr.Row():
            auc = gr.Dataframe(headers=BATCH_AUC_COLUMNS, interactive=False, label="AUC per class", elem_id="batch-auc")
            confusion = gr.Dataframe(interactive=False, label="Confusion matrix", elem_id="batch-confusion")
        csv = gr.File(label="Per-record scores (CSV)", elem_id="batch-csv")

    def run(tab, ckpt: str, ds: str) -> tuple[str, pd.DataFrame, pd.DataFrame, str]:
        out = batch_zero_shot(services, tab, ckpt, ds)
        return batch_markdown(out), batch_auc_frame(out), batch_confusion_frame(out), write_csv(out)

    def datasets() -> gr.Dropdown:
        with user_errors():
            return gr.Dropdown(choices=[ALL, *services.record_filters().datasets], value=ALL)

    run_btn.click(run, [table, checkpoint, dataset], [summary, auc, confusion, csv], api_visibility="private")
    ctx.demo.load(datasets, None, dataset, api_name="batch_datasets", api_visibility="private")
