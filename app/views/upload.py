"""Upload: WFDB (.hea + .dat), CinC (.hea + .mat), CSV, NPY/NPZ; any sampling rate, leads matched by name."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from app.formatting import upload_markdown
from app.views.common import Context, user_errors
from core.explorer import QueryService
from core.plotting import ecg_figure


def _paths(files) -> list[Path]:
    """Gradio's file values (paths, or objects with ``.name`` / ``.path``) as paths."""
    if files is None:
        return []
    items = files if isinstance(files, list | tuple) else [files]
    return [Path(getattr(f, "name", None) or getattr(f, "path", None) or f) for f in items]


def upload_ecg(
    services: QueryService, files, fs_hz: float | None = None, lead_names: str = ""
) -> tuple[str, go.Figure, str]:
    """Read an upload, keep it, and return ``(key, figure, summary)``; bad files raise ``gr.Error``."""
    names = [s.strip() for s in (lead_names or "").split(",") if s.strip()]
    with user_errors():
        up = services.upload(_paths(files), fs_hz, names)
    ecg = up.ecg
    fig = ecg_figure(
        ecg.signal_mv,
        ecg.fs_hz,
        lead_mask=ecg.lead_mask,
        title=f"{ecg.source} (uploaded)",
        duration_s=min(10.0, ecg.duration_s),
    )
    return up.key, fig, upload_markdown(up)


def build(ctx: Context) -> None:
    """Upload tab."""
    services = ctx.services
    gr.Markdown(
        "Upload a WFDB record (`.hea` + `.dat`), a CinC/Challenge record (`.hea` + `.mat`), a CSV (one column per "
        "lead, named; a `time` column gives the rate) or NPY/NPZ (give the sampling rate). Leads are matched by "
        "name, in any order; missing leads are masked."
    )
    with gr.Row():
        files = gr.File(file_count="multiple", label="ECG file(s)", elem_id="upload-files", scale=3)
        with gr.Column(scale=1):
            fs_hz = gr.Number(value=None, label="Sampling rate (Hz), for NPY/NPZ/CSV without time", minimum=0)
            leads = gr.Textbox(
                label="Lead names (comma-separated), if the file has none",
                placeholder="I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6",
            )
            read_btn = gr.Button("Read", variant="primary")
    info = gr.Markdown(elem_id="upload-info")
    plot = gr.Plot(label="Uploaded ECG", elem_id="upload-plot")

    def run(f, fs, names):
        return upload_ecg(services, f, fs, names)

    read_btn.click(run, [files, fs_hz, leads], [ctx.ecg_key, plot, info], api_name="upload")
