"""Batch zero-shot inside the Zero-shot tab: score a whole indexed dataset, or uploaded ECG files (a zip or several
files), against the current prompt table: AUC per class, confusion matrix, and the per-record scores as CSV.

The CSV is written into Gradio's cache folder, which the app's ``delete_cache`` empties of files older than an hour
(and entirely at restart); a session's previous CSV is removed as soon as it scores again.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import pandas as pd
from gradio.utils import get_upload_folder

from app.formatting import (
    BATCH_AUC_COLUMNS,
    batch_auc_frame,
    batch_confusion_frame,
    batch_markdown,
    escape_markdown,
)
from app.views.common import USER_FACING, Context, user_errors, user_message
from app.views.upload import remove_uploaded, uploaded_paths
from core.explorer import ALL, QueryService
from core.explorer.batch import BatchZeroShot
from core.explorer.batch_files import LABELS_FILE, ZIP_MAX_BYTES, ZIP_MAX_MEMBERS

logger = logging.getLogger(__name__)
CSV_FOLDER = "batch-zeroshot"


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


def batch_zero_shot_files(
    services: QueryService, files, table, checkpoint: str | None, progress: Callable | None = None
) -> BatchZeroShot:
    """Score uploaded ECG files (a zip archive, or several files) against the prompt table; Gradio's copies of the
    uploaded files are deleted once read. A user's mistake is one short ``gr.Error``, logged without a traceback.
    ``progress((done, total), desc)`` is told after each batch of records."""
    classes = table_classes(table)
    paths = uploaded_paths(files)
    try:
        with user_errors():
            try:
                return services.batch_zero_shot_files(paths, classes, checkpoint or None, progress=progress)
            except USER_FACING as exc:
                logger.info("batch upload refused: %s", user_message(exc))
                raise
    finally:
        remove_uploaded(paths)


def write_csv(out: BatchZeroShot, previous: str | None = None) -> str:
    """The per-record scores in a CSV file in Gradio's cache folder (for ``gr.File``); ``previous`` (this session's
    last CSV) is deleted. Returns the new file's path."""
    folder = Path(get_upload_folder()) / CSV_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    if previous:
        old = Path(previous).resolve()
        if folder.resolve() in old.parents:  # only our own files, never a path a caller made up
            old.unlink(missing_ok=True)
    name = f"zeroshot-{out.dataset}-{out.checkpoint}-".replace("/", "_")
    with tempfile.NamedTemporaryFile("w", suffix=".csv", prefix=name, dir=folder, delete=False, encoding="utf-8") as f:
        f.write(out.csv)
    return f.name


def in_page(score: Callable[[], tuple]) -> tuple:
    """The section's outputs from ``score()``, or, when the user can fix what went wrong (no file, an empty prompt
    table, an unknown dataset), one line in the summary with the tables and the CSV cleared. In the page an error
    would lay a red overlay over the outputs; the named API endpoints still raise."""
    try:
        return score()
    except gr.Error as exc:
        line = f"⚠️ **Nothing was scored:** {escape_markdown(exc.message)}"
        empty = pd.DataFrame(columns=BATCH_AUC_COLUMNS)
        return line, empty, pd.DataFrame(), None, gr.skip()


def build(ctx: Context, table: gr.Dataframe, checkpoint: gr.Dropdown) -> None:
    """The "Score many ECGs" section, reading the tab's prompt table and checkpoint."""
    services = ctx.services
    with gr.Accordion("Score many ECGs: a whole dataset or uploaded files", open=False, elem_id="batch-zeroshot"):
        with gr.Row():
            dataset = gr.Dropdown([ALL], value=ALL, label="Indexed dataset", allow_custom_value=True, scale=2)
            run_btn = gr.Button("Score dataset", scale=1, elem_id="batch-btn")
        with gr.Row():
            files = gr.File(
                file_count="multiple",
                file_types=[".zip", ".hea", ".dat", ".mat", ".csv", ".npy", ".npz"],
                label=(
                    f"…or upload ECG files: a .zip (at most {ZIP_MAX_MEMBERS} files, {ZIP_MAX_BYTES // 2**20} MB "
                    f"unpacked) or several files; an optional {LABELS_FILE} (columns record, labels) gives reference "
                    "labels"
                ),
                elem_id="batch-files",
                scale=2,
            )
            files_btn = gr.Button("Score uploaded files", scale=1, elem_id="batch-files-btn")
        summary = gr.Markdown(elem_id="batch-summary")
        with gr.Row():
            auc = gr.Dataframe(headers=BATCH_AUC_COLUMNS, interactive=False, label="AUC per class", elem_id="batch-auc")
            confusion = gr.Dataframe(interactive=False, label="Confusion matrix", elem_id="batch-confusion")
        csv = gr.File(label="Per-record scores (CSV)", elem_id="batch-csv")
    last_csv = gr.State(None)

    def shown(out: BatchZeroShot, previous: str | None) -> tuple[str, pd.DataFrame, pd.DataFrame, str, str]:
        path = write_csv(out, previous)
        return batch_markdown(out), batch_auc_frame(out), batch_confusion_frame(out), path, path

    def run(tab, ckpt: str, ds: str, previous: str | None = None):
        return in_page(lambda: shown(batch_zero_shot(services, tab, ckpt, ds), previous))

    def report_to(progress) -> Callable:
        def report(done_total: tuple[int, int], desc: str) -> None:
            progress(done_total, desc=desc)

        return report

    def run_files(uploaded, tab, ckpt: str, previous: str | None = None, progress=gr.Progress()):  # noqa: B008 - Gradio injects it
        return shown(batch_zero_shot_files(services, uploaded, tab, ckpt, report_to(progress)), previous)

    def run_files_clicked(uploaded, tab, ckpt: str, previous: str | None = None, progress=gr.Progress()):  # noqa: B008
        return in_page(lambda: run_files(uploaded, tab, ckpt, previous, progress))

    def datasets() -> gr.Dropdown:
        with user_errors():
            return gr.Dropdown(choices=[ALL, *services.record_filters().datasets], value=ALL)

    outputs = [summary, auc, confusion, csv, last_csv]
    run_btn.click(run, [table, checkpoint, dataset, last_csv], outputs, api_visibility="private")
    files_inputs = [files, table, checkpoint, last_csv]
    # One batch at a time, from the page or the API: each holds a batch of windows and the model busy.
    one_at_a_time = dict(concurrency_limit=1, concurrency_id="batch_zeroshot_files")
    files_btn.click(
        run_files_clicked,
        files_inputs,
        outputs,
        api_name="batch_zeroshot_files_click",
        api_visibility="private",
        **one_at_a_time,
    )
    gr.Button(visible=False).click(run_files, files_inputs, outputs, api_name="batch_zeroshot_files", **one_at_a_time)
    ctx.demo.load(datasets, None, dataset, api_name="batch_datasets", api_visibility="private")
