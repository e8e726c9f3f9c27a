"""The count table the rule-choosing commands print (:mod:`core.measure.q_dev`, :mod:`core.measure.t_dev`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def print_counts(
    title: str, first_column: str, columns: Sequence[tuple[str, int]], rows: Mapping[str, Sequence]
) -> None:
    """``title``, then a Markdown table: one row per candidate (``rows``: name -> its count per column), the columns
    headed by their name and total (``columns``: (name, total))."""
    print(title)
    cells = " | ".join(f"{name} ({total})" for name, total in columns)
    print(f"| {first_column} | {cells} |")
    print("|---" * (len(columns) + 1) + "|")
    for name, counts in rows.items():
        print(f"| {name} | " + " | ".join(str(c) for c in counts) + " |")
