"""METS (Li et al., "Frozen Language Model Helps ECG Zero-Shot Learning", arXiv 2303.12311).

A trainable ECG encoder and a FROZEN language model, each followed by a trainable projection, trained with the
symmetric InfoNCE loss between ECG and report embeddings. Because the language model never changes, its pooled
report embeddings are computed once and served from the text encoder's cache for the rest of the run.

Beyond the paper (optional, ``hard_negatives > 0``): the frozen model embeds clinical twins (left / right bundle branch
block) almost identically, so only the trainable text projection can pull them apart, and it learns to only when
twins compete in one softmax. Each training ECG therefore also scores ``hard_negatives`` reports that are nearest to
its own in frozen space but carry different labels (:class:`core.losses.HardNegativeSampler`), as extra columns of
its softmax. The language model stays frozen; validation uses the plain in-batch loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from core.losses import ClipLoss
from core.models import ECGTextModel
from core.recipes.base import (
    HardNegativeRecipe,
    RecipeConfig,
    register_recipe,
    step_generators,
)


@dataclass
class MetsConfig(RecipeConfig):
    """METS options.

    Attributes:
        model: a config whose text encoder is frozen (``text.trainable: false``).
        local_loss: each rank scores its own ECGs against the global batch (see :class:`core.losses.ClipLoss`).
        hard_negatives: label-different near reports added per training ECG (0: the paper's in-batch loss only).
        hard_negative_pool: each report's hard negatives are drawn from its this many nearest label-different reports.
    """

    model: str = "mets-resnet1d"
    local_loss: bool = True
    hard_negatives: int = 0
    hard_negative_pool: int = 8


@register_recipe
class MetsRecipe(HardNegativeRecipe):
    """ECG encoder + frozen LM + InfoNCE (+ optional label-aware hard-negative reports)."""

    name = "mets"
    config_cls = MetsConfig
    cfg: MetsConfig

    def __init__(self, cfg: MetsConfig) -> None:
        super().__init__(cfg)
        self.loss = ClipLoss(local_loss=cfg.local_loss)

    def build_model(self, device: torch.device | str | None = None) -> ECGTextModel:
        model = super().build_model(device)
        if model.text.trainable:
            raise ValueError(f"METS needs a frozen language model, but {self.cfg.model!r} has a trainable one")
        return model

    def prepare(self, model: ECGTextModel, texts: Sequence[str]) -> None:
        """Embed every distinct report once with the frozen language model (later steps hit the cache), and index
        the training reports for hard negatives."""
        unique = list(dict.fromkeys(texts))
        with torch.no_grad():
            for i in range(0, len(unique), 64):
                model.text(unique[i : i + 64])
        self.index_hard_negatives(model, unique)

    def compute_losses(
        self, model: ECGTextModel, batch: dict[str, Any], *, step: int, rank: int = 0, seed: int = 0
    ) -> dict[str, torch.Tensor]:
        out = model(batch["signal"], batch["text"], lead_mask=batch.get("lead_mask"))
        extras: dict[str, torch.Tensor] = {}
        if self.negatives is not None and model.training:
            _, rng = step_generators(seed, rank, step, out["ecg_features"].device)
            picks = self.negatives.sample(list(batch["text"]), rng, self.cfg.hard_negatives)
            flat = [p for row in picks for p in row]
            present = [p is not None for p in flat]
            if any(present):
                # Absent negatives are filled with any present one and masked out of the softmax.
                filler = next(p for p in flat if p is not None)
                feats = model.encode_text([p if p is not None else filler for p in flat])
                b, k = len(picks), self.cfg.hard_negatives
                extras["negative_features"] = F.normalize(feats, dim=-1).reshape(b, k, -1)
                extras["negative_mask"] = torch.tensor(present, device=feats.device).reshape(b, k)
        return self.loss(**out, **extras)
