"""Map: the UMAP of all indexed ECG embeddings, coloured by label, dataset or predicted class; click to open."""

from __future__ import annotations

import gradio as gr
import numpy as np
import plotly.graph_objects as go

from app.state import UPLOAD_PREFIX, Services
from app.views.browse import ecg_plot
from app.views.common import Context, short, user_errors
from core import zeroshot
from core.plotting import map_figure

COLOR_CHOICES = ["dataset", "superclass", "rhythm", "predicted class", "split"]
PREDICT_SET = "ptbxl_superclass"
_predicted: dict[int, list[str]] = {}


def predicted_classes(services: Services) -> list[str]:
    """Top zero-shot class (PTB-XL superclass prompts) of every indexed ECG, computed once per explorer."""
    explorer = services.explorer()
    if id(explorer) not in _predicted:
        names, emb = zeroshot.class_embeddings(zeroshot.load_prompt_set(PREDICT_SET).classes,
                                               explorer.embedder.encode_texts)
        _predicted[id(explorer)] = explorer.predict(emb, names)
    return _predicted[id(explorer)]


def groups_for(services: Services, color_by: str) -> list[str]:
    """One colour group per indexed ECG."""
    explorer = services.explorer()
    if color_by == "dataset":
        return [r.dataset for r in explorer.records]
    if color_by == "split":
        return [r.split or "—" for r in explorer.records]
    if color_by == "predicted class":
        return [f"predicted {c}" for c in predicted_classes(services)]
    if color_by in ("superclass", "rhythm"):
        return [", ".join(r.labels.get(color_by, [])) or "—" for r in explorer.records]
    raise gr.Error(f"unknown colouring {color_by!r}; use one of {COLOR_CHOICES}")


def atlas_figure(services: Services, color_by: str = "dataset", key: str = "") -> go.Figure:
    """The map, with the current ECG (indexed or uploaded) marked by a star."""
    with user_errors():
        explorer = services.explorer()
        if explorer.empty:
            raise gr.Error("the map is empty: no demo data is indexed")
        hover = [f"{', '.join(r.label_list())} — {short(r.text_en, 100)}" for r in explorer.records]
        highlight = None
        key = (key or "").strip()
        if key:
            if key.startswith(UPLOAD_PREFIX):
                highlight = explorer.place(services.embedding(key))
            elif key in explorer:
                highlight = explorer.map_xy[explorer.row(key)]
        return map_figure(explorer.map_xy, groups_for(services, color_by), hover,
                          [r.record_id for r in explorer.records], highlight=highlight,
                          highlight_label=key or "current ECG")


def place_ecg(services: Services, key: str) -> list[float]:
    """Map position ``[x, y]`` of an ECG (an upload is placed by its nearest indexed neighbours)."""
    key = (key or "").strip()
    with user_errors():
        explorer = services.explorer()
        if key in explorer:
            return [float(v) for v in explorer.map_xy[explorer.row(key)]]
        return [float(v) for v in np.asarray(explorer.place(services.embedding(key)))]


def build(ctx: Context) -> None:
    """Map tab."""
    services = ctx.services
    with gr.Row():
        color_by = gr.Radio(COLOR_CHOICES, value="dataset", label="Colour by")
        draw_btn = gr.Button("Draw map", scale=0)
    plot = gr.Plot(label="Embedding map (hover for the report; click a point to open it)", elem_id="atlas-plot")
    with gr.Row():
        pick = gr.Textbox(label="Selected record", elem_id="atlas-pick", scale=3)
        open_btn = gr.Button("Open", elem_id="atlas-open", scale=1)
    position = gr.JSON(label="Position of the current ECG", visible=False)
    preview = gr.Plot(label="Selected ECG", elem_id="atlas-ecg")

    def draw(cb: str, key: str):
        return atlas_figure(services, cb, key)

    def draw_if_ready(cb: str, key: str):
        if not services.ready:
            return gr.skip()
        return atlas_figure(services, cb, key)

    def open_record(rid: str):
        rid = (rid or "").strip()
        if not rid:
            raise gr.Error("click a point on the map (or type a record id) first")
        with user_errors():
            services.explorer().record(rid)
        return rid

    draw_btn.click(draw, [color_by, ctx.ecg_key], plot, api_name="map")
    color_by.change(draw, [color_by, ctx.ecg_key], plot, api_name="map_color", api_visibility="private")
    ctx.ecg_key.change(draw_if_ready, [color_by, ctx.ecg_key], plot, api_name="map_on_change",
                       api_visibility="private")
    open_btn.click(open_record, pick, ctx.ecg_key, api_name="map_open").then(
        lambda rid: ecg_plot(services, rid), ctx.ecg_key, preview, api_name="map_preview", api_visibility="private"
    )
    gr.Button("Place current ECG", visible=False).click(
        lambda key: place_ecg(services, key), ctx.ecg_key, position, api_name="map_place"
    )
