"""METS (Li et al., "Frozen Language Model Helps ECG Zero-Shot Learning", arXiv 2303.12311).

A trainable ECG encoder and a FROZEN language model, each followed by a trainable projection, trained with the
symmetric InfoNCE loss between ECG and report embeddings. Because the language model never changes, its pooled
report embeddings are computed once and served from the text encoder's cache for the rest of the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from core.losses import ClipLoss
from core.models import ECGTextModel
from core.recipes.base import Recipe, RecipeConfig, register_recipe


@dataclass
class MetsConfig(RecipeConfig):
    """METS options.

    Attributes:
        model: a config whose text encoder is frozen (``text.trainable: false``).
        local_loss: each rank scores its own ECGs against the global batch (see :class:`core.losses.ClipLoss`).
    """

    model: str = "mets-resnet1d"
    local_loss: bool = True


@register_recipe
class MetsRecipe(Recipe):
    """ECG encoder + frozen LM + InfoNCE."""

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
        """Embed every distinct report once with the frozen language model (later steps hit the cache)."""
        unique = list(dict.fromkeys(texts))
        with torch.no_grad():
            for i in range(0, len(unique), 64):
                model.text(unique[i : i + 64])

    def compute_losses(
        self, model: ECGTextModel, batch: dict[str, Any], *, step: int, rank: int = 0, seed: int = 0
    ) -> dict[str, torch.Tensor]:
        out = model(batch["signal"], batch["text"], lead_mask=batch.get("lead_mask"))
        return self.loss(**out)
