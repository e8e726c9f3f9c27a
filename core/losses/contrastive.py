"""Softmax (InfoNCE) contrastive losses between ECG and report embeddings.

:class:`ClipLoss` is the symmetric InfoNCE of CLIP (Radford et al. 2021), used by METS (arXiv 2303.12311).
:class:`SoftClipLoss` replaces the one-hot targets with a report-report similarity matrix, as FG-CLEP does, so two
ECGs whose reports say the same thing are not pushed apart.

Both gather the features of every rank inside the loss (with gradients), so the negatives are the global batch; one
process takes the same code path (the gather returns its input). :class:`ClipLoss` also takes per-ECG extra negative
reports (label-aware hard negatives, :mod:`core.losses.hard_negatives`) as extra columns of the ECG-to-report softmax.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.distributed import all_gather_no_grad, all_gather_with_grad, world
from core.losses.hard_negatives import hard_negative_logits, negative_mask_or_all
from core.losses.targets import similarity_targets


class ClipLoss(nn.Module):
    """Symmetric InfoNCE over the (gathered) batch.

    Args:
        local_loss: each rank computes the rows of its own samples against the global batch (cheaper; the mean over
            ranks equals the global loss). ``False`` computes the full global matrix on every rank.
    """

    def __init__(self, *, local_loss: bool = True) -> None:
        super().__init__()
        self.local_loss = local_loss

    def logits(
        self, ecg_features: torch.Tensor, text_features: torch.Tensor, logit_scale: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(logits_per_ecg, logits_per_text, labels)``: rows are this rank's samples (or all of them), columns the
        global batch, ``labels`` the column of each row's positive."""
        rank, _ = world()
        all_ecg = all_gather_with_grad(ecg_features)
        all_text = all_gather_with_grad(text_features)
        if self.local_loss:
            logits_per_ecg = logit_scale * ecg_features @ all_text.T
            logits_per_text = logit_scale * text_features @ all_ecg.T
            offset = rank * ecg_features.shape[0]
        else:
            logits_per_ecg = logit_scale * all_ecg @ all_text.T
            logits_per_text = logits_per_ecg.T
            offset = 0
        labels = torch.arange(logits_per_ecg.shape[0], device=logits_per_ecg.device) + offset
        return logits_per_ecg, logits_per_text, labels

    def forward(
        self,
        ecg_features: torch.Tensor,
        text_features: torch.Tensor,
        logit_scale: torch.Tensor,
        *,
        negative_features: torch.Tensor | None = None,
        negative_mask: torch.Tensor | None = None,
        **extras: object,
    ) -> dict[str, torch.Tensor]:
        """InfoNCE loss.

        Args:
            ecg_features: (B, D) L2-normalised ECG embeddings of this rank.
            text_features: (B, D) L2-normalised report embeddings, paired row by row.
            logit_scale: scalar temperature multiplier (already exponentiated).
            negative_features: optional (B, K, D) L2-normalised extra negative reports per ECG of this rank: each
                ECG's softmax over reports gets its own K more columns (the report-to-ECG direction is unchanged).
            negative_mask: (B, K) ``True`` where a negative exists (default: all).
            **extras: ignored (other losses' inputs).

        Returns:
            ``{"contrastive_loss": scalar}``.
        """
        logits_per_ecg, logits_per_text, labels = self.logits(ecg_features, text_features, logit_scale)
        if negative_features is not None:
            negative_mask = negative_mask_or_all(negative_features, negative_mask)
            ecg_rows = ecg_features
            if not self.local_loss:  # rows are the global batch: so are their negatives
                ecg_rows = all_gather_with_grad(ecg_features)
                negative_features = all_gather_with_grad(negative_features)
                negative_mask = all_gather_no_grad(negative_mask.to(torch.uint8)).bool()
            extra = hard_negative_logits(ecg_rows, negative_features, negative_mask, logit_scale)
            logits_per_ecg = torch.cat([logits_per_ecg, extra.to(logits_per_ecg.dtype)], dim=1)
        loss = (F.cross_entropy(logits_per_ecg, labels) + F.cross_entropy(logits_per_text, labels)) / 2
        return {"contrastive_loss": loss}


class SoftClipLoss(ClipLoss):
    """InfoNCE with soft targets from report-report similarity (FG-CLEP).

    Each row's target distribution puts weight on every report at least ``threshold`` similar to its own (the
    positive keeps weight 1), normalised to sum to one. With an identity similarity matrix this is exactly
    :class:`ClipLoss`.

    Args:
        threshold: cosine similarity from which another report counts as a (weighted) positive.
        local_loss: see :class:`ClipLoss`.
    """

    def __init__(self, *, threshold: float = 0.9, local_loss: bool = True) -> None:
        super().__init__(local_loss=local_loss)
        self.threshold = threshold

    def forward(
        self,
        ecg_features: torch.Tensor,
        text_features: torch.Tensor,
        logit_scale: torch.Tensor,
        *,
        text_similarity: torch.Tensor | None = None,
        target_embeddings: torch.Tensor | None = None,
        target_labels: torch.Tensor | None = None,
        **extras: object,
    ) -> dict[str, torch.Tensor]:
        """Soft-target InfoNCE loss.

        Args:
            ecg_features, text_features, logit_scale: as in :meth:`ClipLoss.forward`.
            text_similarity: report-report similarity, (rows, global B) matching the logits' rows (this rank's rows
                with ``local_loss``, all rows otherwise).
            target_embeddings, target_labels: frozen report embeddings and label-set ids of this rank, the other way
                to the similarity (see :func:`core.losses.targets.report_similarity`).
            **extras: ignored.

        Returns:
            ``{"contrastive_loss": scalar}``.
        """
        logits_per_ecg, logits_per_text, labels = self.logits(ecg_features, text_features, logit_scale)
        targets = similarity_targets(
            logits_per_ecg,
            labels,
            text_similarity,
            target_embeddings,
            threshold=self.threshold,
            all_rows=not self.local_loss,
            loss_name="SoftClipLoss",
            target_labels=target_labels,
        )
        targets = targets / targets.sum(dim=1, keepdim=True)
        loss_ecg = -(targets * F.log_softmax(logits_per_ecg, dim=1)).sum(dim=1).mean()
        loss_text = -(targets * F.log_softmax(logits_per_text, dim=1)).sum(dim=1).mean()
        return {"contrastive_loss": (loss_ecg + loss_text) / 2}
