"""Sigmoid (pairwise binary) contrastive losses (SigLIP, Zhai et al. 2023, arXiv 2303.15343).

Every (ECG, report) pair of the global batch is an independent binary problem: the paired report is positive, every
other report negative. D-BETA / C-MELT (arXiv 2410.02131) uses it as its contrastive term; FG-CLEP uses the soft
variant because an ECG can carry several labels and two ECGs can share a diagnosis.

Rows are this rank's ECGs, columns the gathered reports of every rank; the loss is summed over pairs and divided by
the number of rows, so the mean over ranks equals the single-process loss on the global batch.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.distributed import all_gather_with_grad, world
from core.losses.hard_negatives import hard_negative_logits, negative_mask_or_all
from core.losses.targets import similarity_targets


def _sigmoid_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Sum over pairs of the binary cross-entropy with targets in [0, 1], divided by the number of rows.

    For targets in {0, 1} this is SigLIP's ``-log sigmoid(z * logit)`` with ``z = 2 * target - 1``.
    """
    return F.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / logits.shape[0]


class SigLipLoss(nn.Module):
    """Sigmoid contrastive loss with hard (one-hot) targets."""

    def logits(
        self,
        ecg_features: torch.Tensor,
        text_features: torch.Tensor,
        logit_scale: torch.Tensor,
        logit_bias: torch.Tensor | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(logits, labels)``: (B, global B) logits of this rank's ECGs against every report, and each row's
        positive column."""
        rank, _ = world()
        all_text = all_gather_with_grad(text_features)
        logits = logit_scale * ecg_features @ all_text.T
        if logit_bias is not None:
            logits = logits + logit_bias
        labels = torch.arange(ecg_features.shape[0], device=logits.device) + rank * ecg_features.shape[0]
        return logits, labels

    def forward(
        self,
        ecg_features: torch.Tensor,
        text_features: torch.Tensor,
        logit_scale: torch.Tensor,
        *,
        logit_bias: torch.Tensor | None = None,
        negative_features: torch.Tensor | None = None,
        negative_mask: torch.Tensor | None = None,
        **extras: object,
    ) -> dict[str, torch.Tensor]:
        """Sigmoid loss.

        Args:
            ecg_features: (B, D) L2-normalised ECG embeddings of this rank.
            text_features: (B, D) L2-normalised report embeddings, paired row by row.
            logit_scale: scalar multiplier (already exponentiated).
            logit_bias: scalar bias (SigLIP initialises it at -10 so the many negatives start near zero loss).
            negative_features: optional (B, K, D) L2-normalised extra negative reports per ECG (label-aware hard
                negatives): K more binary problems per row, each with target 0.
            negative_mask: (B, K) ``True`` where a negative exists (default: all).
            **extras: ignored.

        Returns:
            ``{"sigmoid_loss": scalar}``.
        """
        logits, labels = self.logits(ecg_features, text_features, logit_scale, logit_bias)
        targets = torch.zeros_like(logits)
        targets[torch.arange(logits.shape[0], device=logits.device), labels] = 1.0
        loss = _sigmoid_loss(logits, targets)
        if negative_features is not None:
            negative_mask = negative_mask_or_all(negative_features, negative_mask)
            extra = hard_negative_logits(ecg_features, negative_features, negative_mask, logit_scale)
            if logit_bias is not None:
                extra = extra + logit_bias
            # Summed like the in-batch pairs and divided by the same number of rows.
            present = extra[negative_mask]
            hard = F.binary_cross_entropy_with_logits(present, torch.zeros_like(present), reduction="sum")
            loss = loss + hard / logits.shape[0]
        return {"sigmoid_loss": loss}


class SoftTargetSigLipLoss(SigLipLoss):
    """Sigmoid loss whose targets come from report-report similarity (FG-CLEP).

    A report at least ``threshold`` similar to the row's own report is a soft positive with that similarity as its
    target; with an identity similarity matrix this is exactly :class:`SigLipLoss`.

    Args:
        threshold: cosine similarity from which another report counts as a soft positive.
    """

    def __init__(self, *, threshold: float = 0.9) -> None:
        super().__init__()
        self.threshold = threshold

    def forward(
        self,
        ecg_features: torch.Tensor,
        text_features: torch.Tensor,
        logit_scale: torch.Tensor,
        *,
        logit_bias: torch.Tensor | None = None,
        text_similarity: torch.Tensor | None = None,
        target_embeddings: torch.Tensor | None = None,
        target_labels: torch.Tensor | None = None,
        **extras: object,
    ) -> dict[str, torch.Tensor]:
        """Soft-target sigmoid loss.

        Args:
            ecg_features, text_features, logit_scale, logit_bias: as in :meth:`SigLipLoss.forward`.
            text_similarity: (B, global B) similarity of this rank's reports to every report of the global batch.
            target_embeddings, target_labels: frozen report embeddings and label-set ids of this rank, the other way
                to the similarity (see :func:`core.losses.targets.report_similarity`).
            **extras: ignored.

        Returns:
            ``{"sigmoid_loss": scalar}``.
        """
        logits, labels = self.logits(ecg_features, text_features, logit_scale, logit_bias)
        targets = similarity_targets(
            logits,
            labels,
            text_similarity,
            target_embeddings,
            threshold=self.threshold,
            all_rows=False,
            loss_name="SoftTargetSigLipLoss",
            target_labels=target_labels,
        )
        return {"sigmoid_loss": _sigmoid_loss(logits, targets)}
