"""Typed errors of the annotation store.

Every error a user can cause is an :class:`AnnotationError` (a ``ValueError``), whose message says what is wrong and
how to fix it; the app turns it into ``gr.Error`` and the CLI prints it. When one is raised nothing has been written.
"""

from __future__ import annotations


class AnnotationError(ValueError):
    """Base class: an annotation request was rejected; nothing was written."""


class UnknownRecordError(AnnotationError):
    """The record id is not one the store accepts (not in the dataset / index)."""


class InvalidStatusError(AnnotationError):
    """The status is not one of :data:`core.annotations.schema.STATUSES`."""


class InvalidLabelError(AnnotationError):
    """A label is empty, too long, contains control characters, or is not in a closed vocabulary."""


class InvalidNoteError(AnnotationError):
    """The note is too long or contains control characters other than tab / newline."""


class InvalidReviewerError(AnnotationError):
    """The reviewer name is empty, too long or contains control characters."""


class UnknownEventError(AnnotationError):
    """No event has the given id (or key)."""


class UndoError(AnnotationError):
    """An event cannot be undone: it was undone already, or a later change touched the same fields."""


class PermissionDeniedError(AnnotationError, PermissionError):
    """The request's user (or an anonymous visitor) may not make this write (see
    :mod:`core.annotations.identity`)."""


class ImportFormatError(AnnotationError):
    """An import file is malformed (the message names the file, the row and the problem)."""


class SchemaVersionError(RuntimeError):
    """The database was written by a newer version of this code (its schema version is unknown here)."""
