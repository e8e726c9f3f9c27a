"""API-only endpoints (no components): JSON in, JSON out, for scripts that want scores and neighbours in one call."""

from __future__ import annotations

import logging

import gradio as gr

from app.state import Services
from app.views.common import Context, user_errors
from core import zeroshot

logger = logging.getLogger(__name__)


def analyze(services: Services, ecg_key: str, classes: dict, k: int = 5, checkpoint: str = "") -> dict:
    """Zero-shot scores and the ``k`` nearest reports of one ECG.

    Args:
        services: the app's services.
        ecg_key: an indexed record id or an upload key.
        classes: ``{class: [prompt, ...]}`` (a string value is one prompt).
        k: number of nearest reports.
        checkpoint: zero-shot checkpoint (default: the index checkpoint; retrieval always uses the index's).

    Returns:
        ``{"ecg", "checkpoint", "score_kind", "scores": [[class, cosine, probability], ...], "reports": [[record_id,
        cosine, labels, report], ...]}``, both best first; ``score_kind`` says what the probabilities are
        (``"softmax"``: over the listed classes; ``"sigmoid"``: independent per class).
    """
    key = (ecg_key or "").strip()
    if not key:
        raise gr.Error("ecg_key is empty: pass a record id (e.g. 'ptbxl/00001') or an upload key")
    with user_errors():
        ps = zeroshot.PromptSet.from_dict({"classes": classes or {}})
        embedder = services.embedder(checkpoint or None)
        result = services.zero_shot(key, ps.classes, checkpoint or None)
        hits = services.explorer().nearest_reports(services.embedding(key), int(k))
    return {
        "ecg": key,
        "checkpoint": embedder.name,
        "score_kind": result.kind,
        "scores": [[n, round(s, 5), round(p, 5)] for n, s, p in result.rows()],
        "reports": [[r.record_id, round(s, 5), ", ".join(r.label_list()), r.text_en] for r, s in hits],
    }


def measurements(services: Services, ecg_key: str) -> dict:
    """The automated (unconfirmed) waveform measurements of one ECG as JSON.

    Args:
        services: the app's services.
        ecg_key: an indexed record id or an upload key.

    Returns:
        ``{"ecg": key, **Measurements.to_dict()}``: values (None where not measured, with the reason in
        ``missing`` and a 0..1 confidence in ``quality``), per-beat fiducial points in ``beats`` and per-lead values
        in ``per_lead`` (fields of the measurement version in ``version``).
    """
    key = (ecg_key or "").strip()
    if not key:
        raise gr.Error("ecg_key is empty: pass a record id (e.g. 'ptbxl/00001') or an upload key")
    with user_errors():
        services.ecg(key)  # an unknown or expired key fails here, as a user error
        try:
            m = services.measurements(key)
        except (ImportError, OSError, RuntimeError) as exc:
            # A server-side failure (e.g. the delineator checkpoint is missing): log it, answer without paths.
            logger.warning("measurements of %s failed: %s", key, exc)
            raise gr.Error(f"the measurements of {key} could not be made ({type(exc).__name__})") from exc
    return {"ecg": key, **m.to_dict()}


def build(ctx: Context) -> None:
    """Register the API-only endpoints."""
    services = ctx.services

    def analyze_ecg(ecg_key: str, classes: dict, k: int = 5, checkpoint: str = "") -> dict:
        """Zero-shot scores ({class: [prompts]}) and the k nearest reports of one ECG, as JSON."""
        return analyze(services, ecg_key, classes, k, checkpoint)

    gr.api(analyze_ecg, api_name="analyze", queue=False)

    def ecg_measurements(ecg_key: str) -> dict:
        """Automated, unconfirmed waveform measurements (intervals, axis, amplitudes, per-beat fiducials) as JSON."""
        return measurements(services, ecg_key)

    gr.api(ecg_measurements, api_name="measurements", queue=False)
