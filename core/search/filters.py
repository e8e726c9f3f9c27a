"""Search filters: exclusions written in the query ("LBBB, not RBBB") and record masks by dataset and label."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import numpy as np

# "…, not X", "… without X", "… excluding X", "… except X": everything after the first such word is excluded.
_EXCLUDE = re.compile(r"(?:^|[\s,;])(?:not|without|excluding|except)\s+", re.IGNORECASE)
# Several exclusions: "not RBBB or IRBBB", "without AF, flutter", "not RBBB nor LAFB".
_SEPARATORS = re.compile(r"\s*(?:,|;|\bor\b|\bnor\b|\band\b|\bnot\b)\s*", re.IGNORECASE)


def parse_query(query: str) -> tuple[str, list[str]]:
    """Split a free-text query into what to look for and what to exclude.

    Examples:
        ``"left bundle branch block, not RBBB"`` -> ``("left bundle branch block", ["RBBB"])``;
        ``"ST depression without elevation or AF"`` -> ``("ST depression", ["elevation", "AF"])``.

    Returns:
        ``(positive query, excluded terms)``; the terms keep their spelling (matching is case-insensitive).
    """
    match = _EXCLUDE.search(query or "")
    if match is None:
        return (query or "").strip(), []
    positive = query[: match.start()].strip(" ,;")
    excluded = [t.strip(" ,;.") for t in _SEPARATORS.split(query[match.end() :])]
    return positive, [t for t in excluded if t]


def split_terms(text: str | Sequence[str] | None) -> list[str]:
    """A comma-separated field (or a list) -> non-empty terms."""
    if text is None:
        return []
    items = text.split(",") if isinstance(text, str) else list(text)
    return [str(t).strip() for t in items if str(t).strip()]


def record_mask(
    datasets: Sequence[str],
    labels: Sequence[Collection[str]],
    *,
    dataset: str | Sequence[str] | None = None,
    label: str | Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> np.ndarray:
    """Which records pass the filters.

    Args:
        datasets: dataset name of each record.
        labels: labels of each record (any label set).
        dataset: keep only these datasets (``None``, ``""`` or ``"all"``: every dataset).
        label: keep only records carrying one of these labels (case-insensitive; ``None``/``"all"``: no filter).
        exclude: drop records carrying any of these labels (case-insensitive); terms that are not labels are
            ignored here (they act on the report text, see :meth:`core.search.HybridReportSearch.search`).

    Returns:
        (n_records,) bool array.
    """
    keep = np.ones(len(datasets), dtype=bool)
    wanted_ds = {d.lower() for d in split_terms(dataset) if d.lower() != "all"}
    if wanted_ds:
        keep &= np.array([d.lower() in wanted_ds for d in datasets], dtype=bool)
    wanted = {x.lower() for x in split_terms(label) if x.lower() != "all"}
    dropped = {x.lower() for x in exclude}
    if wanted or dropped:
        lowered = [{x.lower() for x in ls} for ls in labels]
        if wanted:
            keep &= np.array([bool(ls & wanted) for ls in lowered], dtype=bool)
        if dropped:
            keep &= np.array([not (ls & dropped) for ls in lowered], dtype=bool)
    return keep
