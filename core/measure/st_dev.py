"""How the ST rules were chosen (:mod:`core.measure.st_segment`), rerun on PTB-XL training records.

``python -m core.measure.st_dev --data-root ../shared/data`` measures the training folds (1-8) of ``ptbxl_more``
records whose report names leads with ST elevation or depression
(:func:`core.measure.reference_labels.st_shift_leads`) and the normal ECGs (``NORM``, at most one other code, no ST
statement), and prints:

* per group of records, how many meet the shipped rules: ST depression of 0.05 mV or more in two contiguous leads at
  J + 60 ms; ST elevation at J over 0.1 mV (0.2 mV in V2 and V3) in two contiguous leads; and the elevation at
  J + 40 and J + 60 ms for comparison;
* lead by lead, how often the measured level has the sign the report gives that lead, at J, J + 40 and J + 60 ms.

Held-out folds are never read here.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from core.measure import measure_ecg
from core.measure.plausibility import split_group
from core.measure.reference_labels import SOURCES, source_records, st_shift_leads
from core.measure.st_segment import st_elevation_leads, st_levels

AFTER_J_MS = (0, 40, 60)
GROUPS = ("ST elevation named", "only ST depression named", "NORM")


def group_of(scp_codes: dict, named: dict) -> str | None:
    """Which of :data:`GROUPS` a record falls in (None: none of them)."""
    if "elevation" in named:
        return GROUPS[0]
    if "depression" in named:
        return GROUPS[1]
    return GROUPS[2] if "NORM" in scp_codes and len(scp_codes) <= 2 else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    args = parser.parse_args(argv)
    records: Counter = Counter()
    leads: Counter = Counter()
    for record, catalog in source_records(SOURCES["ptbxl_more@100"], args.data_root):
        named = st_shift_leads(record.text_en)
        group = group_of(record.meta.get("scp_codes") or {}, named)
        if group is None or split_group(record.split) != "train":
            continue
        ecg = catalog.read(record.record_id)
        meas = measure_ecg(ecg)
        windows = [(b.qrs_on_s, b.qrs_off_s) for b in meas.beats if b.used and b.qrs_on_s is not None]
        windows = [(on, off) for on, off in windows if off is not None]
        records[(group, "n")] += 1
        records[(group, "depression")] += (meas.st_depression_mv or 0.0) >= 0.05
        for after in AFTER_J_MS:
            levels = st_levels(ecg, windows, after / 1000.0)
            records[(group, f"elevation {after}")] += bool(st_elevation_leads(levels))
            for way, sign in (("elevation", 1.0), ("depression", -1.0)):
                for lead in named.get(way, ()):
                    if lead in levels:
                        leads[(way, "n", after)] += 1
                        leads[(way, "agree", after)] += sign * levels[lead] > 0.0
    print("ptbxl_more training folds, records")
    print("| group | records | ST depression >= 0.05 mV | ST elevation at J / J+40 / J+60 ms |\n|---|---|---|---|")
    for group in GROUPS:
        rises = " / ".join(str(records[(group, f"elevation {a}")]) for a in AFTER_J_MS)
        print(f"| {group} | {records[(group, 'n')]} | {records[(group, 'depression')]} | {rises} |")
    print("\nleads the report names, measured on the named side of the baseline")
    print("| named | J | J+40 ms | J+60 ms |\n|---|---|---|---|")
    for way in ("elevation", "depression"):
        cells = [f"{leads[(way, 'agree', a)]} of {leads[(way, 'n', a)]}" for a in AFTER_J_MS]
        print(f"| {way} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
