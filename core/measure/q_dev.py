"""How the pathological-Q rule was chosen (:mod:`core.measure.q_waves`), rerun on PTB-XL training records.

``python -m core.measure.q_dev --data-root ../shared/data`` measures the training folds (1-8) of ``ptbxl_more``
records whose report names leads with Q waves (:func:`core.measure.reference_labels.stated_q_wave_leads`), those coded
inferior (``IMI``, ``ILMI``, ``IPLMI``, ``IPMI``) or anterior (``ASMI``, ``AMI``, ``ALMI``) infarction, and the normal
ECGs (``NORM``, at most one other code, no Q named), and prints for each candidate rule (:data:`RULES`; QS counts in
every lead but V1 and aVR, and V2-V3 take any Q of 20 ms in all of them): how many named leads and normal leads it
calls pathological, and on how many records of each group two contiguous leads meet it.

Held-out folds are never read here.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path

from core.measure import measure_ecg
from core.measure.dev_table import print_counts
from core.measure.plausibility import split_group
from core.measure.q_waves import NOT_READ, SEPTAL_LEADS
from core.measure.reference_labels import SOURCES, source_records, stated_q_wave_leads
from core.measure.st_segment import ST_GROUPS

INFERIOR_CODES = frozenset({"IMI", "ILMI", "IPLMI", "IPMI"})
ANTERIOR_CODES = frozenset({"ASMI", "AMI", "ALMI"})
GROUPS = ("Q named", "inferior infarction", "anterior infarction", "NORM")
# The limb and V4-V6 limit of each candidate (lead, q_ms, q_mv, r_mv) -> bool; the universal definition's is shipped.
RULES: dict[str, Callable[[str, float, float, float], bool]] = {
    "universal definition (30 ms and 0.1 mV)": lambda lead, ms, mv, r: ms >= 30.0 and mv >= 0.1,
    "the same, III not read (as the definition lists it)": lambda lead, ms, mv, r: (
        lead != "III" and ms >= 30.0 and mv >= 0.1
    ),
    "40 ms": lambda lead, ms, mv, r: ms >= 40.0,
    "ratio (30 ms and a third of R)": lambda lead, ms, mv, r: ms >= 30.0 and mv >= r / 3.0,
    "40 ms, or 30 ms and a third of R": lambda lead, ms, mv, r: ms >= 40.0 or (ms >= 30.0 and mv >= r / 3.0),
}


def groups_of(scp_codes: Mapping[str, float], named: frozenset[str]) -> list[str]:
    """The :data:`GROUPS` a record falls in (several, or none)."""
    out = ["Q named"] if named else []
    out += ["inferior infarction"] if INFERIOR_CODES & set(scp_codes) else []
    out += ["anterior infarction"] if ANTERIOR_CODES & set(scp_codes) else []
    if not out and "NORM" in scp_codes and len(scp_codes) <= 2:
        out.append("NORM")
    return out


def meets(rule: Callable[[str, float, float, float], bool], lead: str, values: Mapping) -> bool:
    """One lead under one candidate rule (QS, V2-V3 and the leads not read as the shipped rule has them)."""
    if lead in NOT_READ or values.get("q_ms") is None:
        return False
    if values.get("qs"):
        return True
    if lead in SEPTAL_LEADS:
        return values["q_ms"] >= 20.0
    return rule(lead, values["q_ms"], values["q_mv"], values.get("r_mv") or 0.0)


def two_contiguous(rule: Callable[[str, float, float, float], bool], per_lead: Mapping[str, Mapping]) -> bool:
    """Whether two leads of one wall meet the rule."""
    return any(sum(meets(rule, n, per_lead.get(n, {})) for n in leads) >= 2 for leads in ST_GROUPS.values())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    args = parser.parse_args(argv)
    counts: Counter = Counter()
    for record, catalog in source_records(SOURCES["ptbxl_more@100"], args.data_root):
        named = stated_q_wave_leads(record.text_en)
        groups = groups_of(record.meta.get("scp_codes") or {}, named)
        if not groups or split_group(record.split) != "train":
            continue
        per_lead = measure_ecg(catalog.read(record.record_id)).per_lead
        lead_sets = {"named leads": sorted((named & set(per_lead)) - set(NOT_READ))}
        if groups == ["NORM"]:
            lead_sets["NORM leads"] = [n for n in per_lead if n not in NOT_READ]
        for group in groups:
            counts[(group, "n")] += 1
        for kind, leads in lead_sets.items():
            counts[(kind, "n")] += len(leads)
        for name, rule in RULES.items():
            for group in groups:
                counts[(group, name)] += two_contiguous(rule, per_lead)
            for kind, leads in lead_sets.items():
                counts[(kind, name)] += sum(meets(rule, lead, per_lead[lead]) for lead in leads)
    columns = ["named leads", "NORM leads", *GROUPS]
    print_counts(
        "ptbxl_more training folds: leads and records with pathological Q waves (two contiguous leads)",
        "rule (limb leads and V4-V6)",
        [(c, counts[(c, "n")]) for c in columns],
        {name: [counts[(c, name)] for c in columns] for name in RULES},
    )


if __name__ == "__main__":
    main()
