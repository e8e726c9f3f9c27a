"""What the tabs share: the services, the current-ECG box, and small helpers to turn core errors into gr.Error."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import gradio as gr
import numpy as np

from app.state import Services
from core.ecg import ECG
from core.errors import ECGReadError
from core.explorer import NoDataError


@dataclass
class Context:
    """Handed to every tab's ``build``.

    Attributes:
        services: checkpoints, explorer and uploads (shared by all users).
        ecg_key: the textbox holding the current ECG's key (``"ptbxl/00001"`` or ``"upload/…"``).
        demo: the enclosing ``gr.Blocks`` (for ``demo.load`` events).
    """

    services: Services
    ecg_key: gr.Textbox
    demo: gr.Blocks


@contextlib.contextmanager
def user_errors():
    """Turn the expected failures of core calls into ``gr.Error`` (shown in the page; the server keeps serving)."""
    try:
        yield
    except (NoDataError, ECGReadError, LookupError, ValueError) as exc:
        raise gr.Error(str(exc).strip("'\"")) from exc


def model_window(ecg: ECG, duration_s: float) -> tuple[np.ndarray, float]:
    """The part of the ECG a model sees (preprocessing centre-crops longer records) and its start time in s."""
    n = int(round(duration_s * ecg.fs_hz))
    if ecg.n_samples <= n:
        return ecg.signal_mv, 0.0
    start = (ecg.n_samples - n) // 2
    return ecg.signal_mv[:, start : start + n], start / ecg.fs_hz


def short(text: str, n: int = 140) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
