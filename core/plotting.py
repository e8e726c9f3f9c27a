"""Figures for ECGs, zero-shot scores and the embedding map: pure functions returning plotly Figures (or SVG text).

The 12-lead figure is drawn in millimetres of ECG paper: 25 mm/s horizontally and 10 mm/mV vertically, with 1 mm
minor and 5 mm major grid lines and a locked 1:1 axis ratio, so a printed or zoomed figure reads like a paper ECG.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from core.leads import CANONICAL_LEADS

MM_PER_S = 25.0
MM_PER_MV = 10.0
PAPER_BG = "#fff7f8"
MINOR_GRID = "#f9d2d9"
MAJOR_GRID = "#ee8a9c"
TRACE_COLOR = "#111111"
# Plotly's default template adds ~10 kB of JSON to every figure; these figures style themselves.
TEMPLATE = "none"
MAX_PLOT_FS_HZ = 500.0

# Clinical 3x4 layout: columns of 2.5 s, each holding three leads, plus a lead II rhythm strip.
CLINICAL_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("I", "II", "III"),
    ("aVR", "aVL", "aVF"),
    ("V1", "V2", "V3"),
    ("V4", "V5", "V6"),
)
RHYTHM_LEAD = "II"
LAYOUTS = ("clinical", "stacked")

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
FIDUCIAL_LEGEND = "Automated fiducial points (unconfirmed)"

_LEFT_MM = 12.0  # room for the 1 mV calibration pulse
_CLINICAL_ROW_MM = 35.0
_STACKED_ROW_MM = 25.0


def _display_signal(signal_mv: np.ndarray, fs_hz: float) -> tuple[np.ndarray, float]:
    """Baseline-centred copy (per lead median removed), decimated to at most 500 Hz for drawing."""
    x = np.nan_to_num(np.asarray(signal_mv, dtype=np.float64))
    if fs_hz > MAX_PLOT_FS_HZ:
        step = int(np.ceil(fs_hz / MAX_PLOT_FS_HZ))
        x = x[:, ::step]
        fs_hz = fs_hz / step
    return x - np.median(x, axis=1, keepdims=True), fs_hz


def _paper_layout(fig: go.Figure, width_mm: float, height_mm: float, title: str | None, height_px: int) -> None:
    axis = dict(
        showticklabels=False,
        ticks="",
        zeroline=False,
        showgrid=True,
        gridcolor=MAJOR_GRID,
        gridwidth=1,
        dtick=5,
        tick0=0,
        minor=dict(dtick=1, showgrid=True, gridcolor=MINOR_GRID, gridwidth=0.5),
        fixedrange=False,
    )
    fig.update_layout(
        xaxis=dict(axis, range=[-_LEFT_MM, width_mm], constrain="domain"),
        yaxis=dict(axis, range=[0, height_mm], scaleanchor="x", scaleratio=1, constrain="domain"),
        plot_bgcolor=PAPER_BG,
        paper_bgcolor="white",
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        height=height_px,
        showlegend=False,
        title=dict(text=title, x=0.01, font=dict(size=14)) if title else None,
        dragmode="pan",
        template=TEMPLATE,
        hovermode=False,
    )


def _calibration(fig: go.Figure, baselines_mm: Sequence[float]) -> None:
    """A 1 mV x 0.2 s calibration pulse at the start of each row."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for y0 in baselines_mm:
        x0 = -_LEFT_MM + 2
        pulse_w = 0.2 * MM_PER_S
        xs += [x0, x0 + 1, x0 + 1, x0 + 1 + pulse_w, x0 + 1 + pulse_w, x0 + 2 + pulse_w, None]
        ys += [y0, y0, y0 + MM_PER_MV, y0 + MM_PER_MV, y0, y0, None]
    fig.add_trace(
        go.Scatter(
            x=xs, y=ys, mode="lines", line=dict(color=TRACE_COLOR, width=1.2), hoverinfo="skip", showlegend=False
        )
    )


def _segments(
    signal: np.ndarray, fs_hz: float, lead_mask: np.ndarray, layout: str, duration_s: float
) -> tuple[list[tuple[int, float, float, float, float]], float]:
    """(lead index, t0 s, t1 s, x offset mm, baseline mm) for every drawn piece, and the paper height in mm."""
    lead_idx = {name: i for i, name in enumerate(CANONICAL_LEADS)}
    pieces: list[tuple[int, float, float, float, float]] = []
    if layout == "clinical":
        col_s = duration_s / len(CLINICAL_COLUMNS)
        rows = len(CLINICAL_COLUMNS[0]) + 1
        height = rows * _CLINICAL_ROW_MM
        for c, column in enumerate(CLINICAL_COLUMNS):
            for r, name in enumerate(column):
                base = height - _CLINICAL_ROW_MM * (r + 0.5)
                pieces.append((lead_idx[name], c * col_s, (c + 1) * col_s, c * col_s * MM_PER_S, base))
        pieces.append((lead_idx[RHYTHM_LEAD], 0.0, duration_s, 0.0, _CLINICAL_ROW_MM * 0.5))
    elif layout == "stacked":
        height = len(CANONICAL_LEADS) * _STACKED_ROW_MM
        for i in range(len(CANONICAL_LEADS)):
            pieces.append((i, 0.0, duration_s, 0.0, height - _STACKED_ROW_MM * (i + 0.5)))
    else:
        raise ValueError(f"unknown layout {layout!r}; use one of {LAYOUTS}")
    return pieces, height


def ecg_figure(
    signal_mv: np.ndarray,
    fs_hz: float,
    *,
    lead_mask: np.ndarray | None = None,
    layout: str = "clinical",
    title: str | None = None,
    duration_s: float = 10.0,
    saliency: np.ndarray | None = None,
    saliency_edges_s: np.ndarray | None = None,
    fiducials: Iterable[Any] | None = None,
    height_px: int | None = None,
) -> go.Figure:
    """A 12-lead ECG on ECG paper.

    Args:
        signal_mv: (12, samples) in canonical lead order, millivolts.
        fs_hz: sampling rate.
        lead_mask: (12,) True where the lead was recorded; missing leads are labelled, not drawn.
        layout: ``"clinical"`` (3x4 grid of 2.5 s columns + 10 s lead II rhythm strip) or ``"stacked"`` (12 rows).
        title: text above the plot.
        duration_s: seconds shown (the first ``duration_s``; shorter records leave paper blank).
        saliency: optional (12, S) signed relevance per lead and time segment, drawn as red (raises the score)
            and blue (lowers it) boxes behind the trace.
        saliency_edges_s: (S + 1,) segment edges in seconds for ``saliency``.
        fiducials: optional per-beat global fiducial points (``Measurements.beats``, or dicts with the same keys):
            ``p_on_s, p_off_s, qrs_on_s, qrs_off_s, t_off_s`` in seconds from the record start (None: not found)
            and ``used`` (False: excluded from the medians, drawn grey). Drawn as thin vertical lines on every
            drawn lead panel at their time, with a legend.
        height_px: figure height; by default chosen so the plot fills a ~1000 px wide page at 1:1.

    Returns:
        A plotly Figure with axes in millimetres of paper (x: 25 mm/s, y: 10 mm/mV).
    """
    signal = np.asarray(signal_mv)
    if signal.ndim != 2 or signal.shape[0] != len(CANONICAL_LEADS):
        raise ValueError(f"expected a (12, samples) signal, got shape {signal.shape}")
    mask = np.ones(len(CANONICAL_LEADS), bool) if lead_mask is None else np.asarray(lead_mask, bool)
    x, fs = _display_signal(signal, fs_hz)
    pieces, height_mm = _segments(x, fs, mask, layout, duration_s)
    width_mm = duration_s * MM_PER_S
    fig = go.Figure()
    _paper_layout(fig, width_mm, height_mm, title, height_px or int(120 + 1000 * height_mm / (width_mm + _LEFT_MM)))

    if saliency is not None:
        _saliency_shapes(fig, np.asarray(saliency, float), saliency_edges_s, pieces)

    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for lead, t0, t1, x_off, base in pieces:
        name = CANONICAL_LEADS[lead]
        label = name if mask[lead] else f"{name} (missing)"
        fig.add_annotation(
            x=x_off + 1,
            y=base + 0.45 * (_CLINICAL_ROW_MM if layout == "clinical" else _STACKED_ROW_MM) - 3,
            text=label,
            showarrow=False,
            xanchor="left",
            font=dict(size=11, color="#333"),
        )
        if not mask[lead]:
            continue
        i0, i1 = int(round(t0 * fs)), min(int(round(t1 * fs)), x.shape[1])
        if i1 <= i0:
            continue
        t = np.arange(i0, i1) / fs
        xs.append(x_off + (t - t0) * MM_PER_S)
        ys.append(base + x[lead, i0:i1] * MM_PER_MV)
    if xs:
        gap = np.array([np.nan])
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([np.concatenate([a, gap]) for a in xs]),
                y=np.concatenate([np.concatenate([b, gap]) for b in ys]),
                mode="lines",
                line=dict(color=TRACE_COLOR, width=1),
                connectgaps=False,
                hoverinfo="skip",
                name="ECG",
                showlegend=False,
            )
        )
    if layout == "clinical":
        # Short separators where one column's leads end and the next begin, as printed ECGs have.
        for c in range(1, len(CLINICAL_COLUMNS)):
            xm = c * duration_s / len(CLINICAL_COLUMNS) * MM_PER_S
            for r in range(len(CLINICAL_COLUMNS[0])):
                yb = height_mm - _CLINICAL_ROW_MM * (r + 0.5)
                fig.add_shape(type="line", x0=xm, x1=xm, y0=yb - 4, y1=yb + 4, line=dict(color=TRACE_COLOR, width=1))
    _calibration(fig, sorted({p[4] for p in pieces}))
    if fiducials is not None:
        row_mm = _CLINICAL_ROW_MM if layout == "clinical" else _STACKED_ROW_MM
        traces = fiducial_traces(fiducials, [p for p in pieces if mask[p[0]]], row_mm)
        if traces:
            fig.add_traces(traces)
            fig.update_layout(
                showlegend=True,
                legend=dict(
                    title=dict(text=FIDUCIAL_LEGEND), orientation="h", x=0, y=0, yanchor="top", font=dict(size=11)
                ),
                margin=dict(b=60),
            )
    return fig


def _beat_field(beat: Any, name: str, default: Any = None) -> Any:
    """A field of a beat given as a mapping or as an object with attributes."""
    return beat.get(name, default) if isinstance(beat, Mapping) else getattr(beat, name, default)


def fiducial_traces(
    beats: Iterable[Any], pieces: Sequence[tuple[int, float, float, float, float]], row_mm: float
) -> list[go.Scatter]:
    """Vertical-line traces marking each beat's fiducial points on every drawn panel.

    Args:
        beats: per-beat fiducials (see :func:`ecg_figure`).
        pieces: ``(lead index, t0 s, t1 s, x offset mm, baseline mm)`` of each drawn panel: a point at ``t`` s is
            drawn on every panel with ``t0 <= t < t1`` at ``x offset + (t - t0) * 25 mm/s``.
        row_mm: height of a panel; each line spans 60 % of it, centred on the baseline.

    Returns:
        One trace per fiducial kind over the beats used in the medians, plus one grey trace for the excluded
        beats; kinds with no point are left out. Each line is a ``[x, x, None]`` triple in the trace's data.
    """
    half = 0.3 * row_mm
    used: dict[str, tuple[list, list]] = {key: ([], []) for key, *_ in FIDUCIALS}
    excluded: tuple[list, list] = ([], [])
    for beat in beats:
        xs, ys = excluded if _beat_field(beat, "used", True) is False else (None, None)
        for key, *_ in FIDUCIALS:
            t = _beat_field(beat, key)
            if t is None or not np.isfinite(t):
                continue
            tx, ty = (xs, ys) if xs is not None else used[key]
            for _, t0, t1, x_off, base in pieces:
                if t0 <= t < t1:
                    x = round(x_off + (float(t) - t0) * MM_PER_S, 3)
                    tx += [x, x, None]
                    ty += [base - half, base + half, None]
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
    return traces


def _saliency_shapes(fig: go.Figure, sal: np.ndarray, edges_s: np.ndarray | None, pieces: list) -> None:
    if edges_s is None:
        raise ValueError("saliency needs saliency_edges_s")
    edges = np.asarray(edges_s, float)
    if sal.ndim != 2 or sal.shape[0] != len(CANONICAL_LEADS) or len(edges) != sal.shape[1] + 1:
        raise ValueError(f"saliency shape {sal.shape} does not match 12 leads and {len(edges) - 1} segments")
    scale = float(np.max(np.abs(sal))) or 1.0
    row_h = _CLINICAL_ROW_MM if len(pieces) == 13 else _STACKED_ROW_MM
    for lead, t0, t1, x_off, base in pieces:
        for s in range(sal.shape[1]):
            a, b = max(edges[s], t0), min(edges[s + 1], t1)
            v = sal[lead, s] / scale
            if b <= a or abs(v) < 0.05:
                continue
            color = f"rgba(220,30,30,{0.55 * abs(v):.3f})" if v > 0 else f"rgba(30,80,220,{0.55 * abs(v):.3f})"
            fig.add_shape(
                type="rect",
                layer="below",
                line=dict(width=0),
                fillcolor=color,
                x0=x_off + (a - t0) * MM_PER_S,
                x1=x_off + (b - t0) * MM_PER_S,
                y0=base - row_h / 2 + 1,
                y1=base + row_h / 2 - 1,
            )


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
