"""Whether any PR calibration meets both PR goals on PTB-XL's training records: 1AVB over 200 ms on at least 80 %,
normal ECGs over 200 ms on at most 3 %.

The PR of :mod:`core.measure.p_onset` ends in a fixed offset (``PR_OFFSET_MS``) chosen so that the normal ECGs' 97th
percentile sits near 200 ms. Moving that offset moves every PR by the same amount, so the two goals pull against
each other: a longer PR finds more 1AVB and more normal ECGs over 200 ms. This reads the per-record rows of a
plausibility run and prints, for each shift of every PR, both shares on each PTB-XL part (training folds 1-8 only;
the rows and record groups are the plausibility table's own, :data:`core.measure.plausibility.CHECKS`)::

    python -m core validate-measurements --plausibility --data-root ../shared/data --method own --split train \\
        --json runs/plausibility-train.json
    python -m core.measure.pr_bound_dev runs/plausibility-train.json

A shift here is only a what-if on the measured values: nothing is re-measured and nothing in the product changes.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from core.measure.plausibility import CHECKS, check_cell
from core.search.criteria_dev import training_rows

SHIFTS_MS = tuple(range(-6, 16, 2))
SOURCES = ("ptbxl@100", "ptbxl@500", "ptbxl_more@100")
LONG_PR_GOAL = 0.80  # share of 1AVB over 200 ms, at least
NORMAL_PR_GOAL = 0.03  # share of NORM over 200 ms, at most
_BLOCK_CHECK = next(c for c in CHECKS if c.key == "pr_long_1avb")
_NORMAL_CHECK = next(c for c in CHECKS if c.key == "pr_long_norm")


def shifted(rows: Iterable[dict], shift_ms: float) -> list[dict]:
    """The rows with every measured PR longer by ``shift_ms`` (shorter when negative)."""
    out = []
    for r in rows:
        pr = r["meas"].get("pr_ms")
        out.append({**r, "meas": {**r["meas"], "pr_ms": None if pr is None else pr + shift_ms}})
    return out


def tradeoff(rows: Sequence[dict], shifts: Sequence[float] = SHIFTS_MS) -> dict[float, dict[str, tuple[dict, dict]]]:
    """``{shift: {source: (1AVB cell, NORM cell)}}``: the plausibility cells (:func:`check_cell`) of the two PR rows
    per source, with every PR moved by the shift."""
    out: dict[float, dict[str, tuple[dict, dict]]] = {}
    for shift in shifts:
        moved = shifted(rows, shift)
        out[shift] = {
            source: (check_cell(part, _BLOCK_CHECK), check_cell(part, _NORMAL_CHECK))
            for source in sorted({r["source"] for r in rows})
            for part in [[r for r in moved if r["source"] == source]]
        }
    return out


def goals_met(block: dict, normal: dict) -> bool:
    """Both PR goals met by the two cells."""
    return (
        block["value"] is not None
        and normal["value"] is not None
        and block["value"] >= LONG_PR_GOAL
        and normal["value"] <= NORMAL_PR_GOAL
    )


def _share(cell: dict) -> str:
    if cell["value"] is None:
        return "-"
    return f"{cell['n_positive']}/{cell['n_measured']} ({100 * cell['value']:.1f} %)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("plausibility_json", type=Path, help="a plausibility run's --json file")
    args = parser.parse_args(argv)
    rows = [r for r in training_rows(json.loads(args.plausibility_json.read_text())["rows"]) if r["source"] in SOURCES]
    table = tradeoff(rows)
    sources = sorted({r["source"] for r in rows})
    columns = " | ".join(f"{s}: 1AVB > 200 ms | {s}: NORM > 200 ms" for s in sources)
    print(f"| every PR moved by | {columns} | both goals |")
    print("|---" * (2 * len(sources) + 2) + "|")
    for shift, cells in table.items():
        shares = " | ".join(f"{_share(b)} | {_share(n)}" for b, n in (cells[s] for s in sources))
        met = [s for s in sources if goals_met(*cells[s])]
        verdict = "all parts" if len(met) == len(sources) else ", ".join(met) or "none"
        print(f"| {shift:+g} ms | {shares} | {verdict} |")


if __name__ == "__main__":
    main()
