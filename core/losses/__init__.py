"""Training losses: ``nn.Module``s with ``forward(ecg_features, text_features, logit_scale, **extras) -> dict`` whose
keys end in ``_loss``; the trainer logs every term and sums them. Cross-rank gathering happens inside the losses."""

from core.losses.contrastive import ClipLoss, SoftClipLoss
from core.losses.hard_negatives import HardNegativeSampler, hard_negative_logits
from core.losses.masked import MaskedReconstructionLoss, MLMLoss
from core.losses.matching import MatchingLoss, sample_hard_negatives
from core.losses.n3s import N3SSampler
from core.losses.sigmoid import SigLipLoss, SoftTargetSigLipLoss
from core.losses.targets import soft_targets

__all__ = [
    "ClipLoss",
    "HardNegativeSampler",
    "MLMLoss",
    "MaskedReconstructionLoss",
    "MatchingLoss",
    "N3SSampler",
    "SigLipLoss",
    "SoftClipLoss",
    "SoftTargetSigLipLoss",
    "hard_negative_logits",
    "sample_hard_negatives",
    "soft_targets",
]
