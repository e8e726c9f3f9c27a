"""Upload: WFDB (.hea + .dat), CinC (.hea + .mat), CSV, NPY/NPZ; any sampling rate, leads matched by name.

What is shown is what is scored: a long record is cut into 10-s windows and the chosen one is plotted, scored,
measured and placed on the map under the key ``upload/<digest>@<start_s>``. Units, missing leads and the window are
stated in the tab; the window becomes the current ECG, drawn by the viewer above the tabs. Gradio's copy of each
uploaded file is deleted once read; the decoded record stays in the service's upload cache, so another window can be
chosen without uploading again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go
from gradio.utils import get_upload_folder

from app.formatting import amplitude_caveat, escape_markdown, upload_markdown
from app.views.common import USER_FACING, Context, user_errors, user_message
from core.explorer import QueryService
from core.explorer.uploads import UNITS, UPLOAD_MAX_BYTES, WINDOW_S
from core.plotting import ecg_figure

logger = logging.getLogger(__name__)

# For Blocks.launch(max_file_size=...): Gradio refuses larger uploads before they reach a handler.
MAX_FILE_SIZE = UPLOAD_MAX_BYTES


def uploaded_paths(files) -> list[Path]:
    """Gradio's file values (paths, or objects with ``.name`` / ``.path``) as paths."""
    if files is None:
        return []
    items = files if isinstance(files, list | tuple) else [files]
    return [Path(getattr(f, "name", None) or getattr(f, "path", None) or f) for f in items]


def remove_uploaded(paths: list[Path]) -> None:
    """Delete Gradio's temporary copies of uploaded files (and their now-empty folders).

    Only files inside Gradio's upload folder are touched: a handler called with a user's own path (tests, scripts)
    never deletes it.
    """
    root = Path(get_upload_folder()).resolve()
    for path in paths:
        try:
            resolved = path.resolve()
            if root not in resolved.parents:
                continue
            resolved.unlink(missing_ok=True)
            if resolved.parent != root and not any(resolved.parent.iterdir()):
                resolved.parent.rmdir()
        except OSError as exc:  # another request may be removing the same folder
            logger.debug("could not remove uploaded file %s: %s", path.name, exc)


def _markdown(up) -> str:
    window = up.window
    warnings = list(window.warnings) if window is not None else []
    parts = [f"> ⚠️ **{w}**" for w in warnings]
    parts.append(upload_markdown(up))
    return "\n\n".join(parts)


def upload_ecg(
    services: QueryService,
    files,
    fs_hz: float | None = None,
    lead_names: str = "",
    units: str = "auto",
    start_s: float | None = 0.0,
) -> tuple[str, go.Figure, str]:
    """Read an upload, keep the chosen window, and return ``(key, figure, summary)``; bad files raise ``gr.Error``.

    The summary starts with the warnings (units detected, partial leads, the window of a long record).
    """
    names = [s.strip() for s in (lead_names or "").split(",") if s.strip()]
    # The page sends its empty sampling-rate field as 0: no rate given (a CSV's time column or a header gives it).
    fs_hz = fs_hz or None
    paths = uploaded_paths(files)
    try:
        with user_errors():
            try:
                up = services.upload(paths, fs_hz, names, units=units or "auto", start_s=start_s)
            except USER_FACING as exc:
                # A user's mistake: one line in the log, no traceback (bugs are logged with theirs by the boundary).
                logger.info("upload refused: %s", user_message(exc))
                raise
    finally:
        remove_uploaded(paths)
    ecg = up.ecg
    window = up.window
    name = window.record.name if window is not None else ecg.source
    span = f" · {window.start_s:g}-{window.start_s + ecg.duration_s:g} s" if window is not None else ""
    fig = ecg_figure(
        ecg.signal_mv,
        ecg.fs_hz,
        lead_mask=ecg.lead_mask,
        title=f"{name}{span} (uploaded){amplitude_caveat(ecg)}",
        duration_s=min(WINDOW_S, ecg.duration_s),
    )
    return up.key, fig, _markdown(up)


def build(ctx: Context) -> None:
    """Upload tab."""
    services = ctx.services
    gr.Markdown(
        "Upload a WFDB record (`.hea` + `.dat`), a CinC/Challenge record (`.hea` + `.mat`), a CSV (one column per "
        "lead, named; a `time` column gives the rate) or NPY/NPZ (give the sampling rate). Leads are matched by "
        f"name, in any order; missing leads are masked. Files up to {MAX_FILE_SIZE // 2**20} MB; records are shown "
        f"and scored {WINDOW_S:g} s at a time."
    )
    with gr.Row():
        files = gr.File(file_count="multiple", label="ECG file(s)", elem_id="upload-files", scale=3)
        with gr.Column(scale=1):
            fs_hz = gr.Number(
                value=None,
                label="Sampling rate (Hz), for NPY/NPZ/CSV without time",
                info="empty or 0: from the file (a header, or a CSV's time column)",
                minimum=0,
            )
            leads = gr.Textbox(
                label="Lead names (comma-separated), if the file has none",
                placeholder="I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6",
            )
            units = gr.Dropdown(
                list(UNITS),
                value="auto",
                label="Units of the values",
                info="auto: detected by amplitude, with a warning; the file's own units win (WFDB, CSV 'II (uV)')",
                elem_id="upload-units",
            )
            start_s = gr.Number(
                value=0,
                label=f"Window start (s): which {WINDOW_S:g}-s window of a long record to show and score",
                minimum=0,
                step=WINDOW_S,
                elem_id="upload-start",
            )
            read_btn = gr.Button("Read", variant="primary")
    info = gr.Markdown(elem_id="upload-info")
    # The uploaded window becomes the current ECG, which the viewer above the tabs draws; this hidden plot only
    # carries the figure of the /upload call.
    plot = gr.Plot(visible=False, elem_id="upload-plot")

    def run(f, fs, names, unit, start):
        return upload_ecg(services, f, fs, names, unit, start)

    def read_clicked(f, fs, names, unit, start):
        # In the page a file that cannot be read is one line in the tab: an error would also lay a red overlay over
        # the current-ECG box (an output here) and block typing in it. The /upload call below still raises.
        try:
            return upload_ecg(services, f, fs, names, unit, start)
        except gr.Error as exc:
            return gr.skip(), None, f"⚠️ **The upload could not be read:** {escape_markdown(exc.message)}"

    def clear():
        # A failed read must not leave the previous upload on screen as if it were this one.
        return None, "*Reading…*"

    inputs = [files, fs_hz, leads, units, start_s]
    read_btn.click(clear, None, [plot, info], api_name=False, show_progress="hidden", queue=False).then(
        read_clicked, inputs, [ctx.ecg_key, plot, info], api_name="upload_click", api_visibility="private"
    )
    gr.Button("Read", visible=False).click(run, inputs, [ctx.ecg_key, plot, info], api_name="upload")
