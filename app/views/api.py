"""API-only endpoints (no components): JSON in, JSON out, for scripts that want scores and neighbours in one call."""

from __future__ import annotations

import gradio as gr

from app.state import Services
from app.views.common import Context, user_errors
from core import zeroshot


def analyze(services: Services, ecg_key: str, classes: dict, k: int = 5, checkpoint: str = "") -> dict:
    """Zero-shot scores and the ``k`` nearest reports of one ECG.

    Args:
        services: the app's services.
        ecg_key: an indexed record id or an upload key.
        classes: ``{class: [prompt, ...]}`` (a string value is one prompt).
        k: number of nearest reports.
        checkpoint: zero-shot checkpoint (default: the index checkpoint; retrieval always uses the index's).

    Returns:
        ``{"ecg", "checkpoint", "scores": [[class, cosine, probability], ...], "reports": [[record_id, cosine,
        labels, report], ...]}``, both best first.
    """
    key = (ecg_key or "").strip()
    if not key:
        raise gr.Error("ecg_key is empty: pass a record id (e.g. 'ptbxl/00001') or an upload key")
    with user_errors():
        ps = zeroshot.PromptSet.from_dict({"classes": classes or {}})
        embedder = services.embedder(checkpoint or None)
        names, class_emb = services.class_embeddings(ps.classes, checkpoint or None)
        score = zeroshot.scores(services.embedding(key, checkpoint or None), class_emb)
        probs = zeroshot.softmax_probs(score, embedder.logit_scale)
        order = sorted(range(len(names)), key=lambda i: -float(score[i]))
        hits = services.explorer().nearest_reports(services.embedding(key), int(k))
    return {
        "ecg": key,
        "checkpoint": embedder.name,
        "scores": [[names[i], round(float(score[i]), 5), round(float(probs[i]), 5)] for i in order],
        "reports": [[r.record_id, round(s, 5), ", ".join(r.label_list()), r.text_en] for r, s in hits],
    }


def build(ctx: Context) -> None:
    """Register the API-only endpoints."""
    services = ctx.services

    def analyze_ecg(ecg_key: str, classes: dict, k: int = 5, checkpoint: str = "") -> dict:
        """Zero-shot scores ({class: [prompts]}) and the k nearest reports of one ECG, as JSON."""
        return analyze(services, ecg_key, classes, k, checkpoint)

    gr.api(analyze_ecg, api_name="analyze", queue=False)
