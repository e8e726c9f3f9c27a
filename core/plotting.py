"""Figures for ECGs, zero-shot scores and the embedding map: pure functions returning plotly Figures (or SVG text).

The 12-lead figure is ECG paper. Its data are in seconds (x, time from the record start: a 3x4 column that shows
2.5-5.0 s sits at x = 2.5-5.0) and millivolts (y, each panel's baseline at its own offset), so a caliper's Δt and
ΔV are exact at any setting. The grid and the aspect ratio are in millimetres of paper for the chosen speed (25 or
50 mm/s) and gain (5, 10 or 20 mm/mV): 1 mm minor and 5 mm major lines, and 1 mm of time as long on screen as 1 mm
of voltage, so the figure reads like a paper ECG.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import plotly.graph_objects as go

from core.errors import UserFacingError
from core.leads import CANONICAL_LEADS

# Standard paper: 25 mm/s and 10 mm/mV (the defaults); the figure offers these speeds and gains.
MM_PER_S = 25.0
MM_PER_MV = 10.0
SPEEDS_MM_S = (25.0, 50.0)
GAINS_MM_MV = (5.0, 10.0, 20.0)
# One page of paper is 250 mm wide: 10 s at 25 mm/s, 5 s at 50 mm/s. A 3x4 or 6x2 page splits it into columns, as
# an ECG machine prints it; longer strips continue past the page edge (pan to see them).
PAGE_MM = 250.0
PAPER_BG = "#fff7f8"
MINOR_GRID = "#f5c4cd"
MAJOR_GRID = "#e67a8e"
TRACE_COLOR = "#111111"
# Plotly's default template adds ~10 kB of JSON to every figure; these figures style themselves.
TEMPLATE = "none"
MAX_PLOT_FS_HZ = 500.0

# Clinical 3x4 layout: four columns, each holding three leads, plus a rhythm strip (lead II unless chosen).
CLINICAL_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("I", "II", "III"),
    ("aVR", "aVL", "aVF"),
    ("V1", "V2", "V3"),
    ("V4", "V5", "V6"),
)
SIX_BY_TWO_COLUMNS: tuple[tuple[str, ...], ...] = (
    ("I", "II", "III", "aVR", "aVL", "aVF"),
    ("V1", "V2", "V3", "V4", "V5", "V6"),
)
RHYTHM_LEAD = "II"
LAYOUTS = ("clinical", "6x2", "stacked")
LAYOUT_LABELS = {"clinical": "3×4 + rhythm strip", "6x2": "6×2", "stacked": "12 stacked"}
_LAYOUT_ALIASES = {"3x4": "clinical", "12x1": "stacked"}
_GRID_COLUMNS = {"clinical": CLINICAL_COLUMNS, "6x2": SIX_BY_TWO_COLUMNS}

# Global fiducial points the overlay draws: (beat field in seconds, legend name, colour, dash). Onsets solid, offsets
# dotted; one colour per wave so a reader sees at a glance which boundary a line claims.
FIDUCIALS: tuple[tuple[str, str, str, str], ...] = (
    ("p_on_s", "P onset", "#1e8449", "solid"),
    ("p_off_s", "P offset", "#1e8449", "dot"),
    ("qrs_on_s", "QRS onset", "#1f4fd1", "solid"),
    ("qrs_off_s", "QRS offset", "#1f4fd1", "dot"),
    ("t_off_s", "T offset", "#8e44ad", "dot"),
)
EXCLUDED_COLOR = "#a0a0a0"
# Premature beats (``premature`` of a beat, core.measure.ectopy): the letter Holter reports use, above the QRS.
PREMATURE_MARKS: tuple[tuple[str, str, str, str], ...] = (
    ("ventricular", "V", "premature ventricular beat (V)", "#c0392b"),
    ("supraventricular", "S", "premature supraventricular beat (S)", "#1f4fd1"),
)
# Pacemaker spikes (``pace_s`` of a beat, core.measure.pacing): a small mark above the spike, as machines print them.
PACING_MARK = ("pacemaker spike", "#d35400")
FIDUCIAL_LEGEND = "Automated fiducial points (unconfirmed)"

# Rows are sized by the signal they hold (no trace crosses into its neighbour's row), in whole 5 mm squares so
# every baseline sits on a major grid line, with at least this much paper above and below the baseline.
_MIN_HALF_ROW_MM = {"clinical": 15.0, "6x2": 15.0, "stacked": 10.0}
_LABEL_MM = 5.0  # room above a row's highest point for its lead label
_BOTTOM_PAD_MM = 2.0
# The farthest a trace is drawn from its baseline: beyond it the trace is clipped, as an ECG machine does, and the
# panel's label says so (a 6 mV LBBB S wave fits at 10 mm/mV; at 20 mm/mV it is clipped and labelled).
CLIP_MM = 60.0
# Room left of t = 0 for the calibration pulse (0.2 s wide at the chosen speed).
_LEFT_PAD_MM = 6.0
CALIBRATION_S = 0.2
# The page width a default figure height is chosen for (the viewer's plot at a 1440 px window).
DEFAULT_WIDTH_PX = 1360
_MARGIN = dict(l=4, r=4, b=6)
_TITLE_MARGIN_PX = 34


class PlotOptionsError(UserFacingError, ValueError):
    """A paper setting the figure does not offer (unknown layout or lead, a speed or gain off the list)."""


def _canonical_lead(name: str) -> str:
    by_lower = {n.lower(): n for n in CANONICAL_LEADS}
    lead = by_lower.get(str(name).strip().lower())
    if lead is None:
        raise PlotOptionsError(f"unknown lead {name!r}; use one of {', '.join(CANONICAL_LEADS)}")
    return lead


@dataclass(frozen=True)
class PaperOptions:
    """How an ECG is laid out on paper.

    Attributes:
        layout: ``"clinical"`` (3x4 + rhythm strip; ``"3x4"`` is accepted), ``"6x2"`` or ``"stacked"`` (one row per
            lead).
        speed_mm_s: paper speed, one of :data:`SPEEDS_MM_S`.
        gain_mm_mv: gain, one of :data:`GAINS_MM_MV`; the calibration pulse (1 mV) is this many mm tall.
        leads: the leads drawn (any order or case, or one comma-separated string; kept in canonical order). The
            stacked layout has one row per lead; the grid layouts keep every panel and label the others "hidden".
        rhythm_lead: the 3x4 layout's rhythm strip.
    """

    layout: str = "clinical"
    speed_mm_s: float = MM_PER_S
    gain_mm_mv: float = MM_PER_MV
    leads: tuple[str, ...] = CANONICAL_LEADS
    rhythm_lead: str = RHYTHM_LEAD

    def __post_init__(self) -> None:
        layout = _LAYOUT_ALIASES.get(str(self.layout).strip().lower(), str(self.layout).strip().lower())
        if layout not in LAYOUTS:
            raise PlotOptionsError(f"unknown layout {self.layout!r}; use one of {', '.join(LAYOUTS)}")
        speed, gain = _one_of(self.speed_mm_s, SPEEDS_MM_S, "mm/s"), _one_of(self.gain_mm_mv, GAINS_MM_MV, "mm/mV")
        # "II, V1" (a script's string) or ["II", "V1"]; a string is never read letter by letter.
        names = self.leads.split(",") if isinstance(self.leads, str) else self.leads
        chosen = {_canonical_lead(n) for n in names if str(n).strip()}
        if not chosen:
            raise PlotOptionsError("choose at least one lead to draw")
        object.__setattr__(self, "layout", layout)
        object.__setattr__(self, "speed_mm_s", speed)
        object.__setattr__(self, "gain_mm_mv", gain)
        object.__setattr__(self, "leads", tuple(n for n in CANONICAL_LEADS if n in chosen))
        object.__setattr__(self, "rhythm_lead", _canonical_lead(self.rhythm_lead))


def _one_of(value: Any, allowed: Sequence[float], unit: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if number not in allowed:
        raise PlotOptionsError(f"{value!r} {unit} is not offered; use one of {', '.join(f'{a:g}' for a in allowed)}")
    return number


class Panel(NamedTuple):
    """One drawn strip: lead ``lead`` (canonical index) from ``t0_s`` to ``t1_s``, at x = time; y in mV of paper.

    ``baseline``, ``bottom`` and ``top`` are the panel's zero line and its row's edges; ``drawn`` is False for a
    missing or hidden lead (labelled only); ``clipped`` is True when part of the trace lies beyond :data:`CLIP_MM`.
    """

    lead: int
    t0_s: float
    t1_s: float
    baseline: float
    bottom: float
    top: float
    drawn: bool = True
    clipped: bool = False


def _display_signal(signal_mv: np.ndarray, fs_hz: float) -> tuple[np.ndarray, float]:
    """Baseline-centred copy (per lead median removed), decimated to at most 500 Hz for drawing."""
    x = np.nan_to_num(np.asarray(signal_mv, dtype=np.float64))
    if fs_hz > MAX_PLOT_FS_HZ:
        step = int(np.ceil(fs_hz / MAX_PLOT_FS_HZ))
        x = x[:, ::step]
        fs_hz = fs_hz / step
    return x - np.median(x, axis=1, keepdims=True), fs_hz


def _row_pieces(options: PaperOptions, duration_s: float) -> list[list[tuple[int, float, float]]]:
    """``(lead index, t0 s, t1 s)`` of the panels of each row, top row first."""
    index = {name: i for i, name in enumerate(CANONICAL_LEADS)}
    if options.layout == "stacked":
        return [[(index[name], 0.0, duration_s)] for name in options.leads]
    columns = _GRID_COLUMNS[options.layout]
    col_s = min(PAGE_MM / options.speed_mm_s, duration_s) / len(columns)
    rows = [
        [(index[column[r]], c * col_s, (c + 1) * col_s) for c, column in enumerate(columns)]
        for r in range(len(columns[0]))
    ]
    if options.layout == "clinical":
        rows.append([(index[options.rhythm_lead], 0.0, duration_s)])
    return rows


def _ceil5(mm: float) -> float:
    return 5.0 * math.ceil(mm / 5.0 - 1e-9)


def _panels(x: np.ndarray, fs: float, mask: np.ndarray, options: PaperOptions, duration_s: float) -> list[Panel]:
    """Every panel with its row placed: each row is as tall as its highest and deepest deflection need."""
    gain = options.gain_mm_mv
    selected = {CANONICAL_LEADS.index(n) for n in options.leads}
    half = _MIN_HALF_ROW_MM[options.layout]
    placed: list[tuple[list, float, float]] = []
    rows = _row_pieces(options, duration_s)
    for r, pieces in enumerate(rows):
        # The rhythm strip shows the lead chosen for it, selected or not.
        strip = options.layout == "clinical" and r == len(rows) - 1
        up = down = 0.0
        extents = []
        for lead, t0, t1 in pieces:
            seg = x[lead, int(round(t0 * fs)) : int(round(t1 * fs))]
            hi_mm, lo_mm = (float(seg.max()) * gain, float(-seg.min()) * gain) if seg.size else (0.0, 0.0)
            drawn = bool(mask[lead]) and (lead in selected or strip) and seg.size > 0
            extents.append((drawn, max(hi_mm, lo_mm) > CLIP_MM))
            if drawn:
                up, down = max(up, hi_mm), max(down, lo_mm)
        above = max(_ceil5(min(up, CLIP_MM) + _LABEL_MM), half)
        below = max(_ceil5(min(down, CLIP_MM) + _BOTTOM_PAD_MM), half)
        placed.append((list(zip(pieces, extents, strict=True)), above, below))
    top = sum(above + below for _, above, below in placed)
    panels = []
    for row, above, below in placed:
        baseline, bottom = top - above, top - above - below
        for (lead, t0, t1), (drawn, clipped) in row:
            panels.append(Panel(lead, t0, t1, baseline / gain, bottom / gain, top / gain, drawn, drawn and clipped))
        top = bottom
    return panels


def _panel_label(panel: Panel, mask: np.ndarray, options: PaperOptions) -> str:
    """The lead name, with why it is not drawn (missing, hidden) or not drawn in full (clipped)."""
    name = CANONICAL_LEADS[panel.lead]
    if not mask[panel.lead]:
        return f"{name} (missing)"
    if not panel.drawn:
        return f"{name} (hidden)"
    if panel.clipped:
        return f"{name} (clipped beyond ±{CLIP_MM / options.gain_mm_mv:g} mV)"
    return name


def _axis(dtick: float, minor_dtick: float, value_range: list[float]) -> dict:
    return {
        "range": value_range,
        "showticklabels": False,
        "ticks": "",
        "zeroline": False,
        "showgrid": True,
        "gridcolor": MAJOR_GRID,
        "gridwidth": 1,
        "dtick": dtick,
        "tick0": 0,
        "minor": {"dtick": minor_dtick, "showgrid": True, "gridcolor": MINOR_GRID, "gridwidth": 0.6},
        # When the page is wider or taller than the figure's paper, show more paper rather than blank margins.
        "constrain": "range",
    }


def _calibration_trace(options: PaperOptions, baselines: Iterable[float]) -> dict:
    """A 1 mV x 0.2 s pulse left of each row's start: as tall as the gain, as wide as the speed makes 0.2 s."""
    mm_s = 1.0 / options.speed_mm_s
    start = -(_LEFT_PAD_MM - 2.0) * mm_s - CALIBRATION_S
    xs: list[float | None] = []
    ys: list[float | None] = []
    for y0 in baselines:
        rise, fall = start + mm_s, start + mm_s + CALIBRATION_S
        xs += [start, rise, rise, fall, fall, fall + mm_s, None]
        ys += [y0, y0, y0 + 1.0, y0 + 1.0, y0, y0, None]
    return {
        "type": "scatter",
        "mode": "lines",
        "x": [None if v is None else round(v, 5) for v in xs],
        "y": [None if v is None else round(v, 5) for v in ys],
        "line": {"color": TRACE_COLOR, "width": 1.2},
        "hoverinfo": "skip",
        "showlegend": False,
        "name": "calibration 1 mV",
    }


def ecg_figure(
    signal_mv: np.ndarray,
    fs_hz: float,
    *,
    options: PaperOptions | None = None,
    lead_mask: np.ndarray | None = None,
    layout: str | None = None,
    title: str | None = None,
    duration_s: float = 10.0,
    saliency: np.ndarray | None = None,
    saliency_edges_s: np.ndarray | None = None,
    fiducials: Iterable[Any] | None = None,
    height_px: int | None = None,
    width_px: int = DEFAULT_WIDTH_PX,
) -> go.Figure:
    """A 12-lead ECG on ECG paper.

    Args:
        signal_mv: (12, samples) in canonical lead order, millivolts.
        fs_hz: sampling rate.
        options: layout, speed, gain, leads and rhythm lead (default: 3x4 at 25 mm/s and 10 mm/mV, all leads).
        lead_mask: (12,) True where the lead was recorded; missing leads are labelled, not drawn.
        layout: shorthand that overrides ``options.layout`` (``"clinical"``, ``"6x2"`` or ``"stacked"``).
        title: text above the plot.
        duration_s: seconds drawn (the first ``duration_s``); a page shows up to 250 mm of it.
        saliency: optional (12, S) signed relevance per lead and time segment, drawn as red (raises the score)
            and blue (lowers it) boxes behind the trace.
        saliency_edges_s: (S + 1,) segment edges in seconds for ``saliency``.
        fiducials: optional per-beat global fiducial points (``Measurements.beats``, or dicts with the same keys):
            ``p_on_s, p_off_s, qrs_on_s, qrs_off_s, t_off_s`` in seconds from the record start (None: not found)
            and ``used`` (False: excluded from the medians, drawn grey). Drawn as thin vertical lines on every
            drawn lead panel at their time, with a legend.
        height_px: figure height; by default the height at which a ``width_px`` wide plot shows the paper at 1:1.
        width_px: the plot width the default height is chosen for.

    Returns:
        A plotly Figure: x in seconds, y in millivolts of paper (see :class:`Panel`), the grid and aspect ratio in
        millimetres; ``layout.meta["ecg_paper"]`` holds the speed, gain and panels for client-side calipers.
    """
    options = options or PaperOptions()
    if layout is not None:
        options = PaperOptions(layout, options.speed_mm_s, options.gain_mm_mv, options.leads, options.rhythm_lead)
    signal = np.asarray(signal_mv)
    if signal.ndim != 2 or signal.shape[0] != len(CANONICAL_LEADS):
        raise ValueError(f"expected a (12, samples) signal, got shape {signal.shape}")
    mask = np.ones(len(CANONICAL_LEADS), bool) if lead_mask is None else np.asarray(lead_mask, bool)
    x, fs = _display_signal(signal, fs_hz)
    panels = _panels(x, fs, mask, options, duration_s)
    speed, gain = options.speed_mm_s, options.gain_mm_mv
    left_s = (_LEFT_PAD_MM / speed) + CALIBRATION_S
    right_s = min(PAGE_MM / speed, duration_s)
    height_mv = panels[0].top if panels else 0.0

    data: list[dict] = []
    annotations: list[dict] = []
    for p in panels:
        annotations.append(
            {
                "x": round(p.t0_s + 1.0 / speed, 5),
                "y": round(p.top - 0.5 / gain, 5),
                "text": _panel_label(p, mask, options),
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"size": 12, "color": "#333"},
            }
        )
        i0, i1 = int(round(p.t0_s * fs)), min(int(round(p.t1_s * fs)), x.shape[1])
        if not p.drawn or i1 <= i0:
            continue
        limit = CLIP_MM / gain
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x0": round(i0 / fs, 6),
                "dx": 1.0 / fs,
                "y": (p.baseline + np.clip(x[p.lead, i0:i1], -limit, limit)).astype(np.float32),
                "line": {"color": TRACE_COLOR, "width": 1},
                "hoverinfo": "skip",
                "showlegend": False,
                "name": CANONICAL_LEADS[p.lead],
            }
        )
    data.append(_calibration_trace(options, sorted({p.baseline for p in panels})))
    shapes = _column_separators(panels, options)
    if saliency is not None:
        shapes = _saliency_shapes(np.asarray(saliency, float), saliency_edges_s, panels, gain) + shapes
    legend_px = 0
    if fiducials is not None:
        traces = fiducial_traces(fiducials, [p for p in panels if p.drawn])
        data += [t.to_plotly_json() for t in traces]
        legend_px = 56 if traces else 0

    top_px = _TITLE_MARGIN_PX if title else _MARGIN["b"]
    plot_w = width_px - _MARGIN["l"] - _MARGIN["r"]
    paper_h = plot_w * height_mv * gain / ((right_s + left_s) * speed)
    spec = {
        "data": data,
        "layout": {
            "xaxis": {**_axis(5.0 / speed, 1.0 / speed, [-left_s, right_s]), "constraintoward": "left"},
            "yaxis": {
                **_axis(5.0 / gain, 1.0 / gain, [0.0, height_mv]),
                "scaleanchor": "x",
                # px per mV over px per s: 1 mm of voltage as long as 1 mm of time.
                "scaleratio": gain / speed,
                "constraintoward": "top",
            },
            "annotations": annotations,
            "shapes": shapes,
            "plot_bgcolor": PAPER_BG,
            "paper_bgcolor": "white",
            "margin": {**_MARGIN, "t": top_px, "b": _MARGIN["b"] + legend_px},
            "height": int(height_px or round(paper_h + top_px + _MARGIN["b"] + legend_px)),
            "showlegend": bool(legend_px),
            "title": {"text": title, "x": 0.005, "y": 0.995, "yanchor": "top", "font": {"size": 14}} if title else None,
            "dragmode": "pan",
            "hovermode": False,
            "meta": {
                "ecg_paper": {
                    "layout": options.layout,
                    "speed_mm_s": speed,
                    "gain_mm_mv": gain,
                    "panels": [
                        [CANONICAL_LEADS[p.lead], p.t0_s, p.t1_s, round(p.baseline, 5), p.drawn, p.clipped]
                        for p in panels
                    ],
                }
            },
        },
    }
    if legend_px:
        spec["layout"]["legend"] = {
            "title": {"text": FIDUCIAL_LEGEND},
            "orientation": "h",
            "x": 0,
            "y": 0,
            "yanchor": "top",
            "font": {"size": 11},
        }
    return _figure(spec)


def _column_separators(panels: Sequence[Panel], options: PaperOptions) -> list[dict]:
    """Short ticks where one column's leads end and the next begin, as printed ECGs have."""
    if options.layout not in _GRID_COLUMNS:
        return []
    half = 4.0 / options.gain_mm_mv
    return [
        {
            "type": "line",
            "x0": p.t0_s,
            "x1": p.t0_s,
            "y0": p.baseline - half,
            "y1": p.baseline + half,
            "line": {"color": TRACE_COLOR, "width": 1},
        }
        for p in panels
        if p.t0_s > 0 and p.t1_s - p.t0_s < PAGE_MM / options.speed_mm_s - 1e-9
    ]


def beat_field(beat: Any, name: str, default: Any = None) -> Any:
    """A field of a beat given as a mapping or as an object with attributes."""
    return beat.get(name, default) if isinstance(beat, Mapping) else getattr(beat, name, default)


def fiducial_traces(beats: Iterable[Any], panels: Sequence[Panel]) -> list[go.Scatter]:
    """Vertical-line traces marking each beat's fiducial points on every drawn panel.

    Args:
        beats: per-beat fiducials (see :func:`ecg_figure`).
        panels: the drawn panels: a point at ``t`` s is drawn at x = ``t`` on every panel with ``t0 <= t < t1``.

    Returns:
        One trace per fiducial kind over the beats used in the medians, plus one grey trace for the excluded
        beats, plus one text trace per kind of premature beat (its letter above the QRS) and one marking pacemaker
        spikes; kinds with no point are left out. Each line is a ``[x, x, None]`` triple in the trace's data and
        spans the middle 80 % of its row.
    """
    beats = list(beats)
    used: dict[str, tuple[list, list]] = {key: ([], []) for key, *_ in FIDUCIALS}
    excluded: tuple[list, list] = ([], [])
    for beat in beats:
        xs, ys = excluded if beat_field(beat, "used", True) is False else (None, None)
        for key, *_ in FIDUCIALS:
            t = beat_field(beat, key)
            if t is None or not np.isfinite(t):
                continue
            tx, ty = (xs, ys) if xs is not None else used[key]
            for p in panels:
                if p.t0_s <= t < p.t1_s:
                    inset = 0.1 * (p.top - p.bottom)
                    x = round(float(t), 4)
                    tx += [x, x, None]
                    ty += [round(p.bottom + inset, 5), round(p.top - inset, 5), None]
    traces = [
        go.Scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=name,
            line=dict(color=color, width=1, dash=dash),
            hoverinfo="skip",
            showlegend=True,
            legendgroup=key,
        )
        for key, name, color, dash in FIDUCIALS
        for xs, ys in [used[key]]
        if xs
    ]
    if excluded[0]:
        traces.append(
            go.Scatter(
                x=excluded[0],
                y=excluded[1],
                mode="lines",
                name="excluded beat (not in medians)",
                line=dict(color=EXCLUDED_COLOR, width=1, dash="dash"),
                opacity=0.8,
                hoverinfo="skip",
                showlegend=True,
                legendgroup="excluded",
            )
        )
    return traces + _premature_traces(beats, panels) + _pacing_traces(beats, panels)


def _pacing_traces(beats: Sequence[Any], panels: Sequence[Panel]) -> list[go.Scatter]:
    """A downward triangle above each pacemaker spike, on every panel that shows it (none when there is none)."""
    xs, ys = [], []
    for beat in beats:
        t = beat_field(beat, "pace_s")
        if t is None or not np.isfinite(t):
            continue
        for p in panels:
            if p.t0_s <= t < p.t1_s:
                xs.append(round(float(t), 4))
                ys.append(round(p.top - 0.12 * (p.top - p.bottom), 5))
    if not xs:
        return []
    name, color = PACING_MARK
    marker = dict(symbol="triangle-down", size=8, color=color)
    return [go.Scatter(x=xs, y=ys, mode="markers", marker=marker, name=name, hoverinfo="skip", showlegend=True)]


def _premature_traces(beats: Sequence[Any], panels: Sequence[Panel]) -> list[go.Scatter]:
    """The letter of each premature beat's kind above its QRS, on every panel that shows it."""
    traces = []
    for kind, letter, name, color in PREMATURE_MARKS:
        xs, ys = [], []
        for beat in beats:
            on, off = beat_field(beat, "qrs_on_s"), beat_field(beat, "qrs_off_s")
            if beat_field(beat, "premature") != kind or on is None:
                continue
            t = (on + off) / 2.0 if off is not None else on
            for p in panels:
                if p.t0_s <= t < p.t1_s:
                    xs.append(round(float(t), 4))
                    ys.append(round(p.top - 0.05 * (p.top - p.bottom), 5))
        if xs:
            traces.append(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="text",
                    text=[letter] * len(xs),
                    textfont=dict(color=color, size=12),
                    name=name,
                    hoverinfo="skip",
                    showlegend=True,
                    legendgroup=f"premature-{kind}",
                )
            )
    return traces


def _saliency_shapes(sal: np.ndarray, edges_s: np.ndarray | None, panels: Sequence[Panel], gain: float) -> list[dict]:
    if edges_s is None:
        raise ValueError("saliency needs saliency_edges_s")
    edges = np.asarray(edges_s, float)
    if sal.ndim != 2 or sal.shape[0] != len(CANONICAL_LEADS) or len(edges) != sal.shape[1] + 1:
        raise ValueError(f"saliency shape {sal.shape} does not match 12 leads and {len(edges) - 1} segments")
    scale = float(np.max(np.abs(sal))) or 1.0
    shapes = []
    for p in panels:
        for s in range(sal.shape[1]):
            a, b = max(edges[s], p.t0_s), min(edges[s + 1], p.t1_s)
            v = sal[p.lead, s] / scale
            if b <= a or abs(v) < 0.05:
                continue
            color = f"rgba(220,30,30,{0.55 * abs(v):.3f})" if v > 0 else f"rgba(30,80,220,{0.55 * abs(v):.3f})"
            shapes.append(
                {
                    "type": "rect",
                    "layer": "below",
                    "line": {"width": 0},
                    "fillcolor": color,
                    "x0": float(a),
                    "x1": float(b),
                    "y0": p.bottom + 1.0 / gain,
                    "y1": p.top - 1.0 / gain,
                }
            )
    return shapes


def _figure(spec: dict) -> go.Figure:
    """A Figure from a plain spec without plotly's per-property validation (10-20x faster for small figures)."""
    spec["layout"].setdefault("template", {})
    return go.Figure(spec, _validate=False)


def score_bar_figure(
    ranked_scores: Sequence[tuple[str, float]], *, title: str | None = None, top: int = 25
) -> go.Figure:
    """Horizontal bar chart of ``(class, score)`` pairs, highest at the top."""
    pairs = list(ranked_scores)[:top]
    names = [str(p[0]) for p in pairs][::-1]
    vals = [float(p[1]) for p in pairs][::-1]
    return _figure(
        {
            "data": [
                {
                    "type": "bar",
                    "x": vals,
                    "y": names,
                    "orientation": "h",
                    "marker": {"color": "#c0392b"},
                    "text": [f"{v:.3f}" for v in vals],
                    "textposition": "auto",
                }
            ],
            "layout": {
                "title": {"text": title, "x": 0.01} if title else None,
                "xaxis": {"title": {"text": "cosine similarity"}, "zeroline": True, "gridcolor": "#eee"},
                "yaxis": {"automargin": True},
                "height": max(220, 28 * len(names) + 80),
                "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 40},
            },
        }
    )


def compare_bar_figure(names: Sequence[str], scores_by_model: dict[str, Sequence[float]]) -> go.Figure:
    """Grouped horizontal bars: one group per class, one bar per model (e.g. METS vs FG-CLEP)."""
    colors = ["#c0392b", "#2c3e50", "#16a085", "#8e44ad"]
    data = [
        {
            "type": "bar",
            "x": [float(v) for v in vals][::-1],
            "y": [str(n) for n in names][::-1],
            "orientation": "h",
            "name": model,
            "marker": {"color": colors[i % len(colors)]},
        }
        for i, (model, vals) in enumerate(scores_by_model.items())
    ]
    return _figure(
        {
            "data": data,
            "layout": {
                "barmode": "group",
                "xaxis": {"title": {"text": "cosine similarity"}, "gridcolor": "#eee"},
                "yaxis": {"automargin": True},
                "height": max(240, 40 * len(names) + 80),
                "margin": {"l": 10, "r": 10, "t": 10, "b": 40},
                "legend": {"orientation": "h"},
            },
        }
    )


def map_figure(
    coords: np.ndarray,
    groups: Sequence[str],
    hover: Sequence[str],
    ids: Sequence[str],
    *,
    highlight: np.ndarray | None = None,
    highlight_label: str = "current ECG",
    title: str | None = None,
) -> go.Figure:
    """Scatter of the embedding map, one trace per group; ``customdata`` holds record ids (for click handlers)."""
    coords = np.asarray(coords, dtype=float)
    groups = [str(g) for g in groups]
    counts: dict[str, int] = {}
    for g in groups:
        counts[g] = counts.get(g, 0) + 1
    data = []
    for g in sorted(counts, key=lambda k: (-counts[k], k)):
        sel = [i for i, x in enumerate(groups) if x == g]
        data.append(
            {
                "type": "scattergl" if len(coords) > 5000 else "scatter",
                "mode": "markers",
                "x": coords[sel, 0].round(4).tolist(),
                "y": coords[sel, 1].round(4).tolist(),
                "name": f"{g} ({len(sel)})",
                "marker": {"size": 7, "opacity": 0.8},
                "customdata": [ids[i] for i in sel],
                "text": [hover[i] for i in sel],
                "hovertemplate": "%{customdata}<br>%{text}<extra></extra>",
            }
        )
    if highlight is not None:
        h = np.atleast_2d(np.asarray(highlight, dtype=float))
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": h[:, 0].tolist(),
                "y": h[:, 1].tolist(),
                "name": highlight_label,
                "marker": {"size": 18, "symbol": "star", "color": "gold", "line": {"color": "black", "width": 1.5}},
                "hovertemplate": f"{html.escape(highlight_label)}<extra></extra>",
            }
        )
    return _figure(
        {
            "data": data,
            "layout": {
                "title": {"text": title, "x": 0.01} if title else None,
                "height": 620,
                "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
                "xaxis": {"showticklabels": False, "zeroline": False, "title": {"text": "UMAP 1"}, "gridcolor": "#eee"},
                "yaxis": {"showticklabels": False, "zeroline": False, "title": {"text": "UMAP 2"}, "gridcolor": "#eee"},
                "legend": {"itemsizing": "constant"},
                "hovermode": "closest",
                "clickmode": "event",
            },
        }
    )


def thumbnail_series(lead_mv: np.ndarray, fs_hz: float, *, duration_s: float = 5.0, n_bins: int = 180) -> np.ndarray:
    """A lead reduced to ``2 * n_bins`` points (min and max of each bin, in time order), baseline-centred, float32.

    Min/max decimation keeps the QRS peaks that plain subsampling would drop.
    """
    x = np.nan_to_num(np.asarray(lead_mv, dtype=np.float64))[: max(1, int(duration_s * fs_hz))]
    x = x - np.median(x)
    edges = np.linspace(0, x.size, n_bins + 1).astype(int)
    out = np.zeros(2 * n_bins, np.float32)
    for b in range(n_bins):
        seg = x[edges[b] : max(edges[b + 1], edges[b] + 1)]
        lo, hi = int(np.argmin(seg)), int(np.argmax(seg))
        first, second = (seg[lo], seg[hi]) if lo <= hi else (seg[hi], seg[lo])
        out[2 * b], out[2 * b + 1] = first, second
    return out


def thumbnail_svg(series: np.ndarray, *, width_px: int = 180, height_px: int = 44, duration_s: float = 5.0) -> str:
    """A small inline SVG of a :func:`thumbnail_series` on a pink grid (one line per 0.2 s), for tables."""
    x = np.asarray(series, dtype=float)
    span = max(float(np.max(np.abs(x))) if x.size else 0.0, 0.5)
    px = np.linspace(0, width_px, num=max(x.size, 2))
    py = height_px / 2 - x / span * (height_px / 2 - 2)
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=False))
    grid_step = width_px / (duration_s * 5)
    lines = "".join(
        f'<line x1="{g:.1f}" y1="0" x2="{g:.1f}" y2="{height_px}" stroke="{MINOR_GRID}" stroke-width="1"/>'
        for g in np.arange(0, width_px, grid_step)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" height="{height_px}" '
        f'viewBox="0 0 {width_px} {height_px}" style="background:{PAPER_BG}">{lines}'
        f'<polyline fill="none" stroke="{TRACE_COLOR}" stroke-width="1" points="{pts}"/></svg>'
    )
