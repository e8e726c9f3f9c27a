"""Map: the UMAP of all indexed ECG embeddings, coloured by label, dataset or predicted class; click to open."""

from __future__ import annotations

import gradio as gr
import plotly.graph_objects as go

from app.formatting import ecg_plot, short
from app.views.common import Context, user_errors
from core.explorer import COLOR_CHOICES, QueryService
from core.plotting import map_figure


def atlas_figure(services: QueryService, color_by: str = "dataset", key: str = "") -> go.Figure:
    """The map, with the current ECG (indexed or uploaded) marked by a star."""
    with user_errors():
        view = services.map(color_by, key)
    hover = [f"{', '.join(r.label_list())} — {short(r.text_en, 100)}" for r in view.records]
    return map_figure(
        view.xy,
        view.groups,
        hover,
        [r.record_id for r in view.records],
        highlight=view.highlight,
        highlight_label=view.highlight_label,
    )


def place_ecg(services: QueryService, key: str) -> list[float]:
    """Map position ``[x, y]`` of an ECG (an upload is placed by its nearest indexed neighbours)."""
    with user_errors():
        return [float(v) for v in services.place(key)]


def open_record(services: QueryService, rid: str) -> str:
    """The clicked record id, checked against the index."""
    rid = (rid or "").strip()
    if not rid:
        raise gr.Error("click a point on the map (or type a record id) first")
    with user_errors():
        return services.open_record(rid, measure=False).key


def preview(services: QueryService, rid: str) -> go.Figure:
    """The opened record's 12-lead figure."""
    with user_errors():
        return ecg_plot(services.open_record(rid, measure=False))


def build(ctx: Context) -> None:
    """Map tab."""
    services = ctx.services
    with gr.Row():
        color_by = gr.Radio(list(COLOR_CHOICES), value="dataset", label="Colour by")
        draw_btn = gr.Button("Draw map", scale=0)
    plot = gr.Plot(label="Embedding map (hover for the report; click a point to open it)", elem_id="atlas-plot")
    with gr.Row():
        pick = gr.Textbox(label="Selected record", elem_id="atlas-pick", scale=3)
        open_btn = gr.Button("Open", elem_id="atlas-open", scale=1)
    position = gr.JSON(label="Position of the current ECG", visible=False)
    selected = gr.Plot(label="Selected ECG", elem_id="atlas-ecg")

    def draw(cb: str, key: str):
        return atlas_figure(services, cb, key)

    def draw_if_ready(cb: str, key: str):
        return atlas_figure(services, cb, key) if services.ready else gr.skip()

    draw_btn.click(draw, [color_by, ctx.ecg_key], plot, api_name="map")
    color_by.change(draw, [color_by, ctx.ecg_key], plot, api_name="map_color", api_visibility="private")
    ctx.ecg_key.change(draw_if_ready, [color_by, ctx.ecg_key], plot, api_name="map_on_change", api_visibility="private")
    open_btn.click(lambda rid: open_record(services, rid), pick, ctx.ecg_key, api_name="map_open").then(
        lambda rid: preview(services, rid), ctx.ecg_key, selected, api_name="map_preview", api_visibility="private"
    )
    gr.Button("Place current ECG", visible=False).click(
        lambda key: place_ecg(services, key), ctx.ecg_key, position, api_name="map_place"
    )
