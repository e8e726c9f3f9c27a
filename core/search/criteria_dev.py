"""The training-record counts behind the measured criteria's choices (:mod:`core.search.criteria`).

Reads the per-record rows of a plausibility run and counts, over its training parts only (every source as run, so
the 500-record PTB-XL folder counts at both rates), how often each criterion's reading is met, undecided or not::

    python -m core validate-measurements --plausibility --data-root ../shared/data --method own --split train \\
        --json runs/plausibility-train.json
    python -m core.search.criteria_dev runs/plausibility-train.json

Printed: atrial fibrillation's pattern (``irregular`` alone against ``irregular_without_p``) among AFIB records and
sinus rhythms (SR, STACH, SBRAD, no AFIB or AFLT); the long QT (Bazett's QTc alone against Bazett's and Fridericia's)
among sinus tachycardias, normal ECGs, long QT, complete bundle branch blocks and paced records, with how many of
those have a QRS of 120 ms or more; a short PR and the pre-excitation criterion (short PR and a QRS of 110 ms or more)
among WPW, normal ECGs, sinus rhythms and paced records; V1's R/S among complete left and right bundle branch blocks
(each record once).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

QTC_BOUND_MS = 460.0
WIDE_QRS_MS = 120.0
V1_BOUND = 0.5
SHORT_PR_MS = 120.0
DELTA_QRS_MS = 110.0
SINUS = frozenset({"SR", "STACH", "SBRAD"})


def training_rows(rows: Iterable[dict]) -> list[dict]:
    """Rows of training records that were measured (the own method's)."""
    return [r for r in rows if r.get("split") == "train" and r.get("meas") and r.get("method", "own") == "own"]


def rhythm_counts(rows: Iterable[dict]) -> Counter:
    """``(group, "n" | "irregular" | "without_p")`` counts; group ``AFIB`` or ``sinus``."""
    out: Counter = Counter()
    for r in rows:
        labels, m = set(r["labels"]), r["meas"]
        group = "AFIB" if "AFIB" in labels else "sinus" if labels & SINUS and "AFLT" not in labels else None
        if group:
            out[(group, "n")] += 1
            out[(group, "irregular")] += bool(m.get("irregular"))
            out[(group, "without_p")] += bool(m.get("irregular_without_p"))
    return out


def long_qt_counts(rows: Iterable[dict]) -> Counter:
    """``(label, "n" | "bazett" | "both" | "both_wide")`` counts over records with a Bazett QTc."""
    out: Counter = Counter()
    for r in rows:
        m = r["meas"]
        bazett, fridericia, qrs = m.get("qtc_ms"), m.get("qtc_fridericia_ms"), m.get("qrs_ms")
        if bazett is None:
            continue
        both = bazett > QTC_BOUND_MS and fridericia is not None and fridericia > QTC_BOUND_MS
        for label in ("STACH", "NORM", "LNGQT", "CLBBB", "CRBBB", "PACE"):
            if label in r["labels"]:
                out[(label, "n")] += 1
                out[(label, "bazett")] += bazett > QTC_BOUND_MS
                out[(label, "both")] += both
                out[(label, "both_wide")] += both and qrs is not None and qrs >= WIDE_QRS_MS
    return out


def pre_excitation_counts(rows: Iterable[dict]) -> Counter:
    """``(group, "n" | "short_pr" | "both")`` counts: a PR under :data:`SHORT_PR_MS`, and that with a QRS of
    :data:`DELTA_QRS_MS` or more (the pre-excitation criterion), among WPW, NORM, sinus rhythms and paced records
    (the last three without WPW); the 500-record folder counts at both rates, as in the other counts."""
    out: Counter = Counter()
    for r in rows:
        labels, m = set(r["labels"]), r["meas"]
        groups = ["WPW"] if "WPW" in labels else [g for g in ("NORM", "PACE") if g in labels]
        if "WPW" not in labels and labels & SINUS:
            groups.append("sinus")
        short = m.get("pr_ms") is not None and m["pr_ms"] < SHORT_PR_MS
        wide = m.get("qrs_ms") is not None and m["qrs_ms"] >= DELTA_QRS_MS
        for group in groups:
            out[(group, "n")] += 1
            out[(group, "short_pr")] += short
            out[(group, "both")] += short and wide
    return out


def v1_ratios(rows: Iterable[dict]) -> dict[str, list[tuple[float, str]]]:
    """Measured V1 R/S of each complete bundle branch block, per side, sorted; each record once (the 500-record folder
    is run at two rates)."""
    out: dict[str, dict[str, float]] = {"CLBBB": {}, "CRBBB": {}}
    for r in rows:
        ratio = r["meas"].get("v1_r_to_s")
        for side, values in out.items():
            if side in r["labels"] and ratio is not None:
                values.setdefault(r["record_id"], ratio)
    return {side: sorted((v, rid) for rid, v in values.items()) for side, values in out.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plausibility_json", type=Path, help="a plausibility run's --json file")
    args = parser.parse_args(argv)
    rows = training_rows(json.loads(args.plausibility_json.read_text())["rows"])
    rhythm = rhythm_counts(rows)
    print("atrial fibrillation's pattern (training rows):")
    for group in ("AFIB", "sinus"):
        print(
            f"  {group}: irregular {rhythm[(group, 'irregular')]}, irregular without P waves "
            f"{rhythm[(group, 'without_p')]} of {rhythm[(group, 'n')]}"
        )
    qt = long_qt_counts(rows)
    print(f"QTc over {QTC_BOUND_MS:g} ms:")
    for label in ("STACH", "NORM", "LNGQT", "CLBBB", "CRBBB", "PACE"):
        print(
            f"  {label}: Bazett's {qt[(label, 'bazett')]}, both {qt[(label, 'both')]} "
            f"({qt[(label, 'both_wide')]} of them with QRS >= {WIDE_QRS_MS:g} ms) of {qt[(label, 'n')]}"
        )
    pre = pre_excitation_counts(rows)
    print(f"PR under {SHORT_PR_MS:g} ms, and that with QRS >= {DELTA_QRS_MS:g} ms (pre-excitation):")
    for group in ("WPW", "NORM", "sinus", "PACE"):
        print(f"  {group}: short PR {pre[(group, 'short_pr')]}, both {pre[(group, 'both')]} of {pre[(group, 'n')]}")
    print(f"V1 R/S (bound {V1_BOUND:g}):")
    for side, values in v1_ratios(rows).items():
        below = sum(v < V1_BOUND for v, _ in values)
        print(f"  {side}: {below} of {len(values)} under it; lowest {values[:3]}; highest {values[-3:]}")


if __name__ == "__main__":
    main()
