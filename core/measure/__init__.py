"""Waveform measurements (HR, RR irregularity, PR, QRS, QT/QTc, frontal axis) from the ECG signal.

``measure_ecg(ecg) -> Measurements``; ``Measurements.to_sentence()`` gives the English sentence for a report.
Delineation is a small U-Net trained on LUDB (:mod:`core.measure.train_delineator`), validated out-of-fold against
LUDB's manual annotations (:mod:`core.measure.validate`).
"""

from core.measure.measurements import (
    IRREGULAR_RR_CV,
    MEASURE_VERSION,
    BeatFiducials,
    Measurements,
    axis_category,
    measure_ecg,
)

__all__ = ["IRREGULAR_RR_CV", "MEASURE_VERSION", "BeatFiducials", "Measurements", "axis_category", "measure_ecg"]
