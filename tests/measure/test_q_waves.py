"""Q waves per lead and the pathological ones two contiguous leads share (core/measure/q_waves.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.data.catalogs import load_catalog
from core.ecg import ECG
from core.leads import CANONICAL_LEADS, LEAD_INDEX
from core.measure import measure_ecg
from core.measure.q_waves import lead_q_waves, pathological, pathological_q_leads


def _beats(fs: float, q_ms: float, q_mv: float, lead: str = "III") -> tuple[ECG, list[tuple[float, float]]]:
    """Three beats: an upright R in every lead; in ``lead`` a Q of ``q_ms`` and ``q_mv`` before it."""
    t = np.arange(int(4 * fs)) / fs
    signal = np.zeros((12, t.size))
    windows = []
    for on in (0.6, 1.6, 2.6):
        q_end = on + q_ms / 1000.0
        for i in range(12):
            r_start = q_end if i == LEAD_INDEX[lead] else on
            r = (t >= r_start) & (t < r_start + 0.06)
            signal[i, r] += 1.0 * np.sin(np.pi * (t[r] - r_start) / 0.06)
        q = (t >= on) & (t < q_end)
        signal[LEAD_INDEX[lead], q] -= q_mv * np.sin(np.pi * (t[q] - on) / (q_ms / 1000.0))
        windows.append((on, q_end + 0.07))
    return ECG(signal, fs, np.ones(12, dtype=bool)), windows


@pytest.mark.parametrize("fs", [100.0, 500.0])
def test_a_q_wave_reads_its_width_and_depth_alike_at_100_and_500_hz(fs: float):
    ecg, windows = _beats(fs, q_ms=40.0, q_mv=0.3)
    q = lead_q_waves(ecg, windows)
    assert q["III"]["q_ms"] == pytest.approx(40.0, abs=6.0) and q["III"]["q_mv"] == pytest.approx(0.3, abs=0.05)
    assert not q["III"]["qs"] and q["II"]["q_ms"] == 0.0  # an R first: no Q


def test_the_universal_definitions_limits_by_lead():
    assert pathological("III", {"q_ms": 35.0, "q_mv": 0.2, "qs": False})
    assert not pathological("V6", {"q_ms": 25.0, "q_mv": 0.2, "qs": False})  # a septal q: narrow
    assert not pathological("aVL", {"q_ms": 35.0, "q_mv": 0.08, "qs": False})  # shallow
    assert pathological("V2", {"q_ms": 22.0, "q_mv": 0.05, "qs": False})  # V2-V3: any Q of 20 ms
    assert pathological("V3", {"q_ms": 0.0, "q_mv": 0.0, "qs": True})
    assert not pathological("V1", {"q_ms": 80.0, "q_mv": 1.0, "qs": True})  # QS is normal in V1
    assert not pathological("aVR", {"q_ms": 80.0, "q_mv": 1.0, "qs": True})
    q = {"q_ms": 40.0, "q_mv": 0.3, "qs": False}
    flat = {n: {"q_ms": 0.0, "q_mv": 0.0, "qs": False} for n in CANONICAL_LEADS}
    assert pathological_q_leads(flat | {"III": q}) == ()  # one inferior lead
    assert pathological_q_leads(flat | {"III": q, "aVF": q}) == ("III", "aVF")
    assert pathological_q_leads(flat | {"II": q, "V5": q}) == ()  # two walls, one lead each
    assert pathological_q_leads({"V2": q}) is None


def test_real_records(shared_data):
    """``ptbxl/00270`` (training folds; its report names Q waves in V2): Q waves in V2-V3; ``ptbxl/00001``
    (normal): none; LUDB keeps no millivolts: not measured, with the reason."""
    ptbxl = load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", download=False, rate_hz=500)
    anterior = measure_ecg(ptbxl.read("ptbxl/00270"))
    assert anterior.q_wave_leads == ("V2", "V3") and anterior.q_wave_walls == ("anterior",)
    assert anterior.to_dict()["q_wave_walls"] == ["anterior"]
    assert measure_ecg(ptbxl.read("ptbxl/00001")).q_wave_leads == ()
    ludb = measure_ecg(load_catalog("ludb", root=shared_data / "ludb" / "1.0.1", download=False).read("ludb/21"))
    assert ludb.q_wave_leads is None and "not calibrated" in ludb.missing["q_wave_leads"]
