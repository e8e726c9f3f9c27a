"""How the ST depression rule was chosen (:mod:`core.measure.st_segment`), rerun on PTB-XL training records.

``python -m core.measure.st_dev --data-root ../shared/data`` measures the training folds (1-8) of ``ptbxl_more``
records coded ST depression (``STD_``), ST elevation or injury (``STE_``, ``INJAS``, ``INJAL``, ``INJLA``, ``INJIL``,
``INJIN``) and normal (``NORM``, at most one other code), and prints how many meet:

* ST depression of 0.05 mV or more in two contiguous leads at J + 60 ms (the shipped rule);
* ST elevation in two contiguous leads, 0.1 mV (0.2 mV in V2 and V3), at the J point, J + 40 and J + 60 ms.

Held-out folds are never read here.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from core.measure import measure_ecg
from core.measure.plausibility import split_group
from core.measure.reference_labels import SOURCES, source_records
from core.measure.st_segment import ST_GROUPS, st_levels

ELEVATION_CODES = frozenset({"STE_", "INJAS", "INJAL", "INJLA", "INJIL", "INJIN"})
ELEVATION_MV = {"V2": 0.2, "V3": 0.2}  # elsewhere 0.1 mV
AFTER_J_S = (0.0, 0.04, 0.06)


def group_of(scp_codes: dict) -> str | None:
    """``STD``, ``STE`` or ``NORM`` for the comparison, else None."""
    if "STD_" in scp_codes:
        return "STD"
    if ELEVATION_CODES & set(scp_codes):
        return "STE"
    return "NORM" if "NORM" in scp_codes and len(scp_codes) <= 2 else None


def elevated(levels: dict[str, float]) -> bool:
    """ST elevation in two leads of one wall (:data:`ELEVATION_MV`, else 0.1 mV)."""
    return any(
        sum(levels[n] >= ELEVATION_MV.get(n, 0.1) for n in leads if n in levels) >= 2 for leads in ST_GROUPS.values()
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    args = parser.parse_args(argv)
    counts: Counter = Counter()
    for record, catalog in source_records(SOURCES["ptbxl_more@100"], args.data_root):
        group = group_of(record.meta.get("scp_codes") or {})
        if group is None or split_group(record.split) != "train":
            continue
        ecg = catalog.read(record.record_id)
        meas = measure_ecg(ecg)
        windows = [(b.qrs_on_s, b.qrs_off_s) for b in meas.beats if b.used and b.qrs_on_s is not None]
        windows = [(on, off) for on, off in windows if off is not None]
        counts[(group, "n")] += 1
        counts[(group, "depression")] += (meas.st_depression_mv or 0.0) >= 0.05
        for after in AFTER_J_S:
            counts[(group, f"elevation J+{after * 1000:.0f}")] += elevated(st_levels(ecg, windows, after))
    print("ptbxl_more training folds")
    print("| group | records | ST depression >= 0.05 mV | ST elevation at J+0 / 40 / 60 ms |\n|---|---|---|---|")
    for group in ("STD", "STE", "NORM"):
        rises = " / ".join(str(counts[(group, f"elevation J+{a * 1000:.0f}")]) for a in AFTER_J_S)
        print(f"| {group} | {counts[(group, 'n')]} | {counts[(group, 'depression')]} | {rises} |")


if __name__ == "__main__":
    main()
