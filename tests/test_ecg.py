import numpy as np
import pytest

from core.ecg import ECG
from core.errors import ECGLeadError, ECGSignalError
from core.leads import CANONICAL_LEADS, canonical_lead_name


def test_lead_names_map_to_canonical_spellings():
    assert canonical_lead_name("AVR") == "aVR"
    assert canonical_lead_name("avl") == "aVL"
    assert canonical_lead_name("Lead V1") == "V1"
    assert canonical_lead_name("MLII") == "II"
    assert canonical_lead_name("i") == "I"
    assert canonical_lead_name("foo") is None


def test_from_leads_reorders_by_name_never_by_position():
    # MIMIC-IV-ECG order: aVF before aVL.
    names = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]
    signal = np.stack([np.sin(np.linspace(0, 10, 500)) * (i + 1) for i in range(12)])
    ecg = ECG.from_leads(signal, 500, names)
    assert ecg.lead_names == CANONICAL_LEADS
    np.testing.assert_allclose(ecg.lead("aVL"), signal[5], rtol=1e-6)
    np.testing.assert_allclose(ecg.lead("aVF"), signal[4], rtol=1e-6)
    assert ecg.lead_mask.all()


def test_missing_and_flat_leads_are_masked():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(3, 1000))
    signal[2] = 0.0
    ecg = ECG.from_leads(signal, 250, ["II", "V1", "V2"], channel_axis=0)
    assert ecg.present_leads == ("II", "V1")
    assert ecg.meta["unusable_leads"] == {"V2": "flat"}
    assert ecg.signal_mv.shape == (12, 1000)


@pytest.mark.parametrize(
    "signal, fs, names, error, words",
    [
        (np.ones((2, 0)), 500, ["I", "II"], ECGSignalError, "zero samples"),
        (np.random.rand(2, 100), 1e6, ["I", "II"], ECGSignalError, "sampling rate"),
        (np.random.rand(2, 100), 500, ["I", "foo"], ECGLeadError, "unknown lead"),
        (np.random.rand(2, 100), 500, ["I", "I"], ECGLeadError, "twice"),
        (np.full((2, 100), np.nan), 500, ["I", "II"], ECGSignalError, "no usable lead"),
    ],
)
def test_bad_arrays_raise_typed_errors(signal, fs, names, error, words):
    with pytest.raises(error, match=words):
        ECG.from_leads(signal, fs, names, source="upload.npy")
