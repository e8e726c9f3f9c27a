"""Typed errors for everything that can be wrong with an ECG file or signal.

Every reader raises a subclass of :class:`ECGReadError`; its message names the file (or input) and what is wrong,
so the CLI and the app can show it verbatim instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


class ECGReadError(ValueError):
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
    """The file exceeds the configured size limit."""


class DownloadError(RuntimeError):
    """A dataset file could not be fetched or failed its checksum."""


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is neither in the cache nor reachable through the mirror; the message says how to get it."""
