"""Soft contrastive targets from a report-report similarity matrix (FG-CLEP)."""

from __future__ import annotations

import torch

from core.distributed import all_gather_no_grad


def soft_targets(similarity: torch.Tensor, labels: torch.Tensor, threshold: float) -> torch.Tensor:
    """Targets in [0, 1] for a (rows, cols) logit matrix.

    Each row's own positive (column ``labels[row]``) gets 1; any other column whose report similarity is at least
    ``threshold`` gets that similarity (clipped to [0, 1]); the rest get 0. With ``similarity`` equal to the identity
    (rows aligned with ``labels``) the result is the one-hot target matrix.

    Args:
        similarity: (rows, cols) cosine similarities between the rows' reports and the columns' reports.
        labels: (rows,) column index of each row's positive.
        threshold: similarity from which another report counts as a soft positive.
    """
    sim = similarity.detach().clamp(0.0, 1.0)
    targets = torch.where(sim >= threshold, sim, torch.zeros_like(sim))
    rows = torch.arange(targets.shape[0], device=targets.device)
    targets[rows, labels] = 1.0
    return targets


def report_similarity(
    text_similarity: torch.Tensor | None,
    target_embeddings: torch.Tensor | None,
    *,
    all_rows: bool,
    loss_name: str,
    target_labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """The report-report similarity a soft-target loss needs: given directly, or computed from this rank's frozen
    report embeddings against those of the whole (gathered) batch.

    Args:
        text_similarity: precomputed similarity, returned as it is when given.
        target_embeddings: (B, E) L2-normalised frozen report embeddings of this rank.
        all_rows: rows for every report of the global batch (a loss without ``local_loss``), else this rank's only.
        loss_name: named in the error when neither input is given.
        target_labels: optional (B,) label-set ids of this rank's reports (-1: unknown). Two reports with different
            known label sets get similarity 0, so clinical twins ("left" / "right bundle branch block"), which a
            frozen language model finds near-identical, never become each other's soft positives.

    Raises:
        ValueError: neither ``text_similarity`` nor ``target_embeddings`` was given.
    """
    if text_similarity is None:
        if target_embeddings is None:
            raise ValueError(f"{loss_name} needs text_similarity or target_embeddings")
        everyone = all_gather_no_grad(target_embeddings)
        text_similarity = (everyone if all_rows else target_embeddings) @ everyone.T
    if target_labels is None:
        return text_similarity
    columns = all_gather_no_grad(target_labels)
    rows = columns if all_rows else target_labels
    agree = (rows[:, None] == columns[None, :]) | (rows[:, None] < 0) | (columns[None, :] < 0)
    return text_similarity * agree.to(text_similarity.dtype)


def similarity_targets(
    logits: torch.Tensor,
    labels: torch.Tensor,
    text_similarity: torch.Tensor | None,
    target_embeddings: torch.Tensor | None,
    *,
    threshold: float,
    all_rows: bool,
    loss_name: str,
    target_labels: torch.Tensor | None = None,
) -> torch.Tensor:
    """Soft targets for a soft-target loss's ``logits``: :func:`report_similarity` (given, or computed from frozen
    report embeddings, label-gated) turned into :func:`soft_targets` in the logits' dtype.

    Args:
        logits: (rows, cols) logits whose targets these are (only their dtype is used).
        labels: (rows,) column index of each row's positive.
        text_similarity, target_embeddings: see :func:`report_similarity`.
        threshold: similarity from which another report counts as a soft positive.
        all_rows, loss_name, target_labels: see :func:`report_similarity`.

    Raises:
        ValueError: neither ``text_similarity`` nor ``target_embeddings`` was given.
    """
    similarity = report_similarity(
        text_similarity, target_embeddings, all_rows=all_rows, loss_name=loss_name, target_labels=target_labels
    )
    return soft_targets(similarity.to(logits.dtype), labels, threshold)
