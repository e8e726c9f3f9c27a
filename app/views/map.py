"""Map: the UMAP of all indexed ECG embeddings, drawn when the tab opens and coloured by one chosen field (dataset,
a label set, the predicted class, the split) with at most ten named colours plus "other"; a click on a point opens
that ECG and previews it with its report."""

from __future__ import annotations

import html

import gradio as gr
import plotly.graph_objects as go
from gradio.context import Context as BlocksContext

from app.formatting import label_summary, record_markdown, short
from app.views.common import Context, user_errors
from app.views.follow import openable
from app.views.viewer import record_figure
from core.explorer import COLOR_CHOICES, QueryService
from core.explorer.groups import OTHER
from core.plotting import DEFAULT_WIDTH_PX, PaperOptions, map_figure

# Ten colours that stay apart (plotly's default qualitative palette: no grey), and greys for the pooled groups.
PALETTE = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52")
OTHER_COLOUR = "#9E9E9E"
NO_LABEL_COLOUR = "#D9D9D9"
# The preview sits in three quarters of the row (its report beside it): the figure's height is chosen for that width.
PREVIEW_WIDTH_PX = DEFAULT_WIDTH_PX * 3 // 4 - 12


def group_colours(groups: list[str]) -> dict[str, str]:
    """A colour per group: the named groups by size get :data:`PALETTE` in order; "other" and "no … label" greys."""
    counts: dict[str, int] = {}
    for g in groups:
        counts[g] = counts.get(g, 0) + 1
    colours, named = {}, 0
    for g in sorted(counts, key=lambda k: (-counts[k], k)):
        if g == OTHER:
            colours[g] = OTHER_COLOUR
        elif g.startswith("no ") and g.endswith(" label"):
            colours[g] = NO_LABEL_COLOUR
        else:
            colours[g] = PALETTE[named % len(PALETTE)]
            named += 1
    return colours


def atlas_figure(services: QueryService, color_by: str = "dataset", key: str = "") -> go.Figure:
    """The map, with the current ECG (indexed or uploaded) marked by a star."""
    with user_errors():
        view = services.map(color_by, key)
    # Plotly renders a few HTML tags in hover text: the report is escaped so it shows as written.
    hover = [html.escape(f"{label_summary(r.label_list())} — {short(r.text_en, 100)}") for r in view.records]
    fig = map_figure(
        view.xy,
        view.groups,
        hover,
        [r.record_id for r in view.records],
        highlight=view.highlight,
        highlight_label=view.highlight_label,
    )
    colours = group_colours(view.groups)
    for trace in fig.data:
        group = (trace.name or "").rsplit(" (", 1)[0]
        if group in colours and trace.marker.symbol != "star":
            trace.marker.color = colours[group]
    fig.update_layout(legend_title_text=color_by)
    if view.total > len(view.records):
        near = f" and the {view.neighbours} nearest to {view.highlight_label}" if view.neighbours else ""
        fig.update_layout(
            title_text=f"{len(view.records):,} of {view.total:,} ECGs drawn: a fixed random sample{near}",
            title_font_size=13,
        )
    return fig


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


def preview(services: QueryService, rid: str) -> tuple[go.Figure, str]:
    """The opened record's 12-lead figure (the viewer's figure code, standard paper) and its report and labels."""
    with user_errors():
        opened = services.open_record(rid, measure=False)
    return record_figure(opened, PaperOptions(), width_px=PREVIEW_WIDTH_PX), record_markdown(opened)


def _current_tab():
    """The tab this view is being built in (None outside a tab), for drawing when it is opened."""
    block = BlocksContext.block
    return block if isinstance(block, gr.Tab) else None


def build(ctx: Context) -> None:
    """Map tab."""
    services = ctx.services
    tab = _current_tab()
    color_by = gr.Radio(
        list(COLOR_CHOICES),
        value="dataset",
        label="Colour by",
        info="one value per ECG: a label set shows each ECG's most common label, the 10 largest groups by name",
        elem_id="atlas-colour",
    )
    plot = gr.Plot(label="Embedding map (hover for the report; click a point to open it)", elem_id="atlas-plot")
    with gr.Row():
        pick = gr.Textbox(label="Selected record", elem_id="atlas-pick", scale=3)
        open_btn = gr.Button("Open", elem_id="atlas-open", scale=1)
    position = gr.JSON(label="Position of the current ECG", visible=False)
    with gr.Row():
        with gr.Column(scale=3):
            # The figure's title names the ECG; .ecg-paper: the viewer's calipers work on it too.
            selected = gr.Plot(show_label=False, elem_id="atlas-ecg", elem_classes=["ecg-paper"])
        with gr.Column(scale=1):
            # Until a point is clicked the preview is empty: say what fills it rather than leave a blank box.
            selected_details = gr.Markdown(
                "*Click a point on the map: its report shows in this panel, its ECG in the plot beside it, "
                "and it opens in the viewer.*",
                elem_id="atlas-details",
            )
    drawn = gr.State(None)  # (colour, current ECG) of the map on screen: opening the tab again redraws only on change

    def draw(cb: str, key: str):
        return atlas_figure(services, cb, key)

    def draw_on_open(cb: str, key: str, shown):
        wanted = [cb, (key or "").strip()]
        if shown == wanted:
            return gr.skip(), gr.skip()
        return atlas_figure(services, cb, key), wanted

    def move_star(cb: str, key: str, shown):
        # Only a map already drawn follows the current ECG; an undrawn one is drawn when its tab opens.
        if shown is None or not services.ready:
            return gr.skip(), gr.skip()
        return atlas_figure(services, cb, key), [cb, (key or "").strip()]

    color_by.change(draw, [color_by, ctx.ecg_key], plot, api_name="map")
    opened = tab.select if tab is not None else ctx.demo.load
    opened(
        draw_on_open,
        [color_by, ctx.ecg_key, drawn],
        [plot, drawn],
        api_name="map_on_open",
        api_visibility="private",
        show_progress="minimal",
    )
    ctx.ecg_key.change(
        move_star, [color_by, ctx.ecg_key, drawn], [plot, drawn], api_name="map_on_change", api_visibility="private"
    )

    def open_clicked(rid: str):
        # In the page a bad typed id is a warning, not an error: an error would lay a red overlay over the
        # current-ECG box (the output) and block typing in it. The /map_open call below still raises.
        try:
            return open_record(services, rid)
        except gr.Error as exc:
            gr.Warning(exc.message)
            return gr.skip()

    def preview_opened(rid: str):
        rid = openable(services, rid)
        return preview(services, rid) if rid else (None, "")

    open_btn.click(open_clicked, pick, ctx.ecg_key, api_name="map_open_click", api_visibility="private").success(
        preview_opened, pick, [selected, selected_details], api_name="map_preview", api_visibility="private"
    )
    hidden_open = gr.Button("Open", visible=False)
    hidden_open.click(lambda rid: open_record(services, rid), pick, ctx.ecg_key, api_name="map_open")
    gr.Button("Place current ECG", visible=False).click(
        lambda key: place_ecg(services, key), ctx.ecg_key, position, api_name="map_place"
    )
