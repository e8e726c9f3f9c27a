"""API-only endpoints (no components): JSON in, JSON out, for scripts that want scores and neighbours in one call."""

from __future__ import annotations

import gradio as gr

from app.views.batch import batch_zero_shot
from app.views.common import Context, user_errors
from core.explorer import QueryService


def _key(ecg_key: str) -> str:
    key = (ecg_key or "").strip()
    if not key:
        raise gr.Error("ecg_key is empty: pass a record id (e.g. 'ptbxl/00001') or an upload key")
    return key


def analyze(services: QueryService, ecg_key: str, classes: dict, k: int = 5, checkpoint: str = "") -> dict:
    """Zero-shot scores and the ``k`` nearest reports of one ECG.

    Args:
        services: the query service.
        ecg_key: an indexed record id or an upload key.
        classes: ``{class: [prompt, ...]}`` (a string value is one prompt).
        k: number of nearest reports.
        checkpoint: zero-shot checkpoint (default: the index checkpoint; retrieval always uses the index's).

    Returns:
        ``{"ecg", "checkpoint", "score_kind", "scores": [[class, cosine, probability], ...], "reports": [[record_id,
        cosine, labels, report], ...]}``, both best first; ``score_kind`` says what the probabilities are
        (``"softmax"``: over the listed classes; ``"sigmoid"``: independent per class).
    """
    key = _key(ecg_key)
    with user_errors():
        table = {str(c): [p] if isinstance(p, str) else list(p) for c, p in (classes or {}).items()}
        out = services.analyze(key, table, int(k), checkpoint or None)
    scores = out.zero_shot.scores
    return {
        "ecg": key,
        "checkpoint": out.zero_shot.checkpoint,
        "score_kind": scores.kind,
        "scores": [[n, round(s, 5), round(p, 5)] for n, s, p in scores.rows()],
        "reports": [
            [n.record.record_id, round(n.similarity, 5), ", ".join(n.record.label_list()), n.record.text_en]
            for n in out.reports
        ],
    }


def measurements(services: QueryService, ecg_key: str) -> dict:
    """The automated (unconfirmed) waveform measurements of one ECG as JSON.

    Returns:
        ``{"ecg": key, **Measurements.to_dict()}``: values (None where not measured, with the reason in
        ``missing`` and a 0..1 confidence in ``quality``), per-beat fiducial points in ``beats`` and per-lead values
        in ``per_lead`` (fields of the measurement version in ``version``).
    """
    key = _key(ecg_key)
    with user_errors():
        opened = services.open_record(key)
    if opened.measurements is None:
        raise gr.Error(f"the measurements of {key} could not be made ({opened.measure_error})")
    return {"ecg": key, **opened.measurements.to_dict()}


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

    def batch_zeroshot(prompt_table: dict, checkpoint: str = "", dataset: str = "all") -> dict:
        """Score every indexed record of a dataset against a prompt table (the Zero-shot tab's {"headers", "data"}
        or {class: [prompts]}): per-class AUC, positives and a confusion matrix (rows: reference, columns: predicted)
        against the reference labels, as JSON."""
        return batch_zero_shot(services, prompt_table, checkpoint, dataset).to_dict()

    gr.api(batch_zeroshot, api_name="batch_zeroshot")
