"""The explorer's user-facing errors: nothing indexed, an unknown record, a request that cannot be served as asked."""

from __future__ import annotations

from core.errors import UserFacingError


class NoDataError(UserFacingError, RuntimeError):
    """The explorer has no indexed records (no data could be acquired, or the index is still being built)."""


class RecordNotFoundError(UserFacingError, KeyError):
    """An ECG key names no indexed record or kept upload."""

    def __str__(self) -> str:  # KeyError would quote the message
        return Exception.__str__(self)


class InvalidRequestError(UserFacingError, ValueError):
    """A request the user can correct: an empty query, an empty prompt table, an unknown checkpoint or prompt set."""
