"""The viewer: the current ECG on ECG paper, above the tabs, so every tab's results can be read against the tracing.

It follows the current-ECG box (which Browse, Retrieve, the map, uploads and the annotation queue set), draws the
ECG with the chosen paper settings, keeps a per-session Back/Forward history of the ECGs opened, and shows a second
ECG side by side at the same speed and gain. Calipers run in the page (:data:`CALIPER_JS`): the figure's data are
seconds and millivolts, so two clicks give Δt, the rate from Δt and ΔV without a round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import gradio as gr
import plotly.graph_objects as go

from app.formatting import amplitude_caveat, escape_markdown, record_markdown
from app.views.common import USER_FACING, Context, require_key, user_errors, user_message
from core.explorer import OpenedRecord, QueryService
from core.leads import CANONICAL_LEADS
from core.plotting import (
    DEFAULT_WIDTH_PX,
    GAINS_MM_MV,
    LAYOUT_LABELS,
    LAYOUTS,
    RHYTHM_LEAD,
    SPEEDS_MM_S,
    PaperOptions,
    ecg_figure,
)

LAYOUT_CHOICES = [(LAYOUT_LABELS[name], name) for name in LAYOUTS]
SPEED_CHOICES = [(f"{s:g} mm/s", s) for s in SPEEDS_MM_S]
GAIN_CHOICES = [(f"{g:g} mm/mV", g) for g in GAINS_MM_MV]
# The plot width of each of two figures shown side by side (the default height is chosen for it).
HALF_WIDTH_PX = DEFAULT_WIDTH_PX // 2 - 12
# Back/Forward remember this many ECGs per session.
HISTORY_SIZE = 50
# What the viewer says while no ECG is open.
HINT = "Open an ECG: click a row in Browse, a result in Retrieve or a point on the map, upload a file, or type its id."
# The longest stretch drawn: the scored window of an upload, and a full page of a 10 s record.
MAX_SHOWN_S = 10.0


@dataclass(frozen=True)
class History:
    """The ECGs opened in one browser session, oldest first, and which of them is shown (like a browser's history:
    opening a new ECG after going back drops the ones ahead)."""

    keys: tuple[str, ...] = ()
    pos: int = -1

    @property
    def current(self) -> str | None:
        return self.keys[self.pos] if 0 <= self.pos < len(self.keys) else None

    @property
    def can_back(self) -> bool:
        return self.pos > 0

    @property
    def can_forward(self) -> bool:
        return self.pos < len(self.keys) - 1

    def visit(self, key: str) -> History:
        """After opening ``key`` (no change when it is the one shown, e.g. reached by Back)."""
        if key == self.current:
            return self
        keys = (*self.keys[: self.pos + 1], key)[-HISTORY_SIZE:]
        return History(keys, len(keys) - 1)

    def back(self) -> History:
        return replace(self, pos=self.pos - 1) if self.can_back else self

    def forward(self) -> History:
        return replace(self, pos=self.pos + 1) if self.can_forward else self


def paper_options(
    layout: str, speed: float, gain: float, leads: Sequence[str] | None, rhythm_lead: str
) -> PaperOptions:
    """The controls' values as :class:`PaperOptions` (a bad value is a user-facing :class:`PlotOptionsError`)."""
    return PaperOptions(
        layout or "clinical", speed or SPEEDS_MM_S[0], gain or GAINS_MM_MV[1], tuple(leads or ()), rhythm_lead
    )


def record_figure(
    opened: OpenedRecord, options: PaperOptions, *, fiducials: bool = False, width_px: int = DEFAULT_WIDTH_PX
) -> go.Figure:
    """The ECG figure of an opened ECG (its first 10 s; for an upload, the scored window), with the measured
    per-beat fiducial points when ``fiducials``. The one figure call of every view that draws an opened ECG."""
    ecg = opened.ecg
    beats = tuple(getattr(opened.measurements, "beats", ()) or ()) if fiducials else None
    return ecg_figure(
        ecg.signal_mv,
        ecg.fs_hz,
        options=options,
        lead_mask=ecg.lead_mask,
        fiducials=beats,
        title=f"{opened.key} · {ecg.fs_hz:g} Hz · {ecg.duration_s:.1f} s · "
        f"{options.speed_mm_s:g} mm/s · {options.gain_mm_mv:g} mm/mV{amplitude_caveat(ecg)}",
        duration_s=min(MAX_SHOWN_S, ecg.duration_s),
        width_px=width_px,
    )


def open_figure(
    services: QueryService,
    key: str,
    options: PaperOptions,
    *,
    fiducials: bool = False,
    width_px: int = DEFAULT_WIDTH_PX,
    measure: bool = False,
) -> tuple[go.Figure, OpenedRecord]:
    """Open ``key`` and draw it, measured when ``measure`` (for the details) or ``fiducials`` (for the overlay);
    user errors propagate."""
    opened = services.open_record(key, measure=measure or fiducials)
    if fiducials and opened.measure_error:
        gr.Warning(f"The fiducial points could not be measured ({opened.measure_error}).")
    elif fiducials and not getattr(opened.measurements, "beats", None):
        gr.Warning("No per-beat fiducial points were measured on this ECG.")
    return record_figure(opened, options, fiducials=fiducials, width_px=width_px), opened


def figure_for_api(
    services: QueryService,
    key: str,
    layout: str = "clinical",
    speed: float = 25.0,
    gain: float = 10.0,
    leads: Sequence[str] | None = CANONICAL_LEADS,
    rhythm_lead: str = RHYTHM_LEAD,
    fiducials: bool = False,
) -> go.Figure:
    """The figure of ``key`` with the given paper settings, or one short ``gr.Error`` (the ``/ecg_figure`` call)."""
    key = require_key(key)
    with user_errors():
        options = paper_options(layout, speed, gain, leads, rhythm_lead)
        return open_figure(services, key, options, fiducials=fiducials)[0]


def _nav(history: History) -> tuple[gr.Button, gr.Button]:
    return gr.Button(interactive=history.can_back), gr.Button(interactive=history.can_forward)


def build(ctx: Context) -> gr.Accordion:
    """The viewer (placed above the tabs by :func:`app.main.build_app`); returns its report panel, which the app
    folds while the Annotate tab is open."""
    services = ctx.services
    history = gr.State(History())
    with gr.Accordion("ECG viewer", open=True, elem_id="viewer"):
        with gr.Row(equal_height=True):
            with gr.Column(scale=0, min_width=110):
                back_btn = gr.Button("◀ Back", interactive=False, size="sm", elem_id="viewer-back")
                fwd_btn = gr.Button("Forward ▶", interactive=False, size="sm", elem_id="viewer-forward")
            layout = gr.Radio(LAYOUT_CHOICES, value="clinical", label="Layout", scale=3, elem_id="viewer-layout")
            speed = gr.Radio(SPEED_CHOICES, value=25.0, label="Paper speed", scale=2, elem_id="viewer-speed")
            gain = gr.Radio(GAIN_CHOICES, value=10.0, label="Gain", scale=3, elem_id="viewer-gain")
            rhythm = gr.Dropdown(list(CANONICAL_LEADS), value=RHYTHM_LEAD, label="Rhythm strip", scale=1, min_width=110)
            compare_key = gr.Dropdown(
                [],
                value=None,
                allow_custom_value=True,
                label="Compare with (record id)",
                info="side by side; the nearest ECGs are listed",
                scale=2,
                elem_id="viewer-compare-key",
            )
        with gr.Row(equal_height=True):
            leads = gr.CheckboxGroup(
                list(CANONICAL_LEADS), value=list(CANONICAL_LEADS), label="Leads drawn", scale=5, elem_id="viewer-leads"
            )
            fiducials = gr.Checkbox(False, label="Measured P/QRS/T points", scale=1, elem_id="viewer-fiducials")
            # Read by the page script only (CALIPER_JS): calipers never reach the server.
            gr.Checkbox(
                True,
                label="Calipers",
                info="click two points: Δt, rate, ΔV; untick to clear",
                scale=1,
                elem_id="viewer-calipers",
            )
            gr.Checkbox(False, label="Marching calipers", scale=1, elem_id="viewer-marching")
        message = gr.Markdown(HINT, elem_id="viewer-message")
        with gr.Row():
            with gr.Column(scale=1):
                plot = gr.Plot(show_label=False, elem_id="viewer-plot", elem_classes=["ecg-paper"])
            with gr.Column(scale=1, visible=False) as compare_col:
                compare_plot = gr.Plot(show_label=False, elem_id="viewer-compare-plot", elem_classes=["ecg-paper"])
        with gr.Accordion("Report, labels and measurements", open=True, elem_id="viewer-details-panel") as panel:
            details = gr.Markdown(elem_id="viewer-details")

    controls = [layout, speed, gain, leads, rhythm, fiducials]

    def _width(other: str | None) -> int:
        return HALF_WIDTH_PX if (other or "").strip() else DEFAULT_WIDTH_PX

    def show(key: str, hist: History, other: str | None, *values):
        """Open the current ECG: figure, report and history; a key that opens nothing clears them, with one
        message (a line in the viewer, not a toast: every tab that follows the key clears itself quietly)."""
        key = (key or "").strip()
        if not key:
            return None, "", HINT, hist, *_nav(hist)
        with user_errors():  # a bug is logged and shown as a generic failure
            try:
                options = paper_options(*values[:5])
                fig, opened = open_figure(services, key, options, fiducials=values[5], width_px=_width(other))
            except USER_FACING as exc:
                return None, "", f"⚠️ {escape_markdown(user_message(exc))}", hist, *_nav(hist)
        hist = hist.visit(key)
        return fig, record_markdown(opened), "", hist, *_nav(hist)

    def measured_details(key: str):
        """The details again with the automated measurements, once measured (the first measurement of an ECG can
        take longer than drawing it, so the tracing does not wait for it)."""
        key = (key or "").strip()
        with user_errors():
            try:
                return record_markdown(services.open_record(key, measure=True)) if key else gr.skip()
            except USER_FACING:
                return gr.skip()  # show() has already said why and cleared the details

    def redraw(key: str, other: str | None, *values):
        """The current ECG and the compared one again with new paper settings (a current key that opens nothing
        has its message in the viewer already; a compared one gets a warning)."""
        return draw(key, other, values, warn=False), draw(other, key, values, warn=True)

    def draw(key: str | None, other: str | None, values: Sequence, *, warn: bool):
        key = (key or "").strip()
        if not key:
            return None
        with user_errors():
            try:
                options = paper_options(*values[:5])
                return open_figure(services, key, options, fiducials=values[5], width_px=_width(other))[0]
            except USER_FACING as exc:
                if warn:
                    gr.Warning(user_message(exc))
                return None

    def compare_column(other: str | None):
        """Show the second ECG's column (or hide it, when emptied) before drawing: plotly fits a figure to the
        width its box has when drawn, so the box must have its new width first."""
        return gr.Column(visible=bool((other or "").strip()))

    def neighbours(key: str) -> gr.Dropdown:
        """The nearest indexed ECGs of the current one, as choices (typing any record id works too)."""
        key = (key or "").strip()
        if not key:
            return gr.Dropdown()
        with user_errors():
            try:
                hits = services.nearest_ecgs(key, 8, thumbnails=False)
            except USER_FACING:
                return gr.Dropdown()  # no neighbours to offer; any record id can still be typed
        return gr.Dropdown(choices=[h.record.record_id for h in hits if h.record.record_id != key])

    def go_back(hist: History):
        hist = hist.back()
        return hist, hist.current or gr.skip()

    def go_forward(hist: History):
        hist = hist.forward()
        return hist, hist.current or gr.skip()

    nav = [back_btn, fwd_btn]
    # Page events of this view: named, but private (scripts use /ecg_figure).
    private = dict(api_visibility="private")
    ctx.ecg_key.change(
        show,
        [ctx.ecg_key, history, compare_key, *controls],
        [plot, details, message, history, *nav],
        api_name="viewer_show",
        show_progress="minimal",
        trigger_mode="always_last",
        **private,
    ).then(measured_details, ctx.ecg_key, details, api_name="viewer_details", show_progress="hidden", **private)
    for i, control in enumerate(controls):
        control.change(
            redraw,
            [ctx.ecg_key, compare_key, *controls],
            [plot, compare_plot],
            api_name=f"viewer_redraw_{i}",
            show_progress="minimal",
            trigger_mode="always_last",
            **private,
        )
    compare_key.change(
        compare_column,
        compare_key,
        compare_col,
        api_name="viewer_compare_column",
        queue=False,
        trigger_mode="always_last",
        **private,
    ).then(redraw, [ctx.ecg_key, compare_key, *controls], [plot, compare_plot], api_name="viewer_compare", **private)
    compare_key.focus(neighbours, ctx.ecg_key, compare_key, api_name="viewer_neighbours", queue=False, **private)
    back_btn.click(go_back, history, [history, ctx.ecg_key], api_name="viewer_back", queue=False, **private)
    fwd_btn.click(go_forward, history, [history, ctx.ecg_key], api_name="viewer_forward", queue=False, **private)

    # The figure for a key and paper settings, for scripts; a bad key or setting is one short error.
    def api_figure(key, lay, spd, gn, lds, rh, fid):
        return figure_for_api(services, key, lay, spd, gn, lds, rh, fid)

    gr.Button(visible=False).click(
        api_figure, [ctx.ecg_key, *controls], plot, api_name="ecg_figure", show_progress="hidden"
    )
    return panel


# Client-side calipers on every ``.ecg-paper`` plot. A click (a press and release without a drag, so panning still
# works) places a caliper point in data coordinates: seconds and millivolts, so Δt and ΔV need no unit conversion.
# Two points show Δt (ms), the rate 60/Δt (bpm) and ΔV (mV) on the figure; marching calipers repeat Δt across the
# strip. Plotly's own click event needs hover data (off here), so this reads the mouse position through the axes.
CALIPER_JS = """
  const caliperOn = () => {
    const box = document.querySelector('#viewer-calipers input[type=checkbox]');
    return !box || box.checked;
  };
  const marchingOn = () => {
    const box = document.querySelector('#viewer-marching input[type=checkbox]');
    return !!(box && box.checked);
  };
  const isCaliper = (item) => (item.name || '').startsWith('caliper');
  // Orange: apart from the trace (black), the grid (red) and the fiducial overlay (green, blue, purple).
  const CALIPER = '#d35400';
  const drawCalipers = (gd) => {
    const pts = gd.__caliperPoints || [];
    const keepShapes = (gd.layout.shapes || []).filter((s) => !isCaliper(s));
    const keepNotes = (gd.layout.annotations || []).filter((a) => !isCaliper(a));
    const line = {color: CALIPER, width: 1.5};
    const shapes = pts.map((p, i) => ({
      name: 'caliper-t' + i, type: 'line', xref: 'x', yref: 'paper', x0: p[0], x1: p[0], y0: 0, y1: 1, line,
    }));
    const notes = [];
    if (pts.length === 2) {
      const [a, b] = pts;
      const dt = Math.abs(b[0] - a[0]);
      const dv = b[1] - a[1];
      shapes.push({name: 'caliper-v0', type: 'line', x0: a[0], x1: b[0], y0: a[1], y1: a[1],
                   line: {color: CALIPER, width: 1, dash: 'dot'}});
      shapes.push({name: 'caliper-v1', type: 'line', x0: b[0], x1: b[0], y0: a[1], y1: b[1],
                   line: {color: CALIPER, width: 2.5}});
      const rate = dt > 0 ? (60 / dt).toFixed(1) + ' bpm' : '–';
      const sign = dv > 0 ? '+' : (dv < 0 ? '−' : '');
      const text = 'Δt ' + (dt * 1000).toFixed(0) + ' ms · ' + rate + ' · ΔV ' + sign + Math.abs(dv).toFixed(2) + ' mV';
      gd.dataset.caliper = JSON.stringify({dt_ms: dt * 1000, bpm: dt > 0 ? 60 / dt : null, dv_mv: dv});
      notes.push({name: 'caliper-readout', text, x: (a[0] + b[0]) / 2, y: Math.max(a[1], b[1]), yshift: 14,
                  showarrow: false, bgcolor: 'rgba(255,255,255,0.92)', bordercolor: CALIPER, borderpad: 3,
                  font: {size: 13, color: '#6e2c00'}});
      if (marchingOn() && dt > 0) {
        const [lo, hi] = gd._fullLayout.xaxis.range;
        const step = b[0] > a[0] ? dt : -dt;
        for (let k = -200; k <= 200; k++) {
          const x = a[0] + k * step;
          if (k === 0 || k === 1 || x < lo || x > hi) continue;
          shapes.push({name: 'caliper-m' + k, type: 'line', xref: 'x', yref: 'paper', x0: x, x1: x, y0: 0, y1: 1,
                       line: {color: CALIPER, width: 1, dash: 'longdash'}, opacity: 0.7});
        }
      }
    } else {
      delete gd.dataset.caliper;
    }
    window.Plotly.relayout(gd, {shapes: keepShapes.concat(shapes), annotations: keepNotes.concat(notes)});
  };
  const caliperClick = (gd, e) => {
    const fl = gd._fullLayout;
    const svg = gd.querySelector('.main-svg');
    if (!fl || !svg || !fl.xaxis || !fl.yaxis) return;
    const r = svg.getBoundingClientRect();
    const px = e.clientX - r.left - fl.xaxis._offset;
    const py = e.clientY - r.top - fl.yaxis._offset;
    if (px < 0 || py < 0 || px > fl.xaxis._length || py > fl.yaxis._length) return;
    const pt = [fl.xaxis.p2d(px), fl.yaxis.p2d(py)];
    // A figure drawn since the last click (another ECG or new settings) carries no caliper shapes: start afresh.
    const stale = !(gd.layout.shapes || []).some(isCaliper);
    const pts = stale ? [] : (gd.__caliperPoints || []);
    gd.__caliperPoints = pts.length >= 2 ? [pt] : pts.concat([pt]);
    drawCalipers(gd);
  };
  // Delegated from the document (capture phase, so plotly's drag handler cannot swallow the press): a plot is
  // measurable from the moment it is drawn, with no per-plot hook to wait for. A drag pans instead of measuring.
  let pressed = null;
  document.addEventListener('mousedown', (e) => {
    const gd = e.button === 0 && !e.target.closest('.modebar') ? e.target.closest('.ecg-paper .js-plotly-plot') : null;
    pressed = gd ? {gd, x: e.clientX, y: e.clientY} : null;
  }, true);
  window.addEventListener('mouseup', (e) => {
    const start = pressed;
    pressed = null;
    if (!start || !caliperOn() || Math.hypot(e.clientX - start.x, e.clientY - start.y) > 4) return;
    caliperClick(start.gd, e);
  }, true);
  const hookCalipers = () => {
    document.querySelectorAll('.ecg-paper .js-plotly-plot').forEach((gd) => {
      if (gd.__caliperHooked || !gd.on) return;
      gd.__caliperHooked = true;
      // A new figure drops the previous reading.
      gd.on('plotly_afterplot', () => {
        if (gd.__caliperPoints && !(gd.layout.shapes || []).some(isCaliper)) {
          gd.__caliperPoints = [];
          delete gd.dataset.caliper;
        }
      });
    });
    document.querySelectorAll('#viewer-calipers input, #viewer-marching input').forEach((box) => {
      if (box.__caliperHooked) return;
      box.__caliperHooked = true;
      box.addEventListener('change', () => {
        document.querySelectorAll('.ecg-paper .js-plotly-plot').forEach((gd) => {
          if (!box.closest('#viewer-marching')) gd.__caliperPoints = [];
          if (gd._fullLayout) drawCalipers(gd);
        });
      });
    });
  };
  setInterval(hookCalipers, 600);
"""
