"""Explain: occlusion saliency of a prompt's score over the leads and time segments, drawn on the 12-lead plot."""

from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go

from app.state import Services
from app.views.common import Context, model_window, user_errors
from core.leads import CANONICAL_LEADS
from core.plotting import LAYOUTS, ecg_figure
from core.saliency import occlusion_saliency


def explain(services: Services, key: str, prompt: str, checkpoint: str | None = None, segment_s: float = 1.0,
            layout: str = "stacked") -> tuple[go.Figure, str]:
    """Saliency of ``prompt``'s score for the ECG ``key``: figure with red/blue boxes and a markdown summary."""
    key, prompt = (key or "").strip(), (prompt or "").strip()
    if not key:
        raise gr.Error("no ECG selected: pick one in Browse or upload a file")
    if not prompt:
        raise gr.Error("type the prompt to explain, e.g. 'left bundle branch block'")
    with user_errors():
        embedder = services.embedder(checkpoint or None)
        ecg = services.ecg(key)
        signal, mask = embedder.prepare(ecg)
        target = embedder.encode_texts([prompt])[0]
        sal = occlusion_saliency(embedder.encode_signals, signal, mask, target,
                                 fs_hz=embedder.preprocess_cfg.fs_hz, segment_s=float(segment_s))
    duration_s = embedder.preprocess_cfg.duration_s
    shown, offset_s = model_window(ecg, duration_s)
    fig = ecg_figure(shown, ecg.fs_hz, lead_mask=ecg.lead_mask, layout=layout, duration_s=duration_s,
                     saliency=sal.values, saliency_edges_s=sal.edges_s,
                     title=f"{key} · “{prompt}” · score {sal.base_score:.3f} (red raises, blue lowers)")
    lines = [f"**Score** of “{prompt}” with {embedder.name}: {sal.base_score:.3f}. Strongest segments:"]
    for lead, t0, t1, v in sal.top_cells(6):
        effect = "raises" if v > 0 else "lowers"
        where = f"{CANONICAL_LEADS[lead]}, {t0 + offset_s:.1f}–{t1 + offset_s:.1f} s"
        lines.append(f"- {where}: {effect} it by {abs(v):.4f}")
    return fig, "\n".join(lines)


def build(ctx: Context) -> None:
    """Explain tab."""
    services = ctx.services
    names = services.checkpoint_names
    with gr.Row():
        prompt = gr.Textbox(value="left bundle branch block", label="Prompt to explain", scale=3)
        checkpoint = gr.Dropdown(names, value=names[0] if names else None, label="Checkpoint", scale=1)
    with gr.Row():
        segment = gr.Slider(0.25, 2.5, value=1.0, step=0.25, label="Segment length (s)")
        layout = gr.Radio(list(LAYOUTS), value="stacked", label="Layout")
        run_btn = gr.Button("Explain", variant="primary")
    text = gr.Markdown()
    plot = gr.Plot(label="Occlusion saliency", elem_id="explain-plot")

    def run(key: str, p: str, ckpt: str, seg: float, lay: str):
        return explain(services, key, p, ckpt, seg, lay)

    run_btn.click(run, [ctx.ecg_key, prompt, checkpoint, segment, layout], [plot, text], api_name="explain")
