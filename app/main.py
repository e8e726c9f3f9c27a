"""Build the Gradio Blocks app and launch it."""

from __future__ import annotations

import logging
import os

import gradio as gr

from app.auth import SignIn
from app.formatting import status_markdown
from app.state import AppConfig, Services
from app.views import annotate, api, browse, explain, retrieve, upload, viewer, zeroshot
from app.views import map as map_view
from app.views.common import Context

logger = logging.getLogger(__name__)

TITLE = "ECG–Language Explorer"
CSS = """
#ecg-key textarea, #ecg-key input {font-family: monospace;}
.thumb-table td {vertical-align: middle; padding: 2px 6px;}
.thumb-table svg {display: block;}
.thumb-table td.measured {font-variant-numeric: tabular-nums; font-size: 0.9em; min-width: 11em;}
"""
# Map clicks: plotly's click event writes the clicked record id into the (visible) "selected record" box, whose
# change event opens it. gr.Plot has no select event, so this small page script bridges the two.
MAP_CLICK_JS = """
  const hook = () => {
    document.querySelectorAll('#atlas-plot .js-plotly-plot').forEach((el) => {
      if (el.__ecgHooked || typeof el.on !== 'function') return;
      el.__ecgHooked = true;
      el.on('plotly_click', (d) => {
        const id = d && d.points && d.points[0] && d.points[0].customdata;
        const box = document.querySelector('#atlas-pick textarea, #atlas-pick input');
        if (!id || !box) return;
        box.value = id;
        box.dispatchEvent(new Event('input', {bubbles: true}));
        const btn = document.querySelector('#atlas-open');
        if (btn) setTimeout(() => btn.click(), 50);
      });
    });
  };
  setInterval(hook, 600);
"""
# The page script: the map's click bridge and the viewer's calipers.
JS = "() => {" + MAP_CLICK_JS + viewer.CALIPER_JS + "}"


# (title, tab id, view module) of the tabs whose view builds inside its tab, in the order shown; Annotate follows.
VIEW_TABS = (
    ("Browse", "browse", browse),
    ("Zero-shot", "zeroshot", zeroshot),
    ("Retrieve", "retrieve", retrieve),
    ("Map", "map", map_view),
    ("Upload", "upload", upload),
    ("Explain", "explain", explain),
)


def build_app(config: AppConfig | None = None, services: Services | None = None) -> gr.Blocks:
    """The whole app as a ``gr.Blocks`` (not launched).

    Args:
        config: what to serve; default from the environment (:meth:`AppConfig.from_env`).
        services: an existing :class:`Services` (tests); built from ``config`` when omitted.
    """
    services = services or Services(config or AppConfig.from_env())
    if services.config.build_in_background and services.checkpoint_names:
        services.start()

    # Gradio's cached files (uploads the handler did not get to, e.g. a request that failed before reading) are
    # deleted every 10 minutes once an hour old; the upload handler deletes the files it reads right away.
    # fill_width: the ECG paper spans the window (Gradio otherwise caps the page near 1000 px on a 1440 px screen).
    with gr.Blocks(title=TITLE, delete_cache=(600, 3600), fill_width=True) as demo:
        gr.Markdown(
            f"# {TITLE}\nBrowse 12-lead ECGs with their reports, score them against text prompts, "
            "search reports and ECGs, and see where an ECG falls on the map."
        )
        status = gr.Markdown(status_markdown(services.status()), elem_id="status")
        ecg_key = _current_ecg_box()
        ctx = Context(services=services, ecg_key=ecg_key, demo=demo)
        # The current ECG above the tabs: each tab's results are read against the tracing without switching tabs.
        details_panel = viewer.build(ctx)
        with gr.Tabs():
            view_tabs = []
            for title, tab_id, view in VIEW_TABS:
                with gr.Tab(title, id=tab_id) as tab:
                    view.build(ctx)
                view_tabs.append(tab)
            annotate_tab = _build_annotate(ctx)
        _fold_report_while_annotating(details_panel, annotate_tab, view_tabs)
        api.build(ctx)

        timer = gr.Timer(1.0, active=not services.settled)

        def poll() -> tuple[str, gr.Timer]:
            return status_markdown(services.status()), gr.Timer(active=not services.settled)

        timer.tick(
            poll, outputs=[status, timer], api_name="status_poll", api_visibility="private", show_progress="hidden"
        )
        demo.load(poll, outputs=[status, timer], api_name="status", show_progress="hidden")
    return demo


def _current_ecg_box() -> gr.Textbox:
    """The current-ECG box, and the key every tab follows (returned).

    The tabs listen to the key's change event, and set it to open an ECG. A box that was the key itself would change
    on every keystroke, so a half-typed id showed the viewer's error line and cleared the tabs while typing. The key
    is a hidden textbox instead: what is typed is copied into it on Enter or when the box loses focus, and a key set
    by a tab (a Browse row, a map point, Back) is copied into the box. Both copies run in the page, no round trip.
    """
    with gr.Row():
        typed = gr.Textbox(
            label="Current ECG (record id or upload key; Enter opens it)",
            elem_id="ecg-key",
            scale=3,
            placeholder="select a record in Browse, click the map, upload a file, or type an id and press Enter",
        )
    # "hidden", not False: the component stays in the page, so its value and change event work as a visible one's.
    key = gr.Textbox(visible="hidden", elem_id="ecg-current", label="Current ECG key")
    same = dict(fn=None, js="(value) => value", api_name=False, queue=False, show_progress="hidden")
    typed.submit(inputs=typed, outputs=key, **same)
    typed.blur(inputs=typed, outputs=key, **same)
    key.change(inputs=key, outputs=typed, **same)
    return key


def _build_annotate(ctx: Context) -> gr.Tab:
    """The Annotate tab (built by the annotation module from the shared context)."""
    with gr.Tab("Annotate", id="annotate") as tab:
        annotate.build(ctx)
    return tab


def _fold_report_while_annotating(panel: gr.Accordion, annotate_tab: gr.Tab, other_tabs: list[gr.Tab]) -> None:
    """Fold the viewer's report panel when the Annotate tab opens, and unfold it when another tab opens after that.

    Open, the panel (report, labels and about twenty measurement lines) stood between the tracing and the review
    form: about 700 px a reviewer scrolled past on every record. The form shows the report itself. A panel the user
    folded by hand stays folded on the other tabs (only a fold made here is undone).
    """
    folded_here = gr.State(False)
    quiet = dict(queue=False, show_progress="hidden", api_name=False)

    def fold() -> tuple[gr.Accordion, bool]:
        return gr.Accordion(open=False), True

    def unfold(folded: bool) -> tuple[gr.Accordion, bool]:
        return (gr.Accordion(open=True) if folded else gr.skip()), False

    annotate_tab.select(fold, None, [panel, folded_here], **quiet)
    for tab in other_tabs:
        tab.select(unfold, folded_here, [panel, folded_here], **quiet)


def launch(demo: gr.Blocks, **kwargs) -> None:
    """Serve the app (Spaces conventions: 0.0.0.0 when ``SPACE_ID`` is set, port from ``GRADIO_SERVER_PORT``)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = dict(
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0" if os.environ.get("SPACE_ID") else "127.0.0.1"),
        theme=gr.themes.Soft(primary_hue="red"),
        css=CSS,
        js=JS,
        show_error=True,
        # Refused by Gradio before a handler runs; the readers' sample budget is the real limit (core.data.formats).
        max_file_size=upload.MAX_FILE_SIZE,
    )
    # The account sign-in routes (/account/login, /account/logout) when local accounts are configured (app.auth).
    options["app_kwargs"] = {"routes": SignIn().routes()}
    options.update(kwargs)
    # Gradio recomputes a pandas summary of up to 10,000 past events after every event (for its monitoring page);
    # under load on 2 cores that was a quarter of the server's CPU. Recompute it every 100 events instead.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
    demo.queue(default_concurrency_limit=int(os.environ.get("GRADIO_DEFAULT_CONCURRENCY_LIMIT", "8")))
    calm_idle_queue(demo)
    demo.launch(**options)


# Gradio's queue looks for new jobs every 1 ms while it is free on Linux (and for progress every 10 ms): about 6 % of
# a core with nobody connected, on a Space or a laptop. Every 20 / 50 ms adds at most that to a click's wait.
IDLE_JOB_POLL_S = 0.02
IDLE_PROGRESS_POLL_S = 0.05


def calm_idle_queue(demo: gr.Blocks) -> None:
    """Slow the queue's idle polling (after ``demo.queue()``).

    Raises:
        AttributeError: this Gradio's queue has no such settings (they are internal: a test pins them).
    """
    queue = demo._queue
    for name, seconds in (
        ("sleep_when_free", IDLE_JOB_POLL_S),
        ("progress_update_sleep_when_free", IDLE_PROGRESS_POLL_S),
    ):
        getattr(queue, name)  # fail loudly if a Gradio upgrade renamed it, rather than set a value nothing reads
        setattr(queue, name, seconds)
