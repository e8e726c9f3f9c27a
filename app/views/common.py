"""What the tabs share: the services, the current-ECG box, and the app boundary that turns errors into ``gr.Error``."""

from __future__ import annotations

import contextlib
import logging
import re
from dataclasses import dataclass

import gradio as gr

from core.annotations.errors import AnnotationError
from core.errors import UserFacingError
from core.explorer import QueryService

logger = logging.getLogger(__name__)

# Errors a user causes and can fix. AnnotationError (bad status, empty reviewer, ...) is the annotation store's
# family of the same kind; it predates UserFacingError.
USER_FACING = (UserFacingError, AnnotationError)
GENERIC_FAILURE = "Something went wrong on the server ({}); it has been logged. Please try again or report it."
# An absolute path (``/tmp/x/y.hea``, not a record id like ``ptbxl/00001``): only its file name is shown.
_PATH = re.compile(r"(?<![\w.~-])(?:/[^\s/:'\"]+)+/([^\s/:'\"]+)")


@dataclass
class Context:
    """Handed to every tab's ``build``.

    Attributes:
        services: the query service (checkpoints, index, uploads, caches; shared by all users).
        ecg_key: the textbox holding the current ECG's key (``"ptbxl/00001"`` or ``"upload/…"``).
        demo: the enclosing ``gr.Blocks`` (for ``demo.load`` events).
    """

    services: QueryService
    ecg_key: gr.Textbox
    demo: gr.Blocks


def user_message(exc: BaseException) -> str:
    """The message of a user-facing error, in one short line without server paths."""
    text = " ".join(str(exc).split())
    return _PATH.sub(r"\1", text)


@contextlib.contextmanager
def user_errors():
    """The app boundary: a user-facing error becomes one short ``gr.Error``; anything else is a bug, logged with its
    traceback and shown as a generic failure (``gr.Error`` passes through)."""
    try:
        yield
    except gr.Error:
        raise
    except USER_FACING as exc:
        raise gr.Error(user_message(exc)) from exc
    except Exception as exc:
        logger.exception("request failed")
        raise gr.Error(GENERIC_FAILURE.format(type(exc).__name__)) from exc


_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def flag(value: object, name: str) -> bool:
    """A checkbox's value as sent through the API: a bool (or 0/1, or "true"/"false"), else a ``gr.Error`` naming the
    input. ``bool("false")`` would be True, silently doing the opposite of what the caller asked."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise gr.Error(f"{name} must be true or false, not {value!r}")


def require_key(key: str | None) -> str:
    """The stripped ECG key, or a ``gr.Error`` asking for one."""
    key = (key or "").strip()
    if not key:
        raise gr.Error("no ECG selected: pick one in Browse or upload a file")
    return key
