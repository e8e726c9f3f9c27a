"""Annotations: labels, notes and review status of ECG records, kept as an append-only SQLite event log.

- :mod:`core.annotations.store`: :class:`AnnotationStore` (events, derived states, undo), :func:`filter_records`.
- :mod:`core.annotations.schema`: statuses, :class:`Event`, :class:`RecordState`, schema migrations.
- :mod:`core.annotations.validation`: input checks (typed :class:`AnnotationError` subclasses) and the log's
  consistency checks (:func:`~core.annotations.validation.log_problems`, used by imports and ``check()``).
- :mod:`core.annotations.identity`: who may write: roles (viewer / annotator / admin), local accounts with scrypt
  hashes, the Hugging Face role map, and the sign-in mode (:class:`~core.annotations.identity.AccessPolicy`).
- :mod:`core.annotations.desk`: one call per reviewer action (open, save, undo, queue, agreement, adjudicate, export).
- :mod:`core.annotations.reviews`: per-reviewer reviews, adjudications and the disagreement queue (from the log).
- :mod:`core.annotations.agreement`: Cohen's / Fleiss' kappa per label between reviewers.
- :mod:`core.annotations.export`: CSV / JSON export and import of record states and of the event log.
- :mod:`core.annotations.interop`: Label Studio tasks and WFDB header comments / annotation files.
- :mod:`core.annotations.queue`: the review queue (model vs reference disagreement, or model uncertainty).
- :mod:`core.annotations.cli`: ``python -m core annotations export|import|history|check|add-user``.
"""

from core.annotations.errors import (
    AnnotationError,
    ImportFormatError,
    InvalidLabelError,
    InvalidNoteError,
    InvalidReviewerError,
    InvalidStatusError,
    PermissionDeniedError,
    SchemaVersionError,
    UndoError,
    UnknownEventError,
    UnknownRecordError,
)
from core.annotations.schema import STATUSES, Event, RecordState
from core.annotations.store import AnnotationStore, default_path, filter_records

__all__ = [
    "STATUSES",
    "AnnotationError",
    "AnnotationStore",
    "Event",
    "ImportFormatError",
    "InvalidLabelError",
    "InvalidNoteError",
    "InvalidReviewerError",
    "InvalidStatusError",
    "PermissionDeniedError",
    "RecordState",
    "SchemaVersionError",
    "UndoError",
    "UnknownEventError",
    "UnknownRecordError",
    "default_path",
    "filter_records",
]
