"""Upload: WFDB (.hea + .dat), CinC (.hea + .mat), CSV, NPY/NPZ; any sampling rate, leads matched by name."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import gradio as gr
import plotly.graph_objects as go

from app.state import Services
from app.views.common import Context, user_errors
from core.data.readers import read_ecg
from core.ecg import ECG
from core.leads import CANONICAL_LEADS
from core.plotting import ecg_figure

ACCEPTED = [".hea", ".dat", ".mat", ".csv", ".npy", ".npz", ".h5", ".hdf5"]


def _paths(files) -> list[Path]:
    if files is None:
        return []
    items = files if isinstance(files, list | tuple) else [files]
    return [Path(getattr(f, "name", None) or getattr(f, "path", None) or f) for f in items]


def read_upload(files, fs_hz: float | None = None, lead_names: str = "") -> ECG:
    """Read uploaded file(s) as one ECG.

    Gradio stores each uploaded file in its own folder, so the files are first copied side by side (a WFDB header
    must sit next to its signal file). With a ``.hea`` among them, the record it describes is read; otherwise
    exactly one file is expected.

    Raises:
        ECGReadError: the data layer's message naming the file and the problem.
        ValueError: no file, or several files that are not one WFDB record.
    """
    paths = _paths(files)
    if not paths:
        raise ValueError("no file uploaded: choose a .hea + .dat/.mat pair, a .csv, .npy or .npz file")
    names = [s.strip() for s in (lead_names or "").split(",") if s.strip()] or None
    with tempfile.TemporaryDirectory(prefix="ecg-upload-") as tmp:
        local = []
        for p in paths:
            dest = Path(tmp) / p.name
            shutil.copyfile(p, dest)
            local.append(dest)
        headers = [p for p in local if p.suffix.lower() == ".hea"]
        if len(headers) > 1:
            raise ValueError(f"upload one record at a time (got {len(headers)} .hea headers)")
        if headers:
            target = headers[0]
        elif len(local) == 1:
            target = local[0]
        else:
            raise ValueError(
                f"{len(local)} files without a .hea header: upload one CSV/NPY/NPZ file, or a WFDB .hea with its "
                f".dat/.mat"
            )
        ecg = read_ecg(target, fs_hz=float(fs_hz) if fs_hz else None, lead_names=names, record_id=target.stem)
    # The temporary files are gone; keep only where the data came from.
    return ecg.replace(source=target.name)


def summary(key: str, ecg: ECG) -> str:
    """Markdown describing an uploaded ECG."""
    missing = [n for n, ok in zip(CANONICAL_LEADS, ecg.lead_mask, strict=False) if not ok]
    lines = [
        f"**Loaded** `{ecg.source}` as `{key}`: {ecg.fs_hz:g} Hz, {ecg.duration_s:.1f} s, "
        f"{len(ecg.present_leads)} of 12 leads.",
    ]
    if missing:
        lines.append(f"Missing leads (masked for the model): {', '.join(missing)}.")
    if ecg.meta.get("dropped_leads"):
        lines.append(f"Non-standard leads ignored: {', '.join(ecg.meta['dropped_leads'])}.")
    if ecg.meta.get("unusable_leads"):
        lines.append("Unusable leads: " + ", ".join(f"{k} ({v})" for k, v in ecg.meta["unusable_leads"].items()) + ".")
    lines.append("It is now the current ECG: open Zero-shot, Retrieve, Map or Explain.")
    return "\n\n".join(lines)


def upload_ecg(
    services: Services, files, fs_hz: float | None = None, lead_names: str = ""
) -> tuple[str, go.Figure, str]:
    """Read an upload, keep it, and return ``(key, figure, summary)``; bad files raise ``gr.Error``."""
    with user_errors():
        ecg = read_upload(files, fs_hz, lead_names)
    key = services.put_upload(ecg)
    fig = ecg_figure(ecg.signal_mv, ecg.fs_hz, lead_mask=ecg.lead_mask, title=f"{ecg.source} (uploaded)",
                     duration_s=min(10.0, ecg.duration_s))
    return key, fig, summary(key, ecg)


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
            leads = gr.Textbox(label="Lead names (comma-separated), if the file has none",
                               placeholder="I, II, III, aVR, aVL, aVF, V1, V2, V3, V4, V5, V6")
            read_btn = gr.Button("Read", variant="primary")
    info = gr.Markdown(elem_id="upload-info")
    plot = gr.Plot(label="Uploaded ECG", elem_id="upload-plot")

    def run(f, fs, names):
        return upload_ecg(services, f, fs, names)

    read_btn.click(run, [files, fs_hz, leads], [ctx.ecg_key, plot, info], api_name="upload")
