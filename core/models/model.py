"""ECGTextModel: an ECG encoder and a text encoder projected into one embedding space (CLIP-style).

Optionally (D-BETA / C-MELT, arXiv 2410.02131) a fusion module lets text tokens cross-attend to ECG tokens, for an
ECG-text matching head and masked language modelling conditioned on the ECG.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from core.data.preprocess import PreprocessConfig
from core.models.layers import Block, ProjectionHead
from core.models.registry import create_encoder
from core.models.text_encoder import DEFAULT_TEXT_SOURCE, TextEncoder

MAX_LOGIT_SCALE = math.log(100.0)


class FusionEncoder(nn.Module):
    """Text tokens self-attend (with padding mask) and cross-attend to ECG tokens (BLIP-style).

    Args:
        text_width: width of the text tokens (the fused output keeps it, so the tied MLM head applies).
        ecg_width: width of the ECG tokens.
        depth: blocks.
        num_heads: attention heads.
    """

    def __init__(self, text_width: int, ecg_width: int, depth: int = 2, num_heads: int = 4) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            [Block(text_width, num_heads, context_dim=ecg_width, cross_attention=True) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(text_width)
        self.match_head = nn.Linear(text_width, 1)

    def forward(
        self, text_hidden: torch.Tensor, attention_mask: torch.Tensor, ecg_tokens: torch.Tensor
    ) -> torch.Tensor:
        """Fused text states (B, L, text_width)."""
        x = text_hidden
        for block in self.blocks:
            x = block(x, key_padding_mask=attention_mask.bool(), context=ecg_tokens.to(x.dtype))
        return self.norm(x)


class ECGTextModel(nn.Module):
    """Two-tower ECG-text model.

    Args:
        model_cfg: the ``model_cfg`` dict of a config JSON (see ``core/configs/models/``):
            ``embed_dim``; ``ecg`` = ``{"name": <registered encoder>, "args": {...}}``; ``ecg_proj`` / ``text_proj``
            (``"linear"`` | ``"mlp"``); ``text`` = TextEncoder kwargs (``source``, ``trainable``, ``trainable_layers``,
            ``max_length``, ``pooling``, ``mlm_head``); ``init_logit_scale`` (log of the inverse temperature);
            ``init_logit_bias`` (``null``, or e.g. -10 for SigLIP); ``fusion`` (``null`` or ``{"depth", "num_heads"}``).
        preprocess_cfg: how inputs must be preprocessed (travels with checkpoints).
        text_cache_path: optional SQLite file for the frozen text-embedding cache (runtime option, not saved).
    """

    def __init__(
        self,
        model_cfg: dict[str, Any],
        preprocess_cfg: PreprocessConfig | dict[str, Any] | None = None,
        *,
        text_cache_path: str | None = None,
    ) -> None:
        super().__init__()
        self.model_cfg = copy.deepcopy(model_cfg)
        if preprocess_cfg is None:
            preprocess_cfg = PreprocessConfig()
        elif isinstance(preprocess_cfg, dict):
            preprocess_cfg = PreprocessConfig.from_dict(preprocess_cfg)
        self.preprocess_cfg = preprocess_cfg
        cfg = self.model_cfg
        embed_dim = int(cfg["embed_dim"])
        ecg_cfg = cfg["ecg"]
        self.ecg = create_encoder(ecg_cfg["name"], **ecg_cfg.get("args", {}))
        self.ecg_proj = ProjectionHead(self.ecg.num_features, embed_dim, cfg.get("ecg_proj", "linear"))
        text_cfg = dict(cfg.get("text") or {})
        text_cfg.setdefault("source", DEFAULT_TEXT_SOURCE)
        self.text = TextEncoder(**text_cfg, cache_path=text_cache_path)
        self.text_proj = ProjectionHead(self.text.width, embed_dim, cfg.get("text_proj", "linear"))
        self.logit_scale = nn.Parameter(torch.tensor(float(cfg.get("init_logit_scale", math.log(1 / 0.07)))))
        init_bias = cfg.get("init_logit_bias")
        self.logit_bias = nn.Parameter(torch.tensor(float(init_bias))) if init_bias is not None else None
        fusion_cfg = cfg.get("fusion")
        self.fusion = FusionEncoder(self.text.width, self.ecg.num_features, **fusion_cfg) if fusion_cfg else None

    @property
    def embed_dim(self) -> int:
        return int(self.model_cfg["embed_dim"])

    # ---- towers ----------------------------------------------------------------------------------------------------

    def ecg_head(self, features: torch.Tensor) -> torch.Tensor:
        """Project encoder features/tokens (anything ``self.ecg.forward_head`` pools) to (B, embed_dim)."""
        return self.ecg_proj(self.ecg.forward_head(features, pre_logits=True))

    def encode_ecg(
        self, signal: torch.Tensor, lead_mask: torch.Tensor | None = None, normalize: bool = False
    ) -> torch.Tensor:
        """ECG embeddings (B, embed_dim) of preprocessed signals (B, 12, T); ``lead_mask`` (B, 12) True = present."""
        features = self.ecg_head(self.ecg.forward_features(signal, lead_mask))
        return F.normalize(features, dim=-1) if normalize else features

    def encode_ecg_tokens(
        self, signal: torch.Tensor, lead_mask: torch.Tensor | None = None, normalize: bool = False
    ) -> torch.Tensor:
        """Per-token ECG embeddings (B, N, embed_dim) in the shared space (local features, e.g. FG-CLEP's tag-level
        alignment): the encoder's ``forward_tokens`` passed through the ECG projection."""
        features = self.ecg_proj(self.ecg.forward_tokens(signal, lead_mask))
        return F.normalize(features, dim=-1) if normalize else features

    def encode_text(self, texts: list[str], normalize: bool = False) -> torch.Tensor:
        """Text embeddings (B, embed_dim) of raw strings."""
        features = self.text_proj(self.text(list(texts)))
        return F.normalize(features, dim=-1) if normalize else features

    def text_head(self, pooled: torch.Tensor) -> torch.Tensor:
        """Project pooled text states (B, width) to (B, embed_dim) (used with token-level text outputs)."""
        return self.text_proj(pooled)

    # ---- D-BETA extras ---------------------------------------------------------------------------------------------

    def fuse(self, ecg_tokens: torch.Tensor, text_hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Text states (B, L, width) after cross-attending to ECG tokens (B, N, ecg_width)."""
        if self.fusion is None:
            raise RuntimeError("this model has no fusion module (set model_cfg['fusion'])")
        return self.fusion(text_hidden, attention_mask, ecg_tokens)

    def match_logits(
        self, ecg_tokens: torch.Tensor, text_hidden: torch.Tensor, attention_mask: torch.Tensor
    ) -> torch.Tensor:
        """ECG-text matching logit (B,) of each (ECG, text) pair: > 0 means "this report belongs to this ECG"."""
        fused = self.fuse(ecg_tokens, text_hidden, attention_mask)
        assert self.fusion is not None
        return self.fusion.match_head(fused[:, 0]).squeeze(-1)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits (B, L, V) from (fused or plain) text states via the tied MLM head."""
        return self.text.mlm_logits(hidden)

    # ---- CLIP forward ----------------------------------------------------------------------------------------------

    def clamp_logit_scale_(self) -> None:
        """Clamp the stored log-scale to [0, ln 100] in place (call after each optimiser step, as open_clip does)."""
        with torch.no_grad():
            self.logit_scale.clamp_(0.0, MAX_LOGIT_SCALE)

    def forward(
        self, signal: torch.Tensor, texts: list[str], lead_mask: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Normalised embeddings of paired ECGs and texts.

        Returns:
            dict with ``ecg_features`` (B, D) and ``text_features`` (B, D), L2-normalised; ``logit_scale``: the
            multiplier exp(clamp(log-scale, max=ln 100)); and ``logit_bias`` when the config has one (SigLIP).
        """
        out = {
            "ecg_features": self.encode_ecg(signal, lead_mask, normalize=True),
            "text_features": self.encode_text(texts, normalize=True),
            "logit_scale": self.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp(),
        }
        if self.logit_bias is not None:
            out["logit_bias"] = self.logit_bias
        return out
