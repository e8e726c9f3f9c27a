"""How the T-wave inversion rule was chosen (:mod:`core.measure.t_waves`), rerun on PTB-XL training records.

``python -m core.measure.t_dev --data-root ../shared/data`` measures the training folds (1-8) of ``ptbxl_more``
(100 Hz) and of the 500-record folder (500 Hz): the records whose report names leads with inverted or negative T
waves (:func:`core.measure.reference_labels.stated_t_inversion_leads`), those coded ``INVT`` and the normal ECGs
(``NORM``, at most one other code, no T inversion named). For each candidate (:data:`CANDIDATES`: how the T wave
is read, the baseline, the median beat or each beat, the depth), it prints how many named leads and normal-ECG
leads it calls inverted (aVR, III and V1 not counted among the normal ones) and on how many records of each group
two contiguous leads are.

Held-out folds are never read here.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.measure import measure_ecg
from core.measure.dev_table import print_counts
from core.measure.plausibility import split_group
from core.measure.reference_labels import SOURCES, source_records, stated_t_inversion_leads
from core.measure.t_waves import NOT_READ, T_GROUPS, lead_t_amplitudes, t_amplitude, t_wave_windows

GROUPS = ("T inversion named", "INVT", "NORM")
DATA = ("ptbxl_more@100", "ptbxl@500")


def larger_deflection(wave: np.ndarray) -> float:
    """The peak or the trough, whichever is farther from the baseline (signed)."""
    high, low = float(wave.max()), float(wave.min())
    return high if high >= -low else low


def any_negative_phase(wave: np.ndarray) -> float:
    """The trough wherever it reaches 0.1 mV below the baseline, an initial negative phase too; else the peak."""
    return float(wave.min()) if wave.min() <= -0.1 else float(wave.max())


# name -> (reading, sloped baseline, median beat, depth in mV); the first is shipped.
CANDIDATES: dict[str, tuple[Callable[[np.ndarray], float], bool, bool, float]] = {
    "median beat's larger or terminal negative deflection, sloped baseline, 0.1 mV": (t_amplitude, True, True, 0.1),
    "larger deflection only": (larger_deflection, True, True, 0.1),
    "any negative phase": (any_negative_phase, True, True, 0.1),
    "PR segment alone as the baseline": (t_amplitude, False, True, 0.1),
    "each beat read, then the median": (t_amplitude, True, False, 0.1),
    "0.05 mV": (t_amplitude, True, True, 0.05),
}


def groups_of(codes: set[str], named: frozenset[str]) -> list[str]:
    """The :data:`GROUPS` a record falls in (several, or none)."""
    out = ["T inversion named"] if named else []
    out += ["INVT"] if "INVT" in codes else []
    if not out and "NORM" in codes and len(codes) <= 2:
        out.append("NORM")
    return out


def inverted_leads(amplitudes: dict[str, float], depth: float) -> set[str]:
    """The leads (all but the ones not read) whose amplitude is ``depth`` or more below the baseline."""
    return {n for n, v in amplitudes.items() if n not in NOT_READ and v <= -depth}


def two_contiguous(inverted: set[str]) -> bool:
    """Whether two leads of one wall (:data:`~core.measure.t_waves.T_GROUPS`) are among ``inverted``."""
    return any(len(inverted & set(leads)) >= 2 for leads in T_GROUPS.values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    args = parser.parse_args(argv)
    for source in DATA:
        counts: Counter = Counter()
        for record, catalog in source_records(SOURCES[source], args.data_root):
            named = stated_t_inversion_leads(record.text_en)
            groups = groups_of(set(record.meta.get("scp_codes") or {}), named)
            if not groups or split_group(record.split) != "train":
                continue
            ecg = catalog.read(record.record_id)
            windows = t_wave_windows(measure_ecg(ecg).beats)
            for group in groups:
                counts[(group, "n")] += 1
            read = {
                name: lead_t_amplitudes(ecg, windows, reading=reading, sloped_baseline=sloped, median_beat=median)
                for name, (reading, sloped, median, _) in CANDIDATES.items()
            }
            measured = set(next(iter(read.values())))  # the shipped reading's leads
            lead_sets = {"named leads": (named - {"aVR"}) & measured}
            if groups == ["NORM"]:
                lead_sets["NORM leads"] = {n for n in measured if n not in NOT_READ}
            for kind, leads in lead_sets.items():
                counts[(kind, "n")] += len(leads)
            for name, (*_, depth) in CANDIDATES.items():
                amplitudes = read[name]
                for kind, leads in lead_sets.items():
                    counts[(kind, name)] += len(leads & {n for n, v in amplitudes.items() if v <= -depth})
                for group in groups:
                    counts[(group, name)] += two_contiguous(inverted_leads(amplitudes, depth))
        columns = ["named leads", "NORM leads", *GROUPS]
        print_counts(
            f"{source} training folds: leads and records with inverted T waves (two contiguous leads)",
            "candidate",
            [(c, counts[(c, "n")]) for c in columns],
            {name: [counts[(c, name)] for c in columns] for name in CANDIDATES},
        )
        print()


if __name__ == "__main__":
    main()
