"""Lead names: the canonical 12-lead order and mapping of the many spellings found in files onto it.

Position in a file is never trusted (MIMIC-IV-ECG stores aVF before aVL); leads are matched by name only.
"""

from __future__ import annotations

CANONICAL_LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LEAD_INDEX: dict[str, int] = {name: i for i, name in enumerate(CANONICAL_LEADS)}

# Spellings seen in PTB-XL (AVR), LUDB (avr, i, v1), MIT-BIH (MLII), CSV exports ("lead_II", "Lead V1").
_ALIASES: dict[str, str] = {
    "mli": "I",
    "mlii": "II",
    "mliii": "III",
    "dі": "I",
    "di": "I",
    "dii": "II",
    "diii": "III",
}
# Leads that are real but outside the 12-lead set (Frank XYZ in the PTB Diagnostic DB): dropped, not an error.
NON_STANDARD_LEADS: frozenset[str] = frozenset({"vx", "vy", "vz", "x", "y", "z"})


def canonical_lead_name(name: str) -> str | None:
    """Map a lead label from a file to its canonical name.

    Args:
        name: the label as stored, e.g. ``"AVR"``, ``"avr"``, ``"Lead V1"``, ``"MLII"``.

    Returns:
        The canonical name (``"aVR"``, ``"V1"``, ``"II"``), or ``None`` if the label is not one of the 12 leads.
    """
    key = name.strip().lower().replace("lead", "").replace("_", "").replace("-", "").replace(" ", "")
    if key in _ALIASES:
        return _ALIASES[key]
    for canonical in CANONICAL_LEADS:
        if key == canonical.lower():
            return canonical
    return None
