"""Explain: occlusion saliency of a prompt's score over the leads and time segments, drawn on the 12-lead plot."""

from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go

from app.formatting import amplitude_caveat, escape_markdown, explanation_markdown
from app.views.common import Context, require_key, user_errors
from core.explorer import QueryService
from core.plotting import LAYOUTS, ecg_figure


def explain(
    services: QueryService,
    key: str,
    prompt: str,
    checkpoint: str | None = None,
    segment_s: float = 1.0,
    layout: str = "stacked",
) -> tuple[go.Figure, str]:
    """Saliency of ``prompt``'s score for the ECG ``key``: figure with red/blue boxes and a markdown summary."""
    key = require_key(key)
    with user_errors():
        ex = services.explain(key, prompt, checkpoint or None, float(segment_s))
    title = (
        f"{key} · occlusion saliency of “{ex.prompt}” · score {ex.saliency.base_score:.3f} (red raises, blue lowers)"
        f"{amplitude_caveat(ex)}"
    )
    fig = ecg_figure(
        ex.signal_mv,
        ex.fs_hz,
        lead_mask=ex.lead_mask,
        layout=layout,
        duration_s=ex.duration_s,
        saliency=ex.saliency.values,
        saliency_edges_s=ex.saliency.edges_s,
        title=title,
    )
    return fig, explanation_markdown(ex)


def explain_in_page(
    services: QueryService,
    key: str,
    prompt: str,
    checkpoint: str | None = None,
    segment_s: float = 1.0,
    layout: str = "stacked",
) -> tuple[go.Figure | None, str]:
    """:func:`explain` for the tab's button: a request the user can fix (no ECG, a bad id, an empty prompt) is one
    line in the tab and a cleared plot, since an error would lay a red overlay over both (``/explain`` still raises).
    """
    try:
        return explain(services, key, prompt, checkpoint, segment_s, layout)
    except gr.Error as exc:
        return None, f"⚠️ **Could not explain:** {escape_markdown(exc.message)}"


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
        run_btn = gr.Button("Explain", variant="primary", elem_id="explain-btn")
    text = gr.Markdown(elem_id="explain-text")
    # The shared ECG-paper figure: the viewer's calipers work on it too (the page script hooks every .ecg-paper plot).
    # No label badge: it sat over the start of the figure's title, which names the ECG and says what is drawn.
    plot = gr.Plot(show_label=False, elem_id="explain-plot", elem_classes=["ecg-paper"])

    def run(key: str, p: str, ckpt: str, seg: float, lay: str):
        return explain(services, key, p, ckpt, seg, lay)

    def run_clicked(key: str, p: str, ckpt: str, seg: float, lay: str):
        return explain_in_page(services, key, p, ckpt, seg, lay)

    inputs = [ctx.ecg_key, prompt, checkpoint, segment, layout]
    run_btn.click(run_clicked, inputs, [plot, text], api_name="explain_click", api_visibility="private")
    gr.Button("Explain", visible=False).click(run, inputs, [plot, text], api_name="explain")
