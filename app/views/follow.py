"""Handlers that follow the current-ECG box.

Every tab that shows something about the current ECG listens to the box. When the box holds a key that opens
nothing (empty, half-typed, unknown, an expired upload), those tabs clear what they show instead of raising: one bad
id then gives one message (from Browse's details panel) rather than one toast per tab, and no tab keeps showing the
previous ECG's results as if they were the new one's.
"""

from __future__ import annotations

from app.views.common import USER_FACING
from core.explorer import UPLOAD_PREFIX, QueryService


def openable(services: QueryService, key: str | None) -> str | None:
    """The stripped key when it names an ECG the service can open, else None (never raises for a user's key)."""
    key = (key or "").strip()
    # An indexed key waits for the index: while it is being built the tabs show nothing rather than block.
    if not key or not (services.ready or key.startswith(UPLOAD_PREFIX)):
        return None
    try:
        services.ecg(key)
    except USER_FACING:
        return None
    return key
