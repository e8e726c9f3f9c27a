"""How the pacing rule was chosen (:mod:`core.measure.pacing`), rerun on the training parts at 500 Hz only.

``python -m core.measure.pacing_dev --data-root ../shared/data`` prints, for each candidate rule, how many records
labelled paced (``PACE``, :mod:`core.measure.reference_labels`) read paced and how many without that label do:

* openecg's detector on lead II alone (3 or more spikes);
* its spikes voted across the 8 independent leads (:func:`core.measure.pacing.spike_times`, 3 or more);
* the vote timed to the QRS onset (the shipped rule, ``measure_ecg(...).paced_beats``);
* a hand-written rule in its place: a second difference over 0.3 of the lead's 1st-99th percentile range on 4 of
  the 8 leads, timed to the QRS onset like the shipped one.

Held-out records are never read here.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from core.ecg import ECG
from core.measure import measure_ecg
from core.measure.pacing import AFTER_QRS_ONSET_MS, BEFORE_QRS_MS, MIN_PACED_BEATS, PACING_LEADS, spike_times
from core.measure.plausibility import split_group
from core.measure.reference_labels import SOURCES, reference_labels, source_records

DEV_SOURCES = ("ptbxl@500", "cinc2021@500", "ludb@500")
HAND_RATIO = 0.3
HAND_LEADS = 4


def _lead_rows(ecg: ECG) -> list[int]:
    return [i for i, name in enumerate(ecg.lead_names) if name in PACING_LEADS and ecg.lead_mask[i]]


def _events(samples: np.ndarray, gap: int) -> np.ndarray:
    """The first sample of each run of samples closer than ``gap`` to the previous one."""
    if samples.size == 0:
        return samples
    return samples[np.r_[True, np.diff(samples) > gap]]


def hand_written_spikes(ecg: ECG) -> np.ndarray:
    """Samples where the second difference exceeds :data:`HAND_RATIO` of each lead's range on :data:`HAND_LEADS`
    independent leads (within one sample)."""
    x = ecg.signal_mv[_lead_rows(ecg)].astype(np.float64)
    d2 = np.zeros_like(x)
    d2[:, 1:-1] = np.abs(x[:, 2:] - 2 * x[:, 1:-1] + x[:, :-2])
    span = np.percentile(x, 99, axis=1) - np.percentile(x, 1, axis=1) + 1e-6
    rel = d2 / span[:, None]
    rel = np.maximum(rel, np.maximum(np.roll(rel, 1, axis=1), np.roll(rel, -1, axis=1)))
    return _events(np.flatnonzero((rel > HAND_RATIO).sum(axis=0) >= HAND_LEADS), gap=round(0.04 * ecg.fs_hz))


def timed(spike_s: np.ndarray, qrs_on_s: list[float]) -> int:
    """QRS complexes with a spike in the shipped rule's window before their onset."""
    lo, hi = BEFORE_QRS_MS / 1000.0, AFTER_QRS_ONSET_MS / 1000.0
    return sum(bool(np.any((spike_s >= on - lo) & (spike_s <= on + hi))) for on in qrs_on_s)


def rule_reads(ecg: ECG) -> dict[str, bool]:
    """Whether each candidate rule reads the ECG paced."""
    from openecg.pacer import detect_pacings

    meas = measure_ecg(ecg)
    onsets = [b.qrs_on_s for b in meas.beats if b.qrs_on_s is not None]
    lead_ii = ecg.lead_names.index("II")
    voted = spike_times(ecg)
    return {
        "openecg, lead II alone": len(detect_pacings(ecg.signal_mv[lead_ii].astype(np.float64), round(ecg.fs_hz))) >= 3,
        "openecg, 8-lead vote": voted is not None and len(voted) >= 3,
        "openecg, vote + QRS timing (shipped)": bool(meas.paced_beats),
        "hand-written, 4 leads + QRS timing": timed(hand_written_spikes(ecg) / ecg.fs_hz, onsets) >= MIN_PACED_BEATS,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    args = parser.parse_args(argv)
    counts: Counter = Counter()
    totals: Counter = Counter()
    for key in DEV_SOURCES:
        for record, catalog in source_records(SOURCES[key], args.data_root):
            if split_group(record.split) != "train":
                continue
            ecg = catalog.read(record.record_id)
            if ecg.fs_hz != 500:
                continue
            paced = "PACE" in reference_labels(record)
            totals[paced] += 1
            for rule, reads in rule_reads(ecg).items():
                counts[(rule, paced)] += reads
    print(f"training records at 500 Hz ({', '.join(DEV_SOURCES)}): {totals[True]} paced, {totals[False]} not")
    print("| rule | paced read paced | not paced read paced |\n|---|---|---|")
    for rule in dict.fromkeys(rule for rule, _ in counts):
        print(f"| {rule} | {counts[(rule, True)]} of {totals[True]} | {counts[(rule, False)]} of {totals[False]} |")


if __name__ == "__main__":
    main()
