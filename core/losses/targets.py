"""Soft contrastive targets from a report-report similarity matrix (FG-CLEP)."""

from __future__ import annotations

import torch


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
