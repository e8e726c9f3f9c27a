"""Service results -> what the page shows: Markdown, table frames, HTML and figures. Pure functions."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from core.data.lead_scaling import UNCALIBRATED_KEY
from core.explorer import BrowsePage, Explanation, Neighbour, OpenedRecord, RecordInfo, ReportMatch, Status, Upload
from core.leads import CANONICAL_LEADS
from core.plotting import beat_field, ecg_figure
from core.text.tokenize import readable

# Browse: the English report before the original, so the report a reader can scan comes second on screen.
TABLE_COLUMNS = ["record_id", "dataset", "labels", "report (English)", "report"]
# Labels shown per Browse row before "+N more": a row stays one or two lines high (all labels are in the details).
TABLE_MAX_LABELS = 4
RESULT_COLUMNS = ["rank", "record_id", "similarity", "labels", "report (English)"]
ST_DEPRESSION_LABEL = "ST depression in 2 contiguous leads (J+60 ms)"
ST_ELEVATION_LABEL = "ST elevation at J in 2 contiguous leads (≥ 0.1 mV, in V2-V3 ≥ 0.2 mV)"
Q_WAVE_LABEL = "Pathological Q waves in 2 contiguous leads (≥ 30 ms and 0.1 mV, in V2-V3 ≥ 20 ms, or QS)"
T_INVERSION_LABEL = "T-wave inversion in 2 contiguous leads (≥ 0.1 mV; aVR, III, V1 not read)"
LOW_T_LABEL = "Low or flat T waves in 2 contiguous leads (under 0.1 mV either way; I, II, aVF, V3-V6 read)"
P_TERMINAL_LABEL = "V1 P terminal force (negative end of the P wave; Morris: ≥ 0.1 mV deep and ≥ 40 ms)"
# One row per distinct report text: record_id is the first record with it, record_ids all of them.
# "hedged": the report states the query's finding only hedged ("possible ..."), so its lexical part was lowered;
# "counterpart": it states the query's counterpart finding ("right bundle branch block" for "LBBB", ST depression for
# ST elevation, another wall), so its dense part counts nothing.
REPORT_COLUMNS = [
    "rank", "record_id", "count", "score", "lexical", "dense", "hedged", "counterpart", "labels", "report (English)",
    "record_ids",
]  # fmt: skip
SCORE_COLUMNS = ["class", "similarity", "probability"]
MEASUREMENTS_HEADING = "Automated measurements (unconfirmed)"
MEASUREMENTS_NOTE = (
    "Measured by a machine from the signal and not confirmed by a reader: check them on the tracing "
    '(tick "Measured P/QRS/T points" in the viewer) before relying on them.'
)
# (attribute, label, unit as appended to the value, format) of the numeric values shown, in the order a 12-lead ECG
# report lists them. Attributes a Measurements object lacks (an older measurement version) are left out, not shown
# as missing.
MEASUREMENT_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("hr_bpm", "Heart rate", " bpm", "{:.0f}"),
    ("pr_ms", "PR interval", " ms", "{:.0f}"),
    ("qrs_ms", "QRS duration", " ms", "{:.0f}"),
    ("qt_ms", "QT interval", " ms", "{:.0f}"),
    ("qtc_ms", "QTc (Bazett)", " ms", "{:.0f}"),
    ("qtc_fridericia_ms", "QTc (Fridericia)", " ms", "{:.0f}"),
    ("jt_ms", "JT interval", " ms", "{:.0f}"),
    ("axis_deg", "Frontal QRS axis", "°", "{:+.0f}"),
    ("rr_irregularity", "RR variation (SD/mean)", "", "{:.2f}"),
    ("rmssd_ms", "RMSSD", " ms", "{:.0f}"),
    ("rr_range_ms", "RR range (longest − shortest, premature beats left out)", " ms", "{:.0f}"),
    ("sokolow_lyon_mv", "Sokolow-Lyon index", " mV", "{:.2f}"),
    ("cornell_mv", "Cornell voltage (R aVL + S V3)", " mV", "{:.2f}"),
    ("limb_qrs_amplitude_mv", "Largest limb-lead QRS amplitude", " mV", "{:.2f}"),
    ("precordial_qrs_amplitude_mv", "Largest precordial QRS amplitude", " mV", "{:.2f}"),
    ("st_depression_mv", ST_DEPRESSION_LABEL, " mV", "{:.2f}"),
    ("v1_r_to_s", "V1 R/S ratio", "", "{:.2f}"),
)
# Values computed from others: their confidence is the lowest of their sources', and a missing one gives its
# source's reason when it has none of its own.
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "qtc_ms": ("qt_ms", "hr_bpm"),
    "qtc_fridericia_ms": ("qt_ms", "hr_bpm"),
    "jt_ms": ("qt_ms", "qrs_ms"),
}
# Values that contain the QRS: with a bundle branch block they are long because the QRS is, which a QTc read alone
# would call a long-QT finding.
WIDENED_BY_QRS = frozenset({"qt_ms", "qtc_ms", "qtc_fridericia_ms"})
# Values read at the T wave's end, which flutter waves may hide (core.measure: flutter_2to1_pattern).
FLUTTER_BLURRED = frozenset({"qt_ms", "qtc_ms", "qtc_fridericia_ms", "jt_ms"})
# Left ventricular hypertrophy's voltage criteria: a bundle branch block or a paced QRS changes the voltages by
# itself (larger in a left block, S in V1 smaller in a right one), so the criteria do not read hypertrophy there.
LVH_VOLTAGES = frozenset({"sokolow_lyon_mv", "cornell_mv"})
# A bundle branch block's ST segment moves opposite to its QRS; ischaemia can still add to it (Sgarbossa).
SECONDARY_ST = "secondary, not by itself a sign of ischaemia"
# Yes/no findings: (attribute, label, text when True, text when False).
MEASUREMENT_FLAGS: tuple[tuple[str, str, str, str], ...] = (
    ("irregular", "Rhythm", "irregular", "regular"),
    ("low_voltage", "Low QRS voltage", "yes", "no"),
)
# Characters Gradio's Markdown would read as markup inside a line (emphasis, links, tables, code, strike, LaTeX).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")


def short(text: str, n: int = 140) -> str:
    """One line of at most ``n`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def escape_markdown(text: Any) -> str:
    """Dataset or user text made inert for a Markdown component: one line, markup characters backslash-escaped and
    ``& < >`` turned into HTML entities (after the backslashes, so the entities themselves stay intact)."""
    one_line = " ".join(str(text).split())
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", one_line), quote=False)


# ---- status ----------------------------------------------------------------------------------------------------------
def status_markdown(s: Status) -> str:
    """One paragraph for the page: build progress, what is indexed, or what is missing and how to fix it."""
    if not s.has_checkpoint:
        return (
            "**No checkpoint found.** Put a trained checkpoint in `checkpoints/{mets,dbeta,fgclep}/` "
            "(`config.json` + `model.safetensors`) or set `ECG_CHECKPOINTS=NAME=DIR`."
        )
    if not s.ready:
        done, total, desc = s.progress
        frac = f" {done}/{total}" if total else ""
        return f"⏳ Preparing the demo index: {desc}{frac} ({s.waited_s:.0f} s). Uploads work now."
    if s.error:
        return f"⚠️ The index could not be built: {s.error}. Uploads still work."
    if not s.n_records:
        return (
            "⚠️ **No demo data could be acquired**, so Browse, Retrieve and Map are empty; uploads still work. "
            + " ".join(s.problems)
            + f" The data directory is `{s.data_dir}` (`ECG_DATA_DIR`)."
        )
    counts = ", ".join(f"{n} {d}" for d, n in s.counts.items())
    extra = (" ⚠️ " + " ".join(s.problems)) if s.problems else ""
    if not s.model_loaded:
        extra += " ⏳ Loading the model (new prompts, text search and uploads wait for it)."
    return f"Indexed {s.n_records} ECGs ({counts}) with **{s.index_name}**; map: {s.map_method.upper()}.{extra}"


# ---- records and measurements ----------------------------------------------------------------------------------------
def label_summary(labels: Sequence[str], max_labels: int = TABLE_MAX_LABELS) -> str:
    """The first ``max_labels`` labels and how many more there are: ``"NORM, SR +3 more"``."""
    labels = list(labels)
    more = len(labels) - max_labels
    return ", ".join(labels[:max_labels]) + (f" +{more} more" if more > 0 else "")


def records_frame(records: Sequence[RecordInfo]) -> pd.DataFrame:
    """The Browse table: one row per record, labels clamped (:func:`label_summary`); the original report is left
    blank where it equals the English one, and shown with its character damage repaired (:func:`readable`)."""
    rows = [
        [
            r.record_id,
            r.dataset,
            label_summary(r.label_list()),
            r.text_en,
            "" if r.text == r.text_en else readable(r.text),
        ]
        for r in records
    ]
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def page_summary(page: BrowsePage) -> str:
    """``"Records 26–50 of 700 · page 2 of 28"`` (or that nothing matches)."""
    if not page.total:
        return "No record matches: clear the search or a filter."
    last = page.first + len(page.records) - 1
    return f"Records {page.first}–{last} of {page.total} · page {page.page} of {page.n_pages}"


def _number(value: Any) -> float | None:
    """A finite float, or None (a NaN or infinity is no measurement either)."""
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _qualified(line: str, name: str, quality: dict) -> str:
    q = _number(quality.get(name))
    if q is None and name in DERIVED_FROM:
        sources = [_number(quality.get(src)) for src in DERIVED_FROM[name]]
        q = min(sources) if sources and None not in sources else None
    return f"{line} (confidence {q:.2f})" if q is not None else line


def _not_measured(label: str, name: str, missing: dict, m: Any = None) -> str:
    undecided = getattr(m, "undecided", None)  # a value read off others says why it is missing (rr_range_ms)
    reason = (
        missing.get(name)
        or next((missing[s] for s in DERIVED_FROM.get(name, ()) if missing.get(s)), None)
        or missing.get("all")  # nothing measured at all: a short record, no leads, no heartbeats
        or (undecided(name) if undecided is not None else None)
    )
    return f"{label}: not measured: {escape_markdown(reason or 'no reason given')}"


def measurement_lines(m: Any) -> list[str]:
    """One plain-text line per measurement: value, unit and confidence, or ``not measured: <reason>``.

    Args:
        m: a :class:`core.measure.Measurements` (its ``quality`` and ``missing`` dicts are used when present).

    Returns:
        Lines such as ``"QRS duration: 96 ms (confidence 0.90)"`` or ``"PR interval: not measured: <reason>"``
        (reasons escaped for Markdown), then the beat count and leads used.
    """
    # Local import: core.measure imports torch (6.3 s measured), which would hold up the app's start.
    from core.measure import WIDE_QRS_MS, axis_category

    quality = getattr(m, "quality", None) or {}
    missing = getattr(m, "missing", None) or {}
    qrs = _number(getattr(m, "qrs_ms", None))
    lines = []
    measured = [n for n, *_ in MEASUREMENT_ROWS if _number(getattr(m, n, None)) is not None]
    measured += [n for n, *_ in MEASUREMENT_FLAGS if getattr(m, n, None) is not None]
    if missing.get("all") and not measured:
        # One line, not the same reason on every row (a noise upload, a record under 2 s, no leads).
        return [f"Nothing measured: {escape_markdown(missing['all'])}", *_summary_lines(m)]
    for name, label, unit, fmt in MEASUREMENT_ROWS:
        if not hasattr(m, name):
            continue
        value = _number(getattr(m, name))
        if value is None:
            lines.append(_not_measured(label, name, missing, m))
            continue
        text = f"{label}: {fmt.format(value)}{unit}"
        if name == "axis_deg":
            text += f" ({axis_category(value)})"
        text = _qualified(text, name, quality)
        if name in WIDENED_BY_QRS and qrs is not None and qrs >= WIDE_QRS_MS:
            text += f"; lengthened by the wide QRS ({qrs:.0f} ms): read the JT interval"
        if name in FLUTTER_BLURRED and getattr(m, "flutter_2to1_pattern", None):
            text += "; in a 2:1 flutter pattern the flutter waves may hide the T wave's end"
        if name == "st_depression_mv" and value and qrs is not None and qrs >= WIDE_QRS_MS:
            text += f"; with a wide QRS ({qrs:.0f} ms) the ST segment moves opposite to it: {SECONDARY_ST}"
        if name in LVH_VOLTAGES:
            text += voltage_note(m, qrs)
        if name in WIDENED_BY_QRS or (name == "st_depression_mv" and value):
            text += qrs_not_excluded(m)
        lines.append(text)
    # The findings read in two contiguous leads, after the ST depression row (a version that lacks one skips it).
    walls = (
        ("st_elevation_leads", st_elevation_line),
        ("q_wave_leads", q_wave_line),
        ("t_inversion_leads", t_inversion_line),
        ("low_t_leads", low_t_line),
    )
    after = next((i + 1 for i, line in enumerate(lines) if line.startswith(ST_DEPRESSION_LABEL)), len(lines))
    lines[after:after] = [line(m, missing) for name, line in walls if hasattr(m, name)]
    if hasattr(m, "v1_p_terminal_mv"):  # after the V1 R/S row, or last (a version that lacks one skips it)
        after = next((i + 1 for i, line in enumerate(lines) if line.startswith("V1 R/S ratio")), len(lines))
        lines.insert(after, p_terminal_line(m, missing))
    for name, label, yes, no in MEASUREMENT_FLAGS:
        if not hasattr(m, name):
            continue
        value = getattr(m, name)
        if value is None:
            lines.append(_not_measured(label, name, missing))
        else:
            lines.append(_qualified(f"{label}: {yes if value else no}", name, quality) + _rhythm_note(m, name))
    if hasattr(m, "premature_ventricular"):
        lines.append(premature_line(m, missing))
    if getattr(m, "paced_beats", None):
        lines.insert(0, pacing_line(m, missing))  # a paced rhythm is read first, as a machine prints it
    elif hasattr(m, "paced_beats"):
        lines.append(pacing_line(m, missing))
    return [*lines, *_summary_lines(m)]


def st_elevation_line(m: Any, missing: dict) -> str:
    """``"ST elevation at J in 2 contiguous leads (...): V2 0.25, V3 0.22 mV (anterior)"``, ``": none"``, or not
    measured with the reason; with a wide QRS, that the elevation is the block's secondary change."""
    wide = f"the ST segment moves opposite to it: {SECONDARY_ST}"
    return _wall_line(m, missing, "st_elevation_leads", ST_ELEVATION_LABEL, _lead_mv(m, "st_j_mv"), " mV", wide)


def q_wave_line(m: Any, missing: dict) -> str:
    """``"Pathological Q waves in 2 contiguous leads (...): III 42 ms, aVF 35 ms (inferior)"`` (``QS`` for a QS
    complex), ``": none"``, or not measured with the reason; with a wide QRS, that a bundle branch block or paced
    beats can make Q waves (QS in V1-V3) without an infarction."""
    per_lead = getattr(m, "per_lead", None) or {}

    def width(lead: str) -> str:
        values = per_lead.get(lead, {})
        if values.get("qs"):
            return f"{lead} QS"
        value = _number(values.get("q_ms"))
        return lead if value is None else f"{lead} {value:.0f} ms"

    wide = "a bundle branch block or paced beats can make Q waves without an infarction"
    return _wall_line(m, missing, "q_wave_leads", Q_WAVE_LABEL, width, "", wide)


def t_inversion_line(m: Any, missing: dict) -> str:
    """``"T-wave inversion in 2 contiguous leads (...): V2 -0.45, V3 -0.60 mV (anterior)"``, ``": none"``, or not
    measured with the reason; with a wide QRS, that the block inverts T waves by itself."""
    wide = f"the T wave turns opposite to the QRS: {SECONDARY_ST}"
    return _wall_line(m, missing, "t_inversion_leads", T_INVERSION_LABEL, _lead_mv(m, "t_mv"), " mV", wide)


def low_t_line(m: Any, missing: dict) -> str:
    """``"Low or flat T waves in 2 contiguous leads (...): I 0.04, V5 0.06, V6 0.03 mV (lateral)"``, ``": none"``, or
    not measured with the reason; with a wide QRS, that the block changes the T waves by itself."""
    wide = f"the T wave changes with it: {SECONDARY_ST}"
    return _wall_line(m, missing, "low_t_leads", LOW_T_LABEL, _lead_mv(m, "t_mv"), " mV", wide)


def p_terminal_line(m: Any, missing: dict) -> str:
    """``"V1 P terminal force (...): 0.16 mV deep, 79 ms (met: left atrial abnormality)"``, ``": none (no negative
    end)"``, or not measured with the reason."""
    depth, length = _number(getattr(m, "v1_p_terminal_mv", None)), _number(getattr(m, "v1_p_terminal_ms", None))
    if depth is None or length is None:
        return _not_measured(P_TERMINAL_LABEL, "v1_p_terminal_mv", missing)
    if not depth:
        return f"{P_TERMINAL_LABEL}: none (no negative end)"
    met = "met: left atrial abnormality" if getattr(m, "left_atrial_abnormality", None) else "not met"
    return f"{P_TERMINAL_LABEL}: {depth:.2f} mV deep, {length:.0f} ms ({met})"


def _lead_mv(m: Any, key: str) -> Callable[[str], str]:
    """``lead -> "V2 0.25"``: the lead with its per-lead value ``key`` (mV, two decimals), or the lead alone."""
    per_lead = getattr(m, "per_lead", None) or {}

    def shown(lead: str) -> str:
        value = _number(per_lead.get(lead, {}).get(key))
        return lead if value is None else f"{lead} {value:.2f}"

    return shown


def _wall_line(
    m: Any, missing: dict, name: str, label: str, shown: Callable[[str], str], unit: str, wide_note: str
) -> str:
    """A finding measured in two contiguous leads (``name``, ``..._leads``, beside its ``..._walls``): its leads, each
    ``shown``, and walls; ``none``; or why not."""
    from core.measure import WIDE_QRS_MS

    leads = getattr(m, name, None)
    if leads is None:
        return _not_measured(label, name, missing)
    if not leads:
        return f"{label}: none"
    walls = getattr(m, name.replace("_leads", "_walls"), None) or ()  # Measurements.st_elevation_walls, ...
    text = f"{label}: {', '.join(shown(lead) for lead in leads)}{unit} ({', '.join(walls)})"
    qrs = _number(getattr(m, "qrs_ms", None))
    if qrs is not None and qrs >= WIDE_QRS_MS:
        text += f"; with a wide QRS ({qrs:.0f} ms) {wide_note}"
    else:
        text += qrs_not_excluded(m)
    return text


def qrs_not_excluded(m: Any) -> str:
    """The note on an ST, T-wave, Q-wave or QT finding when the QRS was not measured (its own line says why): a QRS
    too wide to measure is not measured at all (``ptbxl/16488``, paced, 260 ms), and a wide QRS would explain the
    finding by itself (:attr:`core.measure.Measurements.qrs_not_narrow`)."""
    unknown = _number(getattr(m, "qrs_ms", None)) is None and getattr(m, "qrs_not_narrow", None)
    return "; QRS not measured: a wide QRS, which would explain this, is not excluded" if unknown else ""


def voltage_note(m: Any, qrs: float | None) -> str:
    """The note on a voltage criterion's row (Sokolow-Lyon, Cornell) where the QRS is paced, wide or not measured
    (:data:`LVH_VOLTAGES`): the criteria were made for a conducted QRS."""
    from core.measure import WIDE_QRS_MS

    if getattr(m, "paced_beats", None):
        return "; paced QRS complexes: voltage criteria do not read hypertrophy"
    if qrs is not None and qrs >= WIDE_QRS_MS:
        block = "a bundle branch block changes them"
        return f"; with a wide QRS ({qrs:.0f} ms) voltage criteria are less reliable: {block}"
    if qrs is None and getattr(m, "qrs_not_narrow", None):
        return "; QRS not measured: a wide QRS, which changes the voltages, is not excluded"
    return ""


def pacing_line(m: Any, missing: dict) -> str:
    """``"Ventricular pacing: pacemaker spikes before 12 of 12 QRS complexes"``; with none found, that a bipolar
    pacemaker's spikes may be too small to see (core.measure.pacing), so "none" is not read as "no pacemaker"."""
    count = getattr(m, "paced_beats", None)
    if count is None:
        return _not_measured("Ventricular pacing", "paced_beats", missing).replace(": not measured:", " not judged:")
    if not count:
        return "Ventricular pacing: no pacemaker spikes found (a bipolar pacemaker's spikes may be too small to see)"
    return f"Ventricular pacing: pacemaker spikes before {count} of {getattr(m, 'n_beats', count)} QRS complexes"


# Which kind each count stands for, as a reader needs it (core.measure.ectopy): the ECG alone cannot always tell a
# ventricular beat from an aberrantly conducted atrial one.
PREMATURE_KINDS: tuple[tuple[str, str, str], ...] = (
    ("ventricular", "premature_ventricular", "QRS unlike the dominant beat: ventricular, or aberrantly conducted"),
    ("supraventricular", "premature_supraventricular", "dominant QRS: atrial or junctional"),
)

# Among paced beats an early beat without a spike may be the patient's own conducted one (``ludb/8``: atrial
# fibrillation with ventricular pacing, one conducted beat read as premature).
PACED_VENTRICULAR_MEANING = "QRS unlike the paced beat: ventricular, or the patient's own conducted beat"


def _rhythm_note(m: Any, name: str) -> str:
    """What an irregular rhythm is made of, so that a reader does not take every "irregular" for atrial fibrillation:
    regular between its premature beats (a supraventricular count is given only then, :mod:`core.measure.ectopy`),
    or without P waves (atrial fibrillation's pattern, ``irregular_without_p``), or with P waves before the QRS; and a
    regular narrow tachycardia without P waves, the pattern of 2:1 flutter (``flutter_2to1_pattern``), or a P-wave
    rhythm whose RR varies as in sinus arrhythmia (``sinus_arrhythmia``)."""
    if name != "irregular":
        return ""
    if getattr(m, "flutter_2to1_pattern", None):  # regular, 120-170 bpm, narrow, no P wave found
        return "; no P wave found at this rate: the pattern of atrial flutter with 2:1 conduction (or a re-entrant SVT)"
    if getattr(m, "sinus_arrhythmia", None):
        # "regular" is the atrial-fibrillation rule's word; beside a 372 ms RR range it needs saying what varies
        return f"; the RR varies by {m.rr_range_ms:.0f} ms with P waves before the QRS: a sinus arrhythmia"
    if not getattr(m, name, None):
        return ""
    v, sv = getattr(m, "premature_ventricular", None), getattr(m, "premature_supraventricular", None)
    if sv is not None:
        return "; regular between the premature beats" if (v or sv) else ""
    if getattr(m, "irregular_without_p", None):
        return "; no P waves before the QRS (atrial fibrillation's pattern)"
    return "; P waves before the QRS" if getattr(m, "pr_ms", None) is not None else ""


def _grouped_orders(m: Any) -> list[tuple[str, str]]:
    """(name, how it reads) of the orders the premature ventricular beats are in (``ventricular_bigeminy``,
    ``ventricular_trigeminy``), where found."""
    orders = (
        ("bigeminy", "ventricular_bigeminy", "every other beat"),
        ("trigeminy", "ventricular_trigeminy", "every third beat"),
    )
    return [(name, f"in {name}: {how}, 3 in a row or more") for name, field, how in orders if getattr(m, field, None)]


def premature_line(m: Any, missing: dict) -> str:
    """``"Premature beats: ventricular 2 at 2.9 s, 4.6 s (QRS unlike ...); supraventricular 0"``, a kind that could
    not be judged with its reason."""
    parts = []
    for kind, name, meaning in PREMATURE_KINDS:
        if kind == "ventricular" and getattr(m, "paced_beats", None):
            meaning = PACED_VENTRICULAR_MEANING
        count = getattr(m, name, None)
        if count is None:
            parts.append(_not_measured(kind, name, missing).replace(": not measured:", " not judged:", 1))
            continue
        times = [
            f"{beat_field(b, 'qrs_on_s'):.1f} s"
            for b in getattr(m, "beats", None) or ()
            if beat_field(b, "premature") == kind and beat_field(b, "qrs_on_s") is not None
        ]
        at = f" at {', '.join(times)}" if times else ""
        if kind == "ventricular":
            at += "".join(f", {reading}" for _, reading in _grouped_orders(m))
        parts.append(f"{kind} {count}{at} ({meaning})" if count else f"{kind} 0")
    return "Premature beats: " + "; ".join(parts)


def _summary_lines(m: Any) -> list[str]:
    """The beat count, the leads used and the measurement version."""
    lines = []
    beats = getattr(m, "beats", None) or ()
    n_used = sum(1 for b in beats if beat_field(b, "used", True))
    counted = f"{getattr(m, 'n_beats', 0)} beats found" + (f", {n_used} used for the medians" if beats else "")
    leads = ", ".join(escape_markdown(x) for x in getattr(m, "leads_used", ()) or ()) or "none"
    lines.append(f"{counted}; leads used: {leads}")
    version = getattr(m, "version", None)
    if version:
        lines.append(f"Measurement version: {escape_markdown(version)}")
    return lines


def measurements_markdown(m: Any) -> str:
    """The measurements block of the details panel: heading, one bullet per value, and the reader's note."""
    bullets = "\n".join(f"- {line}" for line in measurement_lines(m))
    return f"#### {MEASUREMENTS_HEADING}\n{bullets}\n\n*{MEASUREMENTS_NOTE}*"


def record_markdown(opened: OpenedRecord) -> str:
    """Markdown: report (original and English), labels, and the automated waveform measurements.

    Record and dataset text is escaped (:func:`escape_markdown`), so a report cannot inject markup.
    """
    info = opened.record
    if info is not None:
        parts = [
            f"### {escape_markdown(info.record_id)} ({escape_markdown(info.dataset)}, "
            f"{escape_markdown(info.split)} split)",
            f"**Report:** {escape_markdown(readable(info.text) or '—')}",
        ]
        if info.text_en and info.text_en != info.text:
            parts.append(f"**Report (English):** {escape_markdown(info.text_en)}")
        parts.append("**Labels:** " + escape_markdown(info.label_text() or "—"))
    else:
        leads = escape_markdown(", ".join(opened.ecg.present_leads))
        parts = [f"### {escape_markdown(opened.key)} (uploaded)\nLeads present: {leads}"]
    if note := opened.ecg.meta.get(UNCALIBRATED_KEY):
        parts.append(f"**Amplitudes:** {escape_markdown(note)}.")
    if opened.measurements is not None:
        parts.append(measurements_markdown(opened.measurements))
    elif opened.measure_error:
        parts.append(f"#### {MEASUREMENTS_HEADING}\nnot measured: the measurement failed ({opened.measure_error})")
    return "\n\n".join(parts)


def amplitude_caveat(ecg: Any) -> str:
    """A figure-title suffix for an ECG (or an :class:`~core.explorer.Explanation`) whose file does not keep its
    millivolts (LUDB): its grid and calibration pulse show relative sizes only."""
    meta = getattr(ecg, "meta", None) or {}
    return " · amplitudes not calibrated (relative sizes only)" if meta.get(UNCALIBRATED_KEY) else ""


def ecg_plot(opened: OpenedRecord, layout: str = "clinical", fiducials: bool = False) -> go.Figure:
    """The 12-lead figure of an opened ECG, with its measured per-beat fiducial points when ``fiducials``."""
    ecg = opened.ecg
    beats = tuple(getattr(opened.measurements, "beats", ()) or ()) if fiducials else None
    return ecg_figure(
        ecg.signal_mv,
        ecg.fs_hz,
        lead_mask=ecg.lead_mask,
        layout=layout,
        fiducials=beats,
        title=f"{opened.key} · {ecg.fs_hz:g} Hz · {ecg.duration_s:.1f} s{amplitude_caveat(ecg)}",
        duration_s=min(10.0, ecg.duration_s),
    )


def upload_markdown(up: Upload) -> str:
    """Markdown describing an uploaded ECG."""
    ecg = up.ecg
    missing = [n for n, ok in zip(CANONICAL_LEADS, ecg.lead_mask, strict=False) if not ok]
    lines = [
        f"**Loaded** `{ecg.source}` as `{up.key}`: {ecg.fs_hz:g} Hz, {ecg.duration_s:.1f} s, "
        f"{len(ecg.present_leads)} of 12 leads.",
    ]
    if missing:
        lines.append(f"Missing leads (masked for the model): {', '.join(missing)}.")
    if ecg.meta.get("dropped_leads"):
        lines.append(f"Non-standard leads ignored: {', '.join(ecg.meta['dropped_leads'])}.")
    if ecg.meta.get("unusable_leads"):
        lines.append("Unusable leads: " + ", ".join(f"{k} ({v})" for k, v in ecg.meta["unusable_leads"].items()) + ".")
    lines.append("It is now the current ECG, drawn above the tabs: open Zero-shot, Retrieve, Map or Explain.")
    return "\n\n".join(lines)


# ---- retrieval -------------------------------------------------------------------------------------------------------
def neighbours_frame(hits: Sequence[Neighbour], query_id: str | None = None) -> pd.DataFrame:
    """Ranked neighbours (reports or ECGs); the query's own record is marked."""
    rows = []
    for rank, n in enumerate(hits, start=1):
        rid = n.record.record_id + (" (this ECG)" if n.record.record_id == query_id else "")
        rows.append([rank, rid, round(n.similarity, 4), label_summary(n.record.label_list()), n.record.text_en])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def reports_frame(matches: Sequence[ReportMatch]) -> pd.DataFrame:
    """Distinct reports, one row each, with every record that carries the text."""
    rows = []
    for rank, m in enumerate(matches, start=1):
        labels = list(dict.fromkeys(x for r in m.records for x in r.label_list()))
        h = m.hit
        row = [rank, m.record_ids[0], h.count, round(h.score, 4), round(h.lexical, 4), round(h.dense, 4)]
        row += ["hedged" if h.hedged else "", "counterpart" if h.twin else ""]
        rows.append([*row, label_summary(labels), h.text, ", ".join(m.record_ids)])
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


# The values a reader checks a list of ECGs by (name, short label, unit, format), in reading order.
SUMMARY_VALUES: tuple[tuple[str, str, str, str], ...] = (
    ("hr_bpm", "HR", "", "{:.0f}"),
    ("pr_ms", "PR", "", "{:.0f}"),
    ("qrs_ms", "QRS", "", "{:.0f}"),
    ("qtc_ms", "QTc", "", "{:.0f}"),
    ("axis_deg", "axis", "°", "{:+.0f}"),
)


def measurement_summary(m: Any) -> str:
    """One short line of the automated measurements for a list of ECGs: ``"HR 62 · PR 218 · QRS 96 · QTc 430 ·
    axis -45° · regular"``, then premature beats and "paced" where found (rate in bpm, intervals in ms, QTc by
    Bazett as 12-lead machines print it; ``PR –`` where not measured). Empty when ``m`` is None."""
    if m is None:
        return ""
    parts = []
    for name, label, unit, fmt in SUMMARY_VALUES:
        value = _number(getattr(m, name, None))
        parts.append(f"{label} {fmt.format(value)}{unit}" if value is not None else f"{label} –")
    irregular = getattr(m, "irregular", None)
    if irregular is not None:
        parts.append("irregular" if irregular else "regular")
    for kind, name, _ in PREMATURE_KINDS:
        if count := getattr(m, name, None):
            parts.append(f"{count} premature {kind}")
    parts += [pattern for pattern, _ in _grouped_orders(m)]
    if getattr(m, "paced_beats", None):
        parts.append("paced")
    return " · ".join(parts)


# Under a row's measurements, whether they meet the query's measured criteria (core.search.criteria).
# The readings behind the tag follow it: a reader must see which value decided, and why one is undecided.
CRITERIA_TAGS = {True: "✓ meets the criteria", False: "✗ does not meet them", None: "? undecided"}


def thumbnails_html(
    hits: Sequence[Neighbour],
    what: str,
    examples: Collection[str] = (),
    criteria_met: Sequence[bool | None] = (),
    criteria_why: Sequence[str] = (),
) -> str:
    """An HTML table of neighbours with a lead II thumbnail of each one's ECG; each row carries its record id in
    ``data-ecg`` (a click opens it, see :mod:`app.views.retrieve`). Rows whose record id is in ``examples`` say
    "example" under it (a by-example search: that ECG's report states the query); with ``criteria_met`` (one per
    hit), each row's measurements say whether they meet the query's measured criteria, followed by the readings
    behind that (``criteria_why``) where given."""
    measured = any(n.measurements is not None for n in hits)
    rows = []
    for rank, n in enumerate(hits, start=1):
        info = n.record
        rid = html.escape(info.record_id)
        tag = "<br><small class='example-tag'>example</small>" if info.record_id in examples else ""
        met = ""
        if criteria_met:
            verdict = criteria_met[rank - 1]
            reason = criteria_why[rank - 1] if criteria_why else ""
            said = CRITERIA_TAGS[verdict] + (f": {reason}" if reason else "")
            met = f"<br><small class='criteria-tag' data-met='{verdict}'>{html.escape(said)}</small>"
        summary = html.escape(measurement_summary(n.measurements))
        values = f"<td class='measured'>{summary}{met}</td>" if measured else ""
        rows.append(
            f"<tr data-ecg='{rid}' title='open {rid}' style='cursor: pointer'><td>{rank}</td><td><code>{rid}</code>"
            f"{tag}</td><td>{n.similarity:.3f}</td><td>{n.thumbnail_svg}</td>{values}"
            f"<td>{html.escape(label_summary(info.label_list()))}</td><td>{html.escape(info.text_en)}</td></tr>"
        )
    measured_head = (
        "<th title='heart rate in bpm; PR, QRS and QTc (Bazett) in ms; frontal QRS axis; rhythm regular or irregular. "
        "Measured by a machine, not confirmed by a reader: open the ECG to check them on the tracing'>"
        "measured (automated)</th>"
        if measured
        else ""
    )
    head = (
        f"<tr><th>#</th><th>record</th><th>sim.</th><th>lead II</th>{measured_head}<th>labels</th><th>report</th></tr>"
    )
    table = f"<table class='thumb-table'>{head}{''.join(rows)}</table>"
    return f"<b>{html.escape(what)}</b> (click a row to open it){table}"


def message_html(text: str) -> str:
    """A short notice in place of results (escaped: it may quote what the user typed)."""
    return f"<p class='notice'>⚠️ {html.escape(' '.join(str(text).split()))}</p>"


# ---- explain ---------------------------------------------------------------------------------------------------------
def explanation_markdown(ex: Explanation, n: int = 6) -> str:
    """The score and the ``n`` strongest segments (in recording time)."""
    sal = ex.saliency
    lines = [f"**Score** of “{ex.prompt}” with {ex.checkpoint}: {sal.base_score:.3f}. Strongest segments:"]
    for lead, t0, t1, v in sal.top_cells(n):
        effect = "raises" if v > 0 else "lowers"
        where = f"{CANONICAL_LEADS[lead]}, {t0 + ex.offset_s:.1f}–{t1 + ex.offset_s:.1f} s"
        lines.append(f"- {where}: {effect} it by {abs(v):.4f}")
    return "\n".join(lines)


# ---- batch zero-shot -------------------------------------------------------------------------------------------------
BATCH_AUC_COLUMNS = ["class", "positives", "AUC"]


def batch_auc_frame(out: Any) -> pd.DataFrame:
    """Per-class AUC of a :class:`core.explorer.batch.BatchZeroShot` ("—" where a class has no AUC)."""
    rows = [[c, out.positives[c], "—" if out.auc[c] is None else round(out.auc[c], 3)] for c in out.classes]
    return pd.DataFrame(rows, columns=BATCH_AUC_COLUMNS)


def batch_confusion_frame(out: Any) -> pd.DataFrame:
    """The confusion matrix as a table: one row per reference class, one column per predicted class."""
    frame = pd.DataFrame(out.confusion.astype(int), columns=[f"→ {c}" for c in out.classes])
    frame.insert(0, "reference \\ predicted", list(out.classes))
    return frame


def batch_markdown(out: Any, max_skipped: int = 5) -> str:
    """What was scored, which records the AUC and the confusion matrix count, and the uploaded records skipped."""
    uploaded = out.dataset == "upload"
    what = "uploaded records (the first 10 s of each)" if uploaded else f"records of **{escape_markdown(out.dataset)}**"
    text = (
        f"**{out.n}** {what} scored with **{escape_markdown(out.checkpoint)}** ({out.kind}). "
        f"AUC over the {out.n_evaluable} records labelled with at least one of the classes "
        f"(class name = label, case-insensitive); confusion matrix over the {out.n_confusion} records with exactly "
        "one of them (rows: reference, columns: top-1 predicted)."
    )
    skipped = list(getattr(out, "skipped", ()) or ())
    if skipped:
        shown = "; ".join(f"{escape_markdown(n)}: {escape_markdown(short(r, 120))}" for n, r in skipped[:max_skipped])
        more = f" and {len(skipped) - max_skipped} more" if len(skipped) > max_skipped else ""
        text += f"\n\n⚠️ **{len(skipped)} file(s) could not be read** and were skipped: {shown}{more}."
    return text
