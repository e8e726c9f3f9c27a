"""ECG-text matching (ETM): a binary head on the fused (ECG, report) pair, trained on the true pairs and on hard
negatives (BLIP's image-text matching, Li et al. 2022, as used by D-BETA / C-MELT, arXiv 2410.02131)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


class MatchingLoss(nn.Module):
    """Cross-entropy of the matching head on positive and negative pairs."""

    def forward(
        self,
        ecg_features: torch.Tensor | None = None,
        text_features: torch.Tensor | None = None,
        logit_scale: torch.Tensor | None = None,
        *,
        match_logits: torch.Tensor,
        match_labels: torch.Tensor,
        **extras: object,
    ) -> dict[str, torch.Tensor]:
        """Matching loss.

        Args:
            ecg_features, text_features, logit_scale: unused (the common loss signature).
            match_logits: (M, 2) two-class logits (index 1 = "matched") or (M,) single logits.
            match_labels: (M,) 1 for a true pair, 0 for a negative.
            **extras: ignored.

        Returns:
            ``{"matching_loss": scalar}``.
        """
        if match_logits.dim() == 2:
            return {"matching_loss": F.cross_entropy(match_logits.float(), match_labels.long())}
        return {"matching_loss": F.binary_cross_entropy_with_logits(match_logits.float(), match_labels.float())}


def sample_hard_negatives(
    similarity: torch.Tensor,
    texts: Sequence[str] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """For each row, draw a negative column with probability proportional to ``softmax(similarity)``.

    Hard negatives are the wrong partners the model currently finds most similar (BLIP). The row's own partner
    (column ``i``) is never drawn, nor any column whose report text equals the row's (a false negative).

    Args:
        similarity: (B, B) similarity of row items to column items of the same batch, detached.
        texts: the B report texts of the batch; columns with the row's text are excluded.
        generator: RNG for the draw (on ``similarity``'s device).

    Returns:
        (B,) long column index per row; a row with no valid column gets ``-1``.
    """
    n = similarity.shape[0]
    allowed = ~torch.eye(n, dtype=torch.bool, device=similarity.device)
    if texts is not None:
        ids = {t: k for k, t in enumerate(dict.fromkeys(texts))}
        codes = torch.tensor([ids[t] for t in texts], device=similarity.device)
        allowed &= codes[:, None] != codes[None, :]
    weights = torch.softmax(similarity.detach().float(), dim=1) * allowed
    has_any = allowed.any(dim=1)
    # Rows without a valid column get uniform dummy weights; their draw is replaced by -1 below.
    weights = torch.where(has_any[:, None], weights + allowed * 1e-12, torch.ones_like(weights))
    picks = torch.multinomial(weights, 1, generator=generator).squeeze(1)
    return torch.where(has_any, picks, torch.full_like(picks, -1))
