"""The frontal QRS axis (core/measure/amplitude.py): hexaxial geometry, and the deflections for a wide QRS."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.ecg import ECG
from core.leads import CANONICAL_LEADS
from core.measure import axis_category
from core.measure.amplitude import frontal_axis_deg

FS_HZ = 500.0
ONSET_S = 0.5


def _limb_leads(waveform: np.ndarray, angle_deg: float, terminal: np.ndarray | None = None, terminal_deg=0.0):
    """12 leads whose limb leads see a frontal vector ``waveform`` at ``angle_deg`` (Einthoven's triangle and
    Goldberger's leads), plus an optional second vector (a late, slow force) at ``terminal_deg``."""

    def project(x: np.ndarray, deg: float) -> dict[str, np.ndarray]:
        a = math.radians(deg)
        lead_i, lead_ii, lead_iii = (x * math.cos(a - math.radians(k)) for k in (0, 60, 120))
        return {
            "I": lead_i,
            "II": lead_ii,
            "III": lead_iii,
            "aVR": -(lead_i + lead_ii) / 2,
            "aVL": (lead_i - lead_iii) / 2,
            "aVF": (lead_ii + lead_iii) / 2,
        }

    limb = project(waveform, angle_deg)
    if terminal is not None:
        late = project(terminal, terminal_deg)
        limb = {k: v + late[k] for k, v in limb.items()}
    signal = np.zeros((12, waveform.size))
    for i, name in enumerate(CANONICAL_LEADS[:6]):
        signal[i] = limb[name]
    return ECG.from_leads(signal, FS_HZ, CANONICAL_LEADS, record_id="axis")


def _pulse(start_s: float, width_s: float, n: int) -> np.ndarray:
    """A triangular deflection of 1 mV peak."""
    x = np.zeros(n)
    a, b = int(start_s * FS_HZ), int((start_s + width_s) * FS_HZ)
    x[a:b] = 1.0 - np.abs(np.linspace(-1.0, 1.0, b - a))
    return x


@pytest.mark.parametrize("angle", [-75.0, -45.0, -30.0, 0.0, 30.0, 60.0, 90.0, 120.0, 150.0])
def test_a_narrow_qrs_reads_the_angle_it_was_drawn_at(angle: float):
    n = int(2 * FS_HZ)
    ecg = _limb_leads(_pulse(ONSET_S, 0.08, n), angle)
    axis = frontal_axis_deg(ecg, [(ONSET_S, ONSET_S + 0.08)])
    assert axis == pytest.approx(angle, abs=0.5)  # v2.9 read -30° as -26.6° (atan2(aVF, I) without aVF's scale)


def test_a_wide_qrs_is_read_from_its_deflections_not_the_slow_terminal_area():
    """A tall narrow R at -60° (left axis) then a broad, lower terminal force at +150°/-150° (right bundle branch
    block's slow terminal S waves): the area is dominated by the late force, the deflections by the R."""
    n = int(2 * FS_HZ)
    initial = _pulse(ONSET_S, 0.06, n)
    terminal = 0.45 * _pulse(ONSET_S + 0.05, 0.09, n)
    ecg = _limb_leads(initial, -60.0, terminal, terminal_deg=-150.0)
    window = [(ONSET_S, ONSET_S + 0.14)]  # 140 ms: wide
    axis = frontal_axis_deg(ecg, window)
    assert axis_category(axis) == "left axis deviation" and -90.0 <= axis < -30.0
    # The same complex read by area would be "extreme": what v2.9 said of such records.
    lead_i, avf = (
        ecg.lead(name)[int(ONSET_S * FS_HZ) : int((ONSET_S + 0.14) * FS_HZ) + 1].sum() for name in ("I", "aVF")
    )
    assert axis_category(math.degrees(math.atan2(avf * 2 / math.sqrt(3), lead_i))) == "extreme axis deviation"
    # Narrower than 120 ms, the area decides.
    assert frontal_axis_deg(ecg, [(ONSET_S, ONSET_S + 0.11)]) != pytest.approx(axis, abs=1.0)


def test_no_qrs_window_or_no_frontal_leads_gives_no_axis():
    n = int(2 * FS_HZ)
    ecg = _limb_leads(_pulse(ONSET_S, 0.08, n), 30.0)
    assert frontal_axis_deg(ecg, []) is None
    only_chest = ECG.from_leads(np.tile(_pulse(ONSET_S, 0.08, n), (6, 1)), FS_HZ, CANONICAL_LEADS[6:])
    assert frontal_axis_deg(only_chest, [(ONSET_S, ONSET_S + 0.08)]) is None
