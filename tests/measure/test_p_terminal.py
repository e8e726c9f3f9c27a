"""V1's P terminal force (core/measure/p_terminal.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core.ecg import ECG
from core.leads import LEAD_INDEX
from core.measure.measurements import BeatFiducials
from core.measure.p_terminal import PTerminal, negative_end, p_wave_windows, v1_p_terminal


def _biphasic_p(
    fs: float, up_mv: float, down_mv: float, down_s: float = 0.05, n: int = 5, offset_mv: float = 0.3
) -> tuple[ECG, list]:
    """``n`` beats of 1 s on a baseline of ``offset_mv``: in V1 a P wave of ``up_mv`` for 50 ms, then ``-down_mv``
    for ``down_s`` (half sines), the QRS 160 ms after the P onset. Windows as (P onset, P offset, QRS onset)."""
    t = np.arange(int((n + 0.5) * fs)) / fs
    signal = np.full((12, t.size), offset_mv)
    windows = []
    for i in range(n):
        p_on = 0.4 + i
        up = (t >= p_on) & (t < p_on + 0.05)
        down = (t >= p_on + 0.05) & (t < p_on + 0.05 + down_s)
        row = signal[LEAD_INDEX["V1"]]
        row[up] += up_mv * np.sin(np.pi * (t[up] - p_on) / 0.05)
        row[down] -= down_mv * np.sin(np.pi * (t[down] - p_on - 0.05) / down_s)
        qrs = (t >= p_on + 0.16) & (t < p_on + 0.24)
        signal[:, qrs] += np.sin(np.pi * (t[qrs] - p_on - 0.16) / 0.08)
        windows.append((p_on, p_on + 0.05 + down_s, p_on + 0.16))
    return ECG(signal, fs, np.ones(12, dtype=bool)), windows


@pytest.mark.parametrize("fs", [100.0, 500.0])
def test_a_deep_wide_negative_end_meets_morris_criterion_at_both_rates(fs: float):
    """0.15 mV for 50 ms: Morris' 1 mm by 1 mm is met; the length is read between the baseline crossings, not in
    10 ms steps at 100 Hz."""
    ecg, windows = _biphasic_p(fs, up_mv=0.08, down_mv=0.15)
    found = v1_p_terminal(ecg, windows)
    assert found is not None and found.abnormal
    assert found.depth_mv == pytest.approx(0.15, abs=0.02)
    assert found.duration_ms == pytest.approx(50.0, abs=6.0)
    assert found.force == pytest.approx(found.depth_mv * found.duration_ms)


def test_a_small_or_short_negative_end_does_not():
    shallow = v1_p_terminal(*_biphasic_p(500.0, up_mv=0.08, down_mv=0.05))
    short = v1_p_terminal(*_biphasic_p(500.0, up_mv=0.08, down_mv=0.2, down_s=0.025))
    assert shallow is not None and not shallow.abnormal and shallow.depth_mv == pytest.approx(0.05, abs=0.01)
    assert short is not None and not short.abnormal and short.duration_ms < 40.0
    upright = v1_p_terminal(*_biphasic_p(500.0, up_mv=0.1, down_mv=0.0))
    assert upright == PTerminal(0.0, 0.0)


def test_without_v1_or_two_beats_nothing_is_read():
    ecg, windows = _biphasic_p(500.0, up_mv=0.08, down_mv=0.15)
    no_v1 = ECG(ecg.signal_mv, ecg.fs_hz, np.array([name != "V1" for name in LEAD_INDEX]))
    assert v1_p_terminal(no_v1, windows) is None
    assert v1_p_terminal(ecg, windows[:1]) is None


def test_the_last_negative_run_is_read_with_interpolated_crossings():
    """An early negative dip then the terminal one: the terminal one counts; crossings fall between samples."""
    wave = np.array([0.0, -0.02, 0.01, 0.05, 0.02, -0.1, -0.2, -0.1, 0.1])
    found = negative_end(wave, 10.0)
    assert found.depth_mv == pytest.approx(0.2)
    # From 4 + 0.02 / 0.12 to 7 + 0.1 / 0.2 samples: 3.33 samples of 10 ms.
    assert found.duration_ms == pytest.approx(33.3, abs=0.1)
    assert negative_end(np.array([0.0, 0.1, 0.0]), 10.0) == PTerminal(0.0, 0.0)


def test_windows_leave_out_premature_unused_and_undelineated_beats():
    beats = [
        BeatFiducials(qrs_on_s=1.16, qrs_off_s=1.24, p_on_s=1.0, p_off_s=1.1),
        BeatFiducials(qrs_on_s=2.16, qrs_off_s=2.24, p_on_s=2.0, p_off_s=2.1, premature="supraventricular"),
        BeatFiducials(qrs_on_s=3.16, qrs_off_s=3.24, p_on_s=3.0, p_off_s=3.1, used=False),
        BeatFiducials(qrs_on_s=4.16, qrs_off_s=4.24, p_on_s=None, p_off_s=4.1),
    ]
    assert p_wave_windows(beats) == [(1.0, 1.1, 1.16)]


def test_values_are_plain_floats_for_json():
    found = v1_p_terminal(*_biphasic_p(100.0, up_mv=0.08, down_mv=0.15))
    assert type(found.depth_mv) is float and type(found.duration_ms) is float


@pytest.mark.parametrize(
    ("record_id", "abnormal"),
    [
        # training fold, coded LAO/LAE (and LVH, ASMI): V1's P wave up then 0.16 mV down for about 80 ms (plotted)
        ("ptbxl/00652", True),
        # training fold, NORM: a shallow, wholly negative P wave in V1 (0.03 mV): long, but not deep
        ("ptbxl/00523", False),
    ],
)
def test_real_p_waves_read_as_plotted(shared_data, record_id: str, abnormal: bool):
    from core.data.catalogs import load_catalog
    from core.measure import measure_ecg

    catalog = load_catalog("ptbxl", root=shared_data / "ptbxl_more", download=False, rate_hz=100)
    m = measure_ecg(catalog.read(record_id))
    assert m.left_atrial_abnormality is abnormal
    assert m.v1_p_terminal_ms >= 40.0  # both negative for 40 ms or more: the depth decides
