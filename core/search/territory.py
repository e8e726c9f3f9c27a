"""Which heart wall a report's lead list points at: "ST elevation in II, III, aVF" is inferior ST elevation.

Reports name leads ("st segments are elevated in v2,3,4", "q waves in ii, iii, avf"), readers name walls ("anterior
ST elevation"); a word search matches neither to the other and ranks "ST elevation in V3" first for "inferior ST
elevation" because both say "ST elevation". The lead groups are the usual ones of ECG reading:

* inferior: II, III, aVF (two of them);
* lateral: I, aVL, V5, V6 (two of them);
* septal: V1, V2; anterior: V3, V4 (one is enough: chest leads are named one by one or as a range).

Lead lists are parsed as reports write them: commas, "and", slashes, ranges ("v1-3", "v1-v6", "v2 - v4"), bare
digits continuing a chest-lead list ("v2,3,4") and German reports' "f" for aVF inside a list ("v2,3,f").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TERRITORIES: dict[str, tuple[frozenset[str], int]] = {
    # wall: (its leads, how many of them a list must name)
    "inferior": (frozenset({"II", "III", "aVF"}), 2),
    "lateral": (frozenset({"I", "aVL", "V5", "V6"}), 2),
    "septal": (frozenset({"V1", "V2"}), 1),
    "anterior": (frozenset({"V3", "V4"}), 1),
}
_LIMB = {"i": "I", "ii": "II", "iii": "III", "avr": "aVR", "avl": "aVL", "avf": "aVF"}
# Words and single punctuation marks; lead names, digits continuing a chest-lead list and the joiners (_JOINERS)
# extend a list, anything else ends it.
_TOKEN = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")
_CHEST = re.compile(r"v[1-6]")
_JOINERS = frozenset({",", "and", "/", "&", "-"})


@dataclass(frozen=True)
class LeadList:
    """A run of lead names in a text: ``start`` is the character where it begins, ``leads`` the canonical names."""

    start: int
    leads: frozenset[str]

    @property
    def territories(self) -> list[str]:
        """The walls these leads point at, in :data:`TERRITORIES` order."""
        return [wall for wall, (leads, need) in TERRITORIES.items() if len(self.leads & leads) >= need]


def lead_lists(text: str) -> list[LeadList]:
    """Lead lists of ``text`` (lower or upper case), in order of appearance; a lone limb lead ("type ii") counts as a
    list of one, which names no wall needing two."""
    out: list[LeadList] = []
    leads: set[str] = set()
    start = -1
    last_chest: int | None = None  # the chest lead a bare digit or a range continues
    pending_range = False
    for match in _TOKEN.finditer(text.lower()):
        tok = match.group()
        lead = _LIMB.get(tok) or (f"V{tok[1]}" if _CHEST.fullmatch(tok) else None)
        if tok == "f" and start >= 0:
            lead = "aVF"  # German reports' short name, inside a list only ("st-hebung in v2,3,f")
        digit = len(tok) == 1 and tok in "123456" and last_chest is not None
        if lead or digit:
            number = int(tok[-1]) if (digit or lead.startswith("V")) else None
            if number is not None and pending_range and last_chest is not None:
                leads.update(f"V{k}" for k in range(min(last_chest, number), max(last_chest, number) + 1))
            else:
                leads.add(lead or f"V{number}")
            last_chest = number if number is not None else last_chest
            start = match.start() if start < 0 else start
            pending_range = False
        elif start >= 0 and tok in _JOINERS:
            pending_range = tok == "-"
        elif start >= 0:
            out.append(LeadList(start, frozenset(leads)))
            leads, start, last_chest, pending_range = set(), -1, None, False
    if start >= 0:
        out.append(LeadList(start, frozenset(leads)))
    return out
