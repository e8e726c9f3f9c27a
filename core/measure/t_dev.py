"""How the T-wave inversion rule was chosen (:mod:`core.measure.t_waves`), rerun on PTB-XL training records.

``python -m core.measure.t_dev --data-root ../shared/data`` measures the training folds (1-8) of ``ptbxl_more``
(100 Hz) and of the 500-record folder (500 Hz): the records whose report names leads with inverted or negative T
waves (:func:`core.measure.reference_labels.stated_t_inversion_leads`), those coded ``INVT`` and the normal ECGs
(``NORM``, at most one other code, no T inversion named). For each candidate (:data:`CANDIDATES`: how the T wave
is read, the baseline, the median beat or each beat, the depth), it prints how many named leads and normal-ECG
leads it calls inverted (aVR, III and V1 not counted among the normal ones) and on how many records of each group
two contiguous leads are.

A second table does the same for low or flat T waves (:func:`core.measure.t_waves.low_t_leads`), against the leads
each report names T waves low or flat in (:func:`core.measure.reference_labels.stated_low_t_leads`), PTB-XL's
``LOWT`` code and the normal ECGs that name and code neither (:data:`LOW_CANDIDATES`: the leads read, the limit, an
R-wave floor), on the shipped T amplitudes.

Held-out folds are never read here.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from core.measure import measure_ecg
from core.measure.dev_table import print_counts
from core.measure.plausibility import split_group
from core.measure.reference_labels import SOURCES, source_records, stated_low_t_leads, stated_t_inversion_leads
from core.measure.t_waves import (
    INVERSION_MV,
    LOW_T_GROUPS,
    NOT_READ,
    T_GROUPS,
    lead_t_amplitudes,
    t_amplitude,
    t_wave_windows,
)

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


LOW_GROUPS = ("low T named", "LOWT", "NORM")
_NO_AVF = {wall: tuple(n for n in leads if n != "aVF") for wall, leads in LOW_T_GROUPS.items()}
# name -> (walls read, upper limit in mV, R-wave floor in mV, two of one wall or any two); the first is shipped.
LOW_CANDIDATES: dict[str, tuple[dict[str, tuple[str, ...]], float, float, bool]] = {
    "I, II, aVF, V3-V6, |T| < 0.1 mV, two contiguous": (LOW_T_GROUPS, INVERSION_MV, 0.0, True),
    "|T| < 0.08 mV": (LOW_T_GROUPS, 0.08, 0.0, True),
    "|T| < 0.05 mV": (LOW_T_GROUPS, 0.05, 0.0, True),
    "aVL and V2 read too (the inversion leads)": (T_GROUPS, INVERSION_MV, 0.0, True),
    "aVF not read": (_NO_AVF, INVERSION_MV, 0.0, True),
    "any two of the seven leads": (LOW_T_GROUPS, INVERSION_MV, 0.0, False),
    "R >= 0.5 mV in the lead (Minnesota's 5 mm)": (LOW_T_GROUPS, INVERSION_MV, 0.5, True),
}


def low_groups_of(codes: set[str], named: frozenset[str], inverted_named: frozenset[str]) -> list[str]:
    """The :data:`LOW_GROUPS` a record falls in (a normal ECG names and codes no low or inverted T wave)."""
    out = ["low T named"] if named else []
    out += ["LOWT"] if "LOWT" in codes else []
    if not out and not inverted_named and not codes & {"INVT", "LOWT"} and "NORM" in codes and len(codes) <= 2:
        out.append("NORM")
    return out


def low_leads(per_lead: dict, walls: dict[str, tuple[str, ...]], limit: float, r_floor: float) -> set[str]:
    """The leads of ``walls`` whose T wave is under ``limit`` either way (and above -0.1 mV, inversion's depth) with
    an R wave of ``r_floor`` or more."""
    read = {n for leads in walls.values() for n in leads}
    return {
        n
        for n, values in per_lead.items()
        if n in read
        and values.get("t_mv") is not None
        and -INVERSION_MV < values["t_mv"] < limit
        and (values.get("r_mv") or 0.0) >= r_floor
    }


def low_found(low: set[str], walls: dict[str, tuple[str, ...]], contiguous: bool) -> bool:
    """Two of ``low`` in one wall, or anywhere."""
    return any(len(low & set(leads)) >= 2 for leads in walls.values()) if contiguous else len(low) >= 2


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
        low_counts: Counter = Counter()
        for record, catalog in source_records(SOURCES[source], args.data_root):
            codes = set(record.meta.get("scp_codes") or {})
            named, low_named = stated_t_inversion_leads(record.text_en), stated_low_t_leads(record.text_en)
            groups, lows = groups_of(codes, named), low_groups_of(codes, low_named, named)
            if not (groups or lows) or split_group(record.split) != "train":
                continue
            ecg = catalog.read(record.record_id)
            measurements = measure_ecg(ecg)
            count_low(low_counts, lows, low_named, measurements.per_lead)
            if not groups:
                continue
            windows = t_wave_windows(measurements.beats)
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
        title = f"{source} training folds: leads and records with"
        print_table(f"{title} inverted T waves (two contiguous leads)", counts, GROUPS, CANDIDATES)
        print_table(f"{title} low or flat T waves", low_counts, LOW_GROUPS, LOW_CANDIDATES)


def print_table(title: str, counts: Counter, groups: tuple[str, ...], candidates: Iterable[str]) -> None:
    """One candidate per row: the named and normal leads, then the records of each group, it finds."""
    columns = ["named leads", "NORM leads", *groups]
    rows = {name: [counts[(c, name)] for c in columns] for name in candidates}
    print_counts(title, "candidate", [(c, counts[(c, "n")]) for c in columns], rows)
    print()


def count_low(counts: Counter, groups: list[str], named: frozenset[str], per_lead: dict) -> None:
    """Adds one record's low-T counts: its named leads (those any candidate reads) and, on a normal ECG, its leads of
    the shipped walls, then per candidate the leads and records it finds."""
    if not groups:
        return
    lead_sets = {"named leads": named & {n for leads in T_GROUPS.values() for n in leads} & set(per_lead)}
    if groups == ["NORM"]:
        lead_sets["NORM leads"] = {n for leads in LOW_T_GROUPS.values() for n in leads} & set(per_lead)
    for kind, leads in lead_sets.items():
        counts[(kind, "n")] += len(leads)
    for group in groups:
        counts[(group, "n")] += 1
    for name, (walls, limit, r_floor, contiguous) in LOW_CANDIDATES.items():
        low = low_leads(per_lead, walls, limit, r_floor)
        for kind, leads in lead_sets.items():
            counts[(kind, name)] += len(leads & low)
        for group in groups:
            counts[(group, name)] += low_found(low, walls, contiguous)


if __name__ == "__main__":
    main()
