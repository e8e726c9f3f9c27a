"""Colour groups for the map: one group per point, at most a handful of named groups, the rest pooled.

A map legend stays readable with about ten colours. Combinations ("CD, STTC") and long tails (LUDB's 44 phrases)
would need dozens, and a palette that repeats its colours makes unrelated groups look alike; so each point takes
*one* value, the most frequent values keep their names and the rest become :data:`OTHER`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

MAX_NAMED = 10  # named groups; "other" and "no label" come on top (the map gives them greys)
OTHER = "other"
NO_LABEL = "no label"


def one_per_point(values: Sequence[Sequence[str]], *, none: str = NO_LABEL) -> list[str]:
    """One value per point: among a point's values, the one most frequent over all points (ties: listed first).

    The most frequent value is the one most likely to keep its own colour, so a point with ``["NORM", "LVOLT"]``
    shows as NORM rather than falling into "other" for its rarer label.
    """
    counts = Counter(v for vs in values for v in dict.fromkeys(vs))
    out = []
    for vs in values:
        vs = list(dict.fromkeys(vs))
        out.append(max(vs, key=lambda v: (counts[v], -vs.index(v))) if vs else none)
    return out


def top_groups(groups: Sequence[str], max_named: int = MAX_NAMED, *, keep: Sequence[str] = ()) -> list[str]:
    """``groups`` with all but the ``max_named`` most frequent values replaced by :data:`OTHER`.

    Values in ``keep`` (e.g. :data:`NO_LABEL`) keep their name and do not count towards ``max_named``.
    """
    counts = Counter(g for g in groups if g not in keep)
    if len(counts) <= max_named:
        return list(groups)
    named = {g for g, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:max_named]}
    return [g if g in named or g in keep else OTHER for g in groups]
