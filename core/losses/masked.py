"""Masked-modelling losses of D-BETA / C-MELT (arXiv 2410.02131): masked ECG reconstruction and masked language
modelling."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class MaskedReconstructionLoss(nn.Module):
    """MSE on the masked patches only (MAE, He et al. 2022).

    The target of each patch is normalised by its own mean and standard deviation (MAE's ``norm_pix_loss``), so the
    loss measures shape rather than amplitude; visible patches never contribute, whatever the decoder predicts there.

    Args:
        norm_target: normalise each target patch (per-patch mean 0, std 1).
        eps: variance floor of that normalisation.
    """

    def __init__(self, *, norm_target: bool = True, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm_target = norm_target
        self.eps = eps

    def forward(
        self,
        ecg_features: torch.Tensor | None = None,
        text_features: torch.Tensor | None = None,
        logit_scale: torch.Tensor | None = None,
        *,
        recon_pred: torch.Tensor,
        recon_target: torch.Tensor,
        recon_mask: torch.Tensor,
        **extras: object,
    ) -> dict[str, torch.Tensor]:
        """Masked reconstruction loss.

        Args:
            ecg_features, text_features, logit_scale: unused (the common loss signature).
            recon_pred: (B, N, P) decoder predictions per patch.
            recon_target: (B, N, P) the input patches (normalised here when ``norm_target``).
            recon_mask: (B, N) 1 (or True) where a patch was hidden from the encoder.
            **extras: ignored.

        Returns:
            ``{"reconstruction_loss": scalar}``; zero (with a gradient path) when nothing is masked.
        """
        target = recon_target.float()
        if self.norm_target:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True, unbiased=False)
            target = (target - mean) / (var + self.eps).sqrt()
        mask = recon_mask.to(target.dtype)
        per_patch = (recon_pred.float() - target).pow(2).mean(dim=-1)
        # Multiplying by the mask (not indexing) keeps shapes static; clamp avoids 0/0 when nothing is masked.
        loss = (per_patch * mask).sum() / mask.sum().clamp(min=1.0)
        return {"reconstruction_loss": loss}


class MLMLoss(nn.Module):
    """Cross-entropy on the masked tokens (BERT's masked language modelling, ~25 % of tokens in D-BETA)."""

    ignore_index = -100

    def forward(
        self,
        ecg_features: torch.Tensor | None = None,
        text_features: torch.Tensor | None = None,
        logit_scale: torch.Tensor | None = None,
        *,
        mlm_logits: torch.Tensor,
        mlm_labels: torch.Tensor,
        **extras: object,
    ) -> dict[str, torch.Tensor]:
        """Masked-LM loss.

        Args:
            ecg_features, text_features, logit_scale: unused (the common loss signature).
            mlm_logits: (B, L, V) vocabulary logits.
            mlm_labels: (B, L) the original token id where a token was masked, ``-100`` elsewhere.
            **extras: ignored.

        Returns:
            ``{"mlm_loss": scalar}``; zero (with a gradient path) when no token was masked.
        """
        labels = mlm_labels.reshape(-1)
        if not (labels != self.ignore_index).any():
            return {"mlm_loss": mlm_logits.sum() * 0.0}
        logits = mlm_logits.reshape(-1, mlm_logits.shape[-1]).float()
        return {"mlm_loss": F.cross_entropy(logits, labels, ignore_index=self.ignore_index)}
