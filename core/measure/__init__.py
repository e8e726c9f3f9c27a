"""Waveform measurements (HR, RR irregularity, PR, QRS, QT/QTc, frontal axis) from the ECG signal.

``measure_ecg(ecg) -> Measurements``; ``Measurements.to_sentence()`` gives the English sentence for a report.
Delineation is a small U-Net trained on LUDB (:mod:`core.measure.train_delineator`), validated out-of-fold against
LUDB's manual annotations (:mod:`core.measure.validate`).
"""

from core.measure.measurements import (
    IRREGULAR_RR_CV,
    IRREGULAR_RR_STEP,
    MEASURE_VERSION,
    WIDE_QRS_MS,
    BeatFiducials,
    Measurements,
    axis_category,
    is_irregular,
    measure_ecg,
    rr_step_irregularity,
)

__all__ = [
    "IRREGULAR_RR_CV",
    "IRREGULAR_RR_STEP",
    "is_irregular",
    "rr_step_irregularity",
    "MEASURE_VERSION",
    "WIDE_QRS_MS",
    "BeatFiducials",
    "Measurements",
    "axis_category",
    "measure_ecg",
]
