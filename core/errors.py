"""Typed errors by intent: what a user can cause and fix (a bad ECG file, a missing dataset, a broken checkpoint).

Every reader raises a subclass of :class:`ECGReadError`; its message names the file (or input) and what is wrong,
so the CLI and the app can show it verbatim instead of a traceback. Errors a user can cause and fix derive from
:class:`UserFacingError`: the app shows those as a message and treats anything else as a bug.
"""

from __future__ import annotations

from pathlib import Path


class UserFacingError(Exception):
    """Base class: a problem the user can fix (a bad file, an unknown record, no data); the message says what to do."""


class ECGReadError(UserFacingError, ValueError):
    """Base class: an ECG could not be read or is not usable.

    Attributes:
        source: the file path or a short description of the input ("upload", "array").
        detail: what is wrong, in plain words.
    """

    def __init__(self, source: str | Path | None, detail: str):
        self.source = str(source) if source is not None else "<input>"
        self.detail = detail
        super().__init__(f"{self.source}: {detail}")


class ECGFileMissingError(ECGReadError):
    """A file the record needs (e.g. the ``.dat`` next to a ``.hea``) does not exist."""


class ECGFormatError(ECGReadError):
    """Unknown or unsupported format, or bytes that are not what the extension claims."""


class ECGCorruptError(ECGReadError):
    """The file is of a known format but damaged: truncated, or its header disagrees with its samples."""


class ECGLeadError(ECGReadError):
    """Lead names are missing, unknown or duplicated."""


class ECGSignalError(ECGReadError):
    """The samples are unusable: zero length, all NaN, flat, or an absurd sampling rate."""


class ECGTooLargeError(ECGReadError):
    """The file exceeds the configured size limit, or would decode to more samples than the sample budget."""


class ECGSamplingRateError(ECGSignalError):
    """A sampling rate that is not a positive finite number (``-1``, ``0``, ``nan``, ``inf``), in a header or given."""


class DownloadError(UserFacingError, RuntimeError):
    """A dataset file could not be fetched or failed its checksum (the message names the URL)."""


class DatasetNotFoundError(UserFacingError, FileNotFoundError):
    """A dataset is neither in the cache nor reachable through the mirror; the message says how to get it."""


class UnknownDatasetError(UserFacingError, ValueError):
    """A dataset name the registry (:mod:`core.data.registry`) does not know; the message lists the known ones."""


class CheckpointError(UserFacingError, ValueError):
    """A checkpoint that cannot be loaded into the model it describes (bad config, missing or extra weights)."""
