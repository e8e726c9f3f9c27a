"""How V1's P terminal force (:mod:`core.measure.p_terminal`) reads on PTB-XL training records.

``python -m core.measure.p_terminal_dev --data-root ../shared/data`` measures the training folds (1-8) of
``ptbxl_more`` (100 Hz) and of the 500-record folder (500 Hz): the records coded ``LAO/LAE`` (left atrial
overload/enlargement) and the normal ECGs (``NORM`` and not ``LAO/LAE``). For each candidate reading of the negative
P-wave end (:data:`CANDIDATES`; the first is the one shipped, Morris' criterion) it prints on how many records of
each group it is met. Held-out folds are never read here.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from core.measure import measure_ecg
from core.measure.dev_table import print_counts
from core.measure.p_terminal import PTerminal, p_wave_windows, v1_p_terminal
from core.measure.plausibility import split_group
from core.measure.reference_labels import SOURCES, source_records

GROUPS = ("LAO/LAE", "NORM")
DATA = ("ptbxl_more@100", "ptbxl@500")
CANDIDATES: dict[str, Callable[[PTerminal], bool]] = {
    "Morris: >= 0.1 mV deep and >= 40 ms": lambda p: p.abnormal,
    "depth x duration >= 4 mV*ms": lambda p: p.force >= 4.0,
    "depth x duration >= 6 mV*ms": lambda p: p.force >= 6.0,
    ">= 0.1 mV deep": lambda p: p.depth_mv >= 0.1,
    ">= 40 ms": lambda p: p.duration_ms >= 40.0,
    ">= 0.05 mV deep and >= 40 ms": lambda p: p.depth_mv >= 0.05 and p.duration_ms >= 40.0,
}


def group_of(codes: set[str]) -> str | None:
    """``LAO/LAE``, ``NORM`` (without it) or None."""
    if "LAO/LAE" in codes:
        return "LAO/LAE"
    return "NORM" if "NORM" in codes else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    args = parser.parse_args(argv)
    for source in DATA:
        counts: Counter = Counter()
        for record, catalog in source_records(SOURCES[source], args.data_root):
            group = group_of(set(record.meta.get("scp_codes") or {}))
            if group is None or split_group(record.split) != "train":
                continue
            ecg = catalog.read(record.record_id)
            counts[(group, "n")] += 1
            terminal = v1_p_terminal(ecg, p_wave_windows(measure_ecg(ecg).beats))
            if terminal is None:
                counts[(group, "not measured")] += 1
                continue
            for name, met in CANDIDATES.items():
                counts[(group, name)] += met(terminal)
        rows = {name: [counts[(g, name)] for g in GROUPS] for name in (*CANDIDATES, "not measured")}
        columns = [(g, counts[(g, "n")]) for g in GROUPS]
        print_counts(f"{source} training folds: records meeting each reading", "reading", columns, rows)
        print()


if __name__ == "__main__":
    main()
