"""Automated measurements in the app: the fiducial overlay on the 12-lead figure, the details text, /measurements."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from gradio_client.exceptions import AppError

from app.formatting import (
    LOW_T_LABEL,
    MEASUREMENTS_HEADING,
    Q_WAVE_LABEL,
    SECONDARY_ST,
    ST_ELEVATION_LABEL,
    T_INVERSION_LABEL,
    escape_markdown,
    measurement_lines,
    measurement_summary,
    measurements_markdown,
)
from core.leads import CANONICAL_LEADS
from core.measure import Measurements
from core.plotting import EXCLUDED_COLOR, FIDUCIALS, PREMATURE_MARKS, ecg_figure

FS_HZ = 500.0
# Three beats: the first in the first 2.5 s column, the second (excluded from the medians) and third in the second.
BEATS = (
    {
        "p_on_s": 0.20,
        "p_off_s": 0.30,
        "qrs_on_s": 0.36,
        "qrs_off_s": 0.45,
        "t_on_s": 0.60,
        "t_off_s": 0.80,
        "used": True,
    },
    {
        "p_on_s": 2.70,
        "p_off_s": 2.80,
        "qrs_on_s": 2.86,
        "qrs_off_s": 2.95,
        "t_on_s": 3.10,
        "t_off_s": 3.30,
        "used": False,
    },
    {
        "p_on_s": None,
        "p_off_s": None,
        "qrs_on_s": 3.60,
        "qrs_off_s": 3.69,
        "t_on_s": None,
        "t_off_s": 4.05,
        "used": True,
    },
)


def _signal() -> np.ndarray:
    return np.random.default_rng(0).normal(0, 0.05, (len(CANONICAL_LEADS), int(10 * FS_HZ)))


def _lines(trace) -> list[tuple[float, float, float]]:
    """(x, y bottom, y top) of each vertical line in a fiducial trace (``[x, x, None]`` triples)."""
    xs, ys = list(trace.x), list(trace.y)
    assert len(xs) % 3 == 0 and xs[2::3] == [None] * (len(xs) // 3)
    return [(xs[i], ys[i], ys[i + 1]) for i in range(0, len(xs), 3)]


def _by_name(fig) -> dict:
    return {t.name: t for t in fig.data if t.showlegend}


def test_overlay_draws_each_fiducial_on_every_panel_at_its_time():
    fig = ecg_figure(_signal(), FS_HZ, fiducials=BEATS)
    traces = _by_name(fig)
    names = [name for _, name, _, _ in FIDUCIALS]
    assert set(traces) == {*names, "excluded beat (not in medians)"}
    assert fig.layout.showlegend and "unconfirmed" in fig.layout.legend.title.text
    # Clinical 3x4: a point shows on the 3 leads of its 2.5 s column and on the 10 s rhythm strip.
    assert len(_lines(traces["P onset"])) == 4  # beat 1 only (beat 3 has no P)
    assert len(_lines(traces["QRS onset"])) == 8  # beats 1 and 3
    assert len(_lines(traces["T offset"])) == 8
    assert len(_lines(traces["excluded beat (not in medians)"])) == 5 * 4  # 5 kinds of beat 2, 4 panels
    assert traces["excluded beat (not in medians)"].line.color == EXCLUDED_COLOR

    # Beat 3's QRS onset (3.60 s) lies in column 2 (aVR/aVL/aVF) and on the strip; x is time in seconds on both.
    xs = sorted({round(x, 3) for x, _, _ in _lines(traces["QRS onset"])})
    assert xs == [0.36, 3.6]
    rows = {(round(x, 3), round((lo + hi) / 2, 3)) for x, lo, hi in _lines(traces["QRS onset"])}
    baselines = sorted({round((lo + hi) / 2, 3) for _, lo, hi in _lines(traces["QRS onset"])})
    assert len(baselines) == 4  # 3 lead rows + rhythm strip
    assert {y for x, y in rows if x == 3.6} == set(baselines)  # all rows at that time


def test_overlay_skips_missing_leads_and_follows_the_stacked_layout():
    mask = np.ones(len(CANONICAL_LEADS), bool)
    mask[CANONICAL_LEADS.index("aVL")] = False
    clinical = _by_name(ecg_figure(_signal(), FS_HZ, lead_mask=mask, fiducials=BEATS))
    assert len(_lines(clinical["QRS onset"])) == 7  # beat 3's column has no aVL panel
    stacked = _by_name(ecg_figure(_signal(), FS_HZ, layout="stacked", fiducials=BEATS))
    assert len(_lines(stacked["QRS onset"])) == 2 * len(CANONICAL_LEADS)
    assert {round(x, 3) for x, _, _ in _lines(stacked["QRS onset"])} == {0.36, 3.6}


def test_overlay_accepts_beat_objects_and_draws_nothing_without_beats():
    objects = [SimpleNamespace(**b) for b in BEATS]
    assert len(_by_name(ecg_figure(_signal(), FS_HZ, fiducials=objects))) == 6
    plain = ecg_figure(_signal(), FS_HZ)
    assert not plain.layout.showlegend and not _by_name(plain)
    assert not _by_name(ecg_figure(_signal(), FS_HZ, fiducials=()))


def _measurements(**overrides) -> SimpleNamespace:
    """A Measurements-like object of measure v2's shape (quality, missing, beats)."""
    values = dict(
        hr_bpm=71.6,
        rr_irregularity=0.03,
        irregular=False,
        rmssd_ms=20.0,
        pr_ms=None,
        qrs_ms=96.2,
        qt_ms=392.0,
        qtc_ms=414.0,
        qtc_fridericia_ms=406.0,
        axis_deg=45.0,
        n_beats=3,
        leads_used=("I", "II"),
        version="test-2",
        quality={"hr_bpm": 0.98, "qrs_ms": 0.9, "qt_ms": 0.8},
        missing={"pr_ms": "P waves not found in enough beats"},
        beats=tuple(SimpleNamespace(**b) for b in BEATS),
        sokolow_lyon_mv=2.1,
        limb_qrs_amplitude_mv=1.2,
        precordial_qrs_amplitude_mv=2.3,
        low_voltage=False,
    )
    return SimpleNamespace(**{**values, **overrides})


def test_details_text_says_unconfirmed_with_confidence_and_missing_reasons():
    text = measurements_markdown(_measurements())
    assert MEASUREMENTS_HEADING in text and "unconfirmed" in text and "reader" in text
    lines = measurement_lines(_measurements())
    assert "QRS duration: 96 ms (confidence 0.90)" in lines
    assert "Heart rate: 72 bpm (confidence 0.98)" in lines
    assert "PR interval: not measured: P waves not found in enough beats" in lines
    assert "Frontal QRS axis: +45° (normal)" in lines
    assert "Low QRS voltage: no" in lines
    assert "QTc (Bazett): 414 ms (confidence 0.80)" in lines  # lowest of QT's and heart rate's
    assert "JT interval: not measured: QRS boundaries disagree" in measurement_lines(
        _measurements(jt_ms=None, missing={"qrs_ms": "QRS boundaries disagree"})
    )
    assert "3 beats found, 2 used for the medians; leads used: I, II" in lines
    assert not any("wide QRS" in line for line in lines)
    # A bundle branch block lengthens QT and QTc by its QRS: they say so and point to JT (ptbxl/00180's case).
    wide = measurement_lines(_measurements(qrs_ms=196.0, qt_ms=452.0, qtc_ms=562.0, jt_ms=256.0))
    assert "QTc (Bazett): 562 ms (confidence 0.80); lengthened by the wide QRS (196 ms): read the JT interval" in wide
    assert sum("lengthened by the wide QRS" in line for line in wide) == 3  # QT, Bazett, Fridericia
    assert "JT interval: 256 ms (confidence 0.80)" in wide
    assert not any(line.startswith("PR interval: ") and "ms" in line for line in lines)


def test_details_text_escapes_reasons_and_leaves_out_fields_an_older_version_lacks():
    old = SimpleNamespace(hr_bpm=60.0, qrs_ms=float("nan"), n_beats=10, leads_used=("II",))
    lines = measurement_lines(old)
    assert lines[0] == "Heart rate: 60 bpm"
    assert lines[1] == "QRS duration: not measured: no reason given"  # NaN is no measurement
    assert not any("Sokolow" in line for line in lines)
    evil = measurement_lines(_measurements(missing={"pr_ms": "<img src=x onerror=alert(1)> *bold* [a](b)"}))
    pr = next(line for line in evil if line.startswith("PR interval"))
    assert "<img" not in pr and "&lt;img" in pr and r"\*bold\*" in pr and r"\[a\](b)" in pr
    assert escape_markdown("a & b\n# c $x$") == r"a &amp; b # c \$x\$"


def test_details_text_gives_the_reason_when_nothing_was_measured():
    from core.measure import MEASURE_VERSION, Measurements

    why = "no heartbeats recognised: only 5% of the QRS complexes found resemble each other (noise?)"
    lines = measurement_lines(Measurements(missing={"all": why}, leads_used=("I", "II")))
    # once, not on every row
    version = f"Measurement version: {MEASURE_VERSION}"
    assert lines == [f"Nothing measured: {escape_markdown(why)}", "0 beats found; leads used: I, II", version]
    # a value of an older version measured beside an "all" reason is still shown with it
    partial = measurement_lines(Measurements(hr_bpm=70.0, missing={"all": why}))
    assert partial[0].startswith("Heart rate: 70 bpm") and "PR interval: not measured: no heartbeats" in partial[1]


def test_real_measurements_in_details_and_overlay(services):
    m = services.measurements("ptbxl/00001")  # NORM, 500 Hz, 10 s
    assert m.beats
    lines = measurement_lines(m)
    assert any(re.fullmatch(r"QRS duration: \d+ ms \(confidence [01]\.\d\d\)", line) for line in lines)
    assert f"{m.n_beats} beats found, {sum(b.used for b in m.beats)} used for the medians" in lines[-2]
    traces = _by_name(ecg_figure(services.ecg("ptbxl/00001").signal_mv, 500.0, fiducials=m.beats))
    in_view = [b for b in m.beats if b.qrs_on_s is not None and b.qrs_on_s < 10.0]
    assert len(_lines(traces["QRS onset"])) == 4 * sum(b.used for b in in_view)


def test_measurements_endpoint_returns_json(client, services):
    out = client.predict("ptbxl/00001", api_name="/measurements")
    assert out["ecg"] == "ptbxl/00001"
    assert isinstance(out["qrs_ms"], float) and 40 <= out["qrs_ms"] <= 250
    assert out["hr_bpm"] == pytest.approx(services.measurements("ptbxl/00001").hr_bpm)
    assert out["beats"] and all("qrs_on_s" in b and isinstance(b["used"], bool) for b in out["beats"])
    assert isinstance(out["quality"], dict) and isinstance(out["missing"], dict)
    assert out == {"ecg": "ptbxl/00001", **json.loads(json.dumps(services.measurements("ptbxl/00001").to_dict()))}
    assert out["paced_beats"] == 0 and all(b["pace_s"] is None for b in out["beats"])
    # A normal ECG: upright T waves in I, II, V2-V6 (mV, signed), no T inversion, as lists and not "undecided".
    assert out["t_inversion_leads"] == [] and out["t_inversion_walls"] == []
    assert all(out["per_lead"][lead]["t_mv"] > 0.05 for lead in ("I", "II", "V2", "V3", "V4", "V5", "V6"))
    assert "t_inversion_walls" not in out.get("undecided", {})
    # ... and none low or flat; a QRS of about 100 ms, so no secondary change to suspect.
    assert out["low_t_leads"] == [] and out["low_t_walls"] == [] and out["qrs_not_narrow"] is False
    # ... and V1's P wave read for left atrial abnormality, not met.
    assert isinstance(out["v1_p_terminal_mv"], float) and out["left_atrial_abnormality"] is False


def test_measurements_endpoint_rejects_a_bad_key(client):
    with pytest.raises(AppError, match="ptbxl/99999"):
        client.predict("ptbxl/99999", api_name="/measurements")
    with pytest.raises(AppError, match="ecg_key is empty"):
        client.predict("  ", api_name="/measurements")


def test_an_ecg_without_calibrated_amplitudes_says_so_above_its_measurements_and_on_its_plot(shared_data):
    """A LUDB record (every lead stored at 1 mV, core.data.lead_scaling): the details say why its voltages are not
    given, the figure's title warns that its millivolt grid is not to be trusted, and a PTB-XL record has neither."""
    from app.formatting import ecg_plot, record_markdown
    from app.views.viewer import record_figure
    from core.data.readers import read_ecg
    from core.explorer.service import OpenedRecord
    from core.measure import measure_ecg
    from core.plotting import PaperOptions

    for path, key, flagged in (
        (shared_data / "ludb" / "1.0.1" / "data" / "1", "ludb/1", True),
        (shared_data / "ptb-xl" / "1.0.3" / "records500" / "00000" / "00001_hr", "ptbxl/00001", False),
    ):
        ecg = read_ecg(path, record_id=key)
        opened = OpenedRecord(key=key, ecg=ecg, record=None, measurements=measure_ecg(ecg))
        text = record_markdown(opened)
        titles = (ecg_plot(opened).layout.title.text, record_figure(opened, PaperOptions()).layout.title.text)
        assert ("**Amplitudes:** amplitudes not calibrated" in text) is flagged
        assert all(("amplitudes not calibrated (relative sizes only)" in title) is flagged for title in titles)
        sokolow = next(line for line in measurement_lines(opened.measurements) if line.startswith("Sokolow"))
        assert ("not measured: amplitudes not calibrated" in sokolow) is flagged


def test_a_list_of_ecgs_shows_each_ones_measurements_in_one_line():
    m = SimpleNamespace(hr_bpm=152.4, pr_ms=None, qrs_ms=88.0, qtc_ms=float("nan"), axis_deg=-32.2, irregular=True)
    assert measurement_summary(m) == "HR 152 · PR – · QRS 88 · QTc – · axis -32° · irregular"
    regular = SimpleNamespace(hr_bpm=61.0, pr_ms=218.0, qrs_ms=96.0, qtc_ms=430.0, axis_deg=17.0, irregular=False)
    assert measurement_summary(regular) == "HR 61 · PR 218 · QRS 96 · QTc 430 · axis +17° · regular"
    assert measurement_summary(SimpleNamespace()) == "HR – · PR – · QRS – · QTc – · axis –"
    assert measurement_summary(None) == ""


def test_the_retrieve_ecg_list_shows_the_measurements_of_each_hit(client, services):
    """The text search's ECG list has a column of automated measurements, each row the one of its own ECG."""
    _, _, html = client.predict("sinus rhythm", 3, "all", "", "", False, api_name="/search_text")
    assert "measured (automated)" in html and "not confirmed by a reader" in html
    # "sinus rhythm" is a measured criterion too: each cell's summary is followed by its criteria tag.
    rows = re.findall(r"<tr data-ecg='([^']+)'.*?<td class='measured'>([^<]*)<br><small class='criteria-tag'", html)
    assert len(rows) == 3
    for rid, shown in rows:
        m = services.measurements(rid)
        assert shown.startswith(f"HR {m.hr_bpm:.0f} · ") and f"QRS {m.qrs_ms:.0f}" in shown, (rid, shown)
        assert (" · irregular" if m.irregular else " · regular") in shown, (rid, shown)


def test_premature_beats_are_lettered_above_their_qrs_listed_with_their_times_and_counted_in_the_summary():
    beats = [dict(b, premature=None) for b in BEATS]
    beats[2]["premature"] = "ventricular"  # QRS 3.60-3.69 s: column 2 and the rhythm strip
    traces = _by_name(ecg_figure(_signal(), FS_HZ, fiducials=beats))
    letters = traces["premature ventricular beat (V)"]
    assert letters.mode == "text" and list(letters.text) == ["V"] * 4  # 3 leads of its column + rhythm strip
    assert {round(x, 3) for x in letters.x} == {3.645}
    assert "premature supraventricular beat (S)" not in traces
    assert {name for _, _, name, _ in PREMATURE_MARKS} >= {"premature ventricular beat (V)"}

    m = _measurements(
        premature_ventricular=1,
        premature_supraventricular=None,
        beats=tuple(SimpleNamespace(**b) for b in beats),
        missing={"premature_supraventricular": "the rhythm between the premature beats is itself irregular"},
    )
    line = next(x for x in measurement_lines(m) if x.startswith("Premature beats"))
    assert line == (
        "Premature beats: ventricular 1 at 3.6 s (QRS unlike the dominant beat: ventricular, or aberrantly "
        "conducted); supraventricular not judged: the rhythm between the premature beats is itself irregular"
    )
    none = next(
        x
        for x in measurement_lines(_measurements(premature_ventricular=0, premature_supraventricular=0))
        if x.startswith("Premature")
    )
    assert none == "Premature beats: ventricular 0; supraventricular 0"
    assert not any(x.startswith("Premature") for x in measurement_lines(_measurements()))  # an older version
    summary = SimpleNamespace(hr_bpm=75.0, irregular=False, premature_ventricular=2, premature_supraventricular=0)
    assert measurement_summary(summary) == "HR 75 · PR – · QRS – · QTc – · axis – · regular · 2 premature ventricular"


def test_the_rr_range_is_a_row_and_says_why_it_is_missing():
    from core.measure.measurements import BeatFiducials, Measurements

    varying = tuple(BeatFiducials(t, t + 0.1) for t in (0.0, 0.8, 1.7, 2.5, 3.5))
    assert "RR range (longest − shortest, premature beats left out): 200 ms" in measurement_lines(
        Measurements(hr_bpm=66.0, beats=varying)
    )
    # A P-wave rhythm the atrial-fibrillation rule calls regular, its RR varying by 200 ms: named a sinus arrhythmia.
    sinus = Measurements(hr_bpm=66.0, irregular=False, pr_ms=150.0, beats=varying)
    assert sinus.sinus_arrhythmia is True
    assert (
        "Rhythm: regular; the RR varies by 200 ms with P waves before the QRS: a sinus arrhythmia"
        in measurement_lines(sinus)
    )
    assert Measurements(hr_bpm=66.0, irregular=False, beats=varying).sinus_arrhythmia is None  # no PR: unknown
    assert (
        "RR range (longest − shortest, premature beats left out): not measured: fewer than three RR intervals between "
        "beats that are not premature" in measurement_lines(Measurements(hr_bpm=66.0, beats=varying[:3]))
    )


def test_premature_ventricular_beats_in_bigeminy_say_their_order():
    from core.measure.ectopy import VENTRICULAR
    from core.measure.measurements import BeatFiducials, Measurements

    beats = tuple(BeatFiducials(k + 0.1, k + 0.2, premature=VENTRICULAR if k % 2 else None) for k in range(7))
    m = Measurements(hr_bpm=80.0, irregular=True, premature_ventricular=3, premature_supraventricular=0, beats=beats)
    line = next(x for x in measurement_lines(m) if x.startswith("Premature beats"))
    assert line.startswith(
        "Premature beats: ventricular 3 at 1.1 s, 3.1 s, 5.1 s, in bigeminy: every other beat, 3 in a row or more (QRS"
    )
    assert measurement_summary(m).endswith("· 3 premature ventricular · bigeminy")


def test_a_real_record_with_ventricular_premature_beats_shows_them(shared_data):
    """``ptbxl/02536`` (ptbxl_more, training fold): two PVCs, each followed by a compensatory pause."""
    from core.data.catalogs import load_catalog
    from core.measure import measure_ecg

    catalog = load_catalog("ptbxl", root=shared_data / "ptbxl_more", download=False, rate_hz=100)
    ecg = catalog.read("ptbxl/02536")
    m = measure_ecg(ecg)
    line = next(x for x in measurement_lines(m) if x.startswith("Premature beats"))
    assert re.fullmatch(
        r"Premature beats: ventricular 2 at \d\.\d s, \d\.\d s \(QRS unlike.*\); supraventricular 0", line
    )
    letters = _by_name(ecg_figure(ecg.signal_mv, ecg.fs_hz, fiducials=m.beats))["premature ventricular beat (V)"]
    assert len(letters.x) == 2 * 4  # each PVC on the three leads of its column and on the rhythm strip


def test_an_irregular_rhythm_explained_by_premature_beats_says_it_is_regular_between_them():
    lines = measurement_lines(_measurements(irregular=True, premature_ventricular=2, premature_supraventricular=0))
    assert "Rhythm: irregular; regular between the premature beats" in lines
    # In atrial fibrillation no supraventricular count and no PR are given: its pattern is named.
    af = measurement_lines(_measurements(irregular=True, premature_ventricular=1, premature_supraventricular=None))
    assert "Rhythm: irregular" in af  # a stand-in without the derived value: nothing added
    real_af = Measurements(hr_bpm=120.0, irregular=True, premature_ventricular=1)
    assert "Rhythm: irregular; no P waves before the QRS (atrial fibrillation's pattern)" in measurement_lines(real_af)
    with_p = replace(real_af, pr_ms=150.0)
    assert "Rhythm: irregular; P waves before the QRS" in measurement_lines(with_p)
    regular = measurement_lines(_measurements(irregular=False, premature_ventricular=1, premature_supraventricular=0))
    assert "Rhythm: regular" in regular
    flutter = measurement_lines(Measurements(hr_bpm=144.0, irregular=False, qrs_ms=86.0, qt_ms=300.0))  # ptbxl/10065
    assert any(
        x.startswith("QT interval: 300 ms")
        and x.endswith("in a 2:1 flutter pattern the flutter waves may hide the T wave's end")
        for x in flutter
    )
    assert (
        "Rhythm: regular; no P wave found at this rate: the pattern of atrial flutter with 2:1 conduction (or a "
        "re-entrant SVT)" in flutter
    )


def test_a_paced_record_shows_its_pacemaker_spikes_in_details_summary_and_plot(shared_data):
    """``ptbxl/00385`` (training fold 1, "pacemaker ecg."): a spike before each QRS at 500 Hz; none claimed at
    100 Hz."""
    from core.data.readers import read_ecg
    from core.measure import measure_ecg
    from core.plotting import PACING_MARK

    folder = shared_data / "ptb-xl" / "1.0.3"
    ecg = read_ecg(folder / "records500" / "00000" / "00385_hr")
    m = measure_ecg(ecg)
    line = measurement_lines(m)[0]  # a paced rhythm is read first
    assert line == f"Ventricular pacing: pacemaker spikes before {m.paced_beats} of {m.n_beats} QRS complexes"
    assert m.paced_beats >= 10 and measurement_summary(m).endswith(" · paced")
    marks = _by_name(ecg_figure(ecg.signal_mv, ecg.fs_hz, fiducials=m.beats))[PACING_MARK[0]]
    spikes = {b.pace_s for b in m.beats if b.pace_s is not None}
    assert set(marks.x) == spikes  # each spike marked, on every panel that shows it
    low = measure_ecg(read_ecg(folder / "records100" / "00000" / "00385_lr"))
    line = next(x for x in measurement_lines(low) if x.startswith("Ventricular pacing"))
    assert line.startswith("Ventricular pacing not judged: pacemaker spikes (under 2 ms wide) are not visible at 100")
    assert "paced" not in measurement_summary(low)
    normal = measure_ecg(read_ecg(folder / "records500" / "00000" / "00029_hr"))
    assert "Ventricular pacing: no pacemaker spikes found (a bipolar pacemaker's" in "\n".join(
        measurement_lines(normal)
    )
    assert PACING_MARK[0] not in _by_name(ecg_figure(ecg.signal_mv, ecg.fs_hz, fiducials=normal.beats))


def test_among_paced_beats_an_unlike_beat_may_be_a_conducted_one():
    paced = measurement_lines(
        _measurements(premature_ventricular=1, premature_supraventricular=0, paced_beats=9, n_beats=11)
    )
    assert any("QRS unlike the paced beat: ventricular, or the patient's own conducted beat" in x for x in paced)
    assert "Ventricular pacing: pacemaker spikes before 9 of 11 QRS complexes" in paced


def test_the_details_show_st_depression_and_v1s_r_to_s_or_why_not():
    m = Measurements(hr_bpm=70.0, qrs_ms=96.0, st_depression_mv=0.14, v1_r_to_s=0.1)
    lines = measurement_lines(m)
    assert "ST depression in 2 contiguous leads (J+60 ms): 0.14 mV" in lines and "V1 R/S ratio: 0.10" in lines
    wide = measurement_lines(Measurements(qrs_ms=156.0, st_depression_mv=0.14))
    secondary = f"0.14 mV; with a wide QRS (156 ms) the ST segment moves opposite to it: {SECONDARY_ST}"
    assert any(line.endswith(secondary) for line in wide), wide
    elevated = Measurements(
        hr_bpm=70.0,
        qrs_ms=96.0,
        st_elevation_leads=("II", "III", "aVF"),
        per_lead={"II": {"st_j_mv": 0.18}, "III": {"st_j_mv": 0.3}, "aVF": {"st_j_mv": 0.25}},
    )
    lines = measurement_lines(elevated)
    st_lines = [line for line in lines if line.startswith("ST ")]
    assert st_lines == [  # beside the depression row, each lead with its level
        "ST depression in 2 contiguous leads (J+60 ms): not measured: no reason given",
        f"{ST_ELEVATION_LABEL}: II 0.18, III 0.30, aVF 0.25 mV (inferior)",
    ]
    none = measurement_lines(Measurements(hr_bpm=70.0, st_depression_mv=0.0, st_elevation_leads=()))
    assert ST_ELEVATION_LABEL == "ST elevation at J in 2 contiguous leads (≥ 0.1 mV, in V2-V3 ≥ 0.2 mV)"
    assert f"{ST_ELEVATION_LABEL}: none" in none
    wide = measurement_lines(Measurements(qrs_ms=150.0, st_elevation_leads=("V1", "V2"), per_lead={}))
    assert any(line.startswith("ST elevation") and line.endswith(SECONDARY_ST) for line in wide), wide
    q = Measurements(
        qrs_ms=100.0,
        st_elevation_leads=(),
        q_wave_leads=("V2", "V3"),
        per_lead={"V2": {"q_ms": 74.6, "qs": True}, "V3": {"q_ms": 46.8, "qs": False}},
    )
    assert f"{Q_WAVE_LABEL}: V2 QS, V3 47 ms (anterior)" in measurement_lines(q)
    block = measurement_lines(Measurements(qrs_ms=150.0, st_elevation_leads=(), q_wave_leads=("V2", "V3")))
    assert any(line.startswith(Q_WAVE_LABEL) and "can make Q waves without an infarction" in line for line in block)
    strain = Measurements(
        qrs_ms=100.0,
        st_elevation_leads=(),
        q_wave_leads=(),
        t_inversion_leads=("I", "aVL", "V5", "V6"),
        per_lead={"I": {"t_mv": -0.175}, "aVL": {"t_mv": -0.131}, "V5": {"t_mv": -0.359}, "V6": {"t_mv": -0.344}},
    )
    lines = measurement_lines(strain)
    assert f"{T_INVERSION_LABEL}: I -0.17, aVL -0.13, V5 -0.36, V6 -0.34 mV (lateral)" in lines
    assert lines.index(f"{Q_WAVE_LABEL}: none") + 1 == lines.index(next(x for x in lines if x.startswith("T-wave")))
    flat = Measurements(
        qrs_ms=100.0,
        t_inversion_leads=(),
        low_t_leads=("II", "aVF"),
        per_lead={"II": {"t_mv": 0.061}, "aVF": {"t_mv": -0.02}},
    )
    lines = measurement_lines(flat)
    low = f"{LOW_T_LABEL}: II 0.06, aVF -0.02 mV (inferior)"
    assert low in lines and lines.index(low) == lines.index(f"{T_INVERSION_LABEL}: none") + 1
    assert f"{LOW_T_LABEL}: none" in measurement_lines(Measurements(qrs_ms=100.0, low_t_leads=()))
    wide = measurement_lines(Measurements(qrs_ms=150.0, low_t_leads=("V5", "V6"), per_lead={}))
    assert (
        f"{LOW_T_LABEL}: V5, V6 mV (lateral); with a wide QRS (150 ms) the T wave changes with it: {SECONDARY_ST}"
        in wide
    )
    lbbb = measurement_lines(Measurements(qrs_ms=150.0, st_elevation_leads=(), t_inversion_leads=("V5", "V6")))
    assert any(line.startswith(T_INVERSION_LABEL) and SECONDARY_ST in line for line in lbbb)
    uncalibrated = Measurements(hr_bpm=70.0, missing={"st_depression_mv": "amplitudes not calibrated"})
    said = "ST depression in 2 contiguous leads (J+60 ms): not measured: amplitudes not calibrated"
    assert said in measurement_lines(uncalibrated)


def test_a_finding_a_wide_qrs_would_explain_says_so_when_the_qrs_was_not_measured():
    """A QRS too wide to measure is not measured at all (ptbxl/16488, paced at 100 Hz, "QRS 260 ms is outside 40-250
    ms"): its T-wave inversion, ST elevation and long QT must not read as primary findings."""
    note = "; QRS not measured: a wide QRS, which would explain this, is not excluded"
    paced = Measurements(
        hr_bpm=71.0,
        qt_ms=528.0,
        qtc_ms=576.0,
        st_elevation_leads=("V3", "V4"),
        q_wave_leads=(),
        t_inversion_leads=("V5", "V6"),
        per_lead={"V5": {"t_mv": -0.21}, "V6": {"t_mv": -0.16}},
        missing={"qrs_ms": "QRS 260 ms is outside 40-250 ms"},
    )
    lines = measurement_lines(paced)
    assert "QRS duration: not measured: QRS 260 ms is outside 40-250 ms" in lines
    assert f"{T_INVERSION_LABEL}: V5 -0.21, V6 -0.16 mV (lateral){note}" in lines
    assert f"QTc (Bazett): 576 ms{note}" in lines
    assert any(line.startswith(ST_ELEVATION_LABEL) and line.endswith(note) for line in lines)
    assert f"{Q_WAVE_LABEL}: none" in lines  # no finding, no note
    # Nothing measured at all: no QRS doubt to state (the findings are not measured either).
    assert paced.qrs_not_narrow is True and Measurements(missing={"all": "no heartbeats"}).qrs_not_narrow is None
    narrow = Measurements(qrs_ms=96.0, t_inversion_leads=("V5", "V6"), per_lead={})
    assert not any("not excluded" in line for line in measurement_lines(narrow))


def test_voltage_rows_say_when_a_paced_wide_or_unmeasured_qrs_makes_them_unreliable():
    """Sokolow-Lyon and Cornell read hypertrophy on a conducted QRS: ptbxl/16488 (paced, QRS not measured) shows
    Cornell 2.76 mV, which must not read as a hypertrophy by itself."""
    narrow = measurement_lines(Measurements(qrs_ms=96.0, sokolow_lyon_mv=4.87, cornell_mv=1.13))
    assert "Sokolow-Lyon index: 4.87 mV" in narrow and "Cornell voltage (R aVL + S V3): 1.13 mV" in narrow
    wide = measurement_lines(Measurements(qrs_ms=150.0, sokolow_lyon_mv=4.2, cornell_mv=3.0))
    said = "; with a wide QRS (150 ms) voltage criteria are less reliable: a bundle branch block changes them"
    assert f"Sokolow-Lyon index: 4.20 mV{said}" in wide and f"Cornell voltage (R aVL + S V3): 3.00 mV{said}" in wide
    paced = measurement_lines(
        Measurements(hr_bpm=71.0, cornell_mv=2.76, paced_beats=8, missing={"qrs_ms": "QRS 260 ms is outside 40-250 ms"})
    )
    said = "; paced QRS complexes: voltage criteria do not read hypertrophy"
    assert f"Cornell voltage (R aVL + S V3): 2.76 mV{said}" in paced
    unmeasured = measurement_lines(
        Measurements(hr_bpm=71.0, cornell_mv=2.76, missing={"qrs_ms": "QRS 260 ms is outside 40-250 ms"})
    )
    note = "; QRS not measured: a wide QRS, which changes the voltages, is not excluded"
    assert f"Cornell voltage (R aVL + S V3): 2.76 mV{note}" in unmeasured


def test_the_v1_p_terminal_force_row_follows_the_r_to_s_row_and_says_whether_morris_is_met():
    from app.formatting import P_TERMINAL_LABEL

    deep = measurement_lines(Measurements(qrs_ms=96.0, v1_r_to_s=0.2, v1_p_terminal_mv=0.159, v1_p_terminal_ms=78.7))
    row = f"{P_TERMINAL_LABEL}: 0.16 mV deep, 79 ms (met: left atrial abnormality)"
    assert row in deep and deep.index(row) == deep.index("V1 R/S ratio: 0.20") + 1
    shallow = measurement_lines(Measurements(qrs_ms=96.0, v1_p_terminal_mv=0.034, v1_p_terminal_ms=88.0))
    assert f"{P_TERMINAL_LABEL}: 0.03 mV deep, 88 ms (not met)" in shallow
    upright = measurement_lines(Measurements(qrs_ms=96.0, v1_p_terminal_mv=0.0, v1_p_terminal_ms=0.0))
    assert f"{P_TERMINAL_LABEL}: none (no negative end)" in upright
    why = "needs V1 and two beats with a P wave"
    af = measurement_lines(Measurements(qrs_ms=96.0, missing={"v1_p_terminal_mv": why, "v1_p_terminal_ms": why}))
    assert f"{P_TERMINAL_LABEL}: not measured: {why}" in af
