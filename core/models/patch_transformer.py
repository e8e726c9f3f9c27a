"""Patch transformer over 12-lead ECGs with MAE-style masking (D-BETA / C-MELT, arXiv 2410.02131; He et al. 2022).

The signal (B, 12, T) is cut into non-overlapping time patches of ``patch_size`` samples (all 12 leads together). A
small convolutional feature extractor embeds each patch on its own (so a masked patch cannot leak into its neighbours),
a transformer runs over the patch tokens plus a [CLS] token, and a light decoder reconstructs every patch from the
visible tokens. Shapes use ``N`` for patches per signal and ``P`` for ``patch_size``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn

from core.models.layers import Block, LeadPresence, get_act_layer, sincos_pos_embed
from core.models.registry import register_encoder


class PatchEmbed1d(nn.Module):
    """Conv feature extractor applied to each patch independently: (B, 12, N*P) -> (B, N, dim)."""

    def __init__(
        self,
        in_leads: int,
        patch_size: int,
        dim: int,
        conv_channels: Sequence[int] = (64, 128),
        conv_kernel: int = 5,
        act_layer: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        self.patch_size = patch_size
        layers: list[nn.Module] = []
        in_ch = in_leads
        for ch in conv_channels:
            # GroupNorm(1) (= LayerNorm over channels and time) keeps patches independent of the batch.
            layers += [
                nn.Conv1d(in_ch, ch, conv_kernel, stride=2, padding=conv_kernel // 2),
                nn.GroupNorm(1, ch),
                act_layer(),
            ]
            in_ch = ch
        self.convs = nn.Sequential(*layers)
        with torch.no_grad():
            out_len = self.convs(torch.zeros(1, in_leads, patch_size)).shape[-1]
        self.proj = nn.Linear(in_ch * out_len, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t = x.shape
        n = t // self.patch_size
        patches = x.view(b, c, n, self.patch_size).permute(0, 2, 1, 3).reshape(b * n, c, self.patch_size)
        feats = self.convs(patches).flatten(1)
        return self.proj(feats).view(b, n, -1)


class PatchTransformer1d(nn.Module):
    """Transformer encoder over ECG patches with random masking and a reconstruction decoder.

    Args:
        in_leads: input leads.
        patch_size: samples per patch (the signal length must be a multiple).
        embed_dim: token width.
        depth: encoder blocks.
        num_heads: attention heads.
        mlp_ratio: MLP hidden size / ``embed_dim``.
        conv_channels: channels of the per-patch conv feature extractor (each conv halves the patch length).
        conv_kernel: kernel of those convs.
        max_patches: longest sequence the position table covers.
        decoder_dim: width of the light decoder.
        decoder_depth: decoder blocks.
        decoder_heads: decoder attention heads.
        global_pool: ``"avg"`` (mean of patch tokens) or ``"cls"``.
        num_classes: size of a linear head; 0 leaves ``forward_head`` returning pooled features.
        drop_rate: dropout in blocks and before the head.
        act_layer: activation name.
    """

    def __init__(
        self,
        *,
        in_leads: int = 12,
        patch_size: int = 25,
        embed_dim: int = 256,
        depth: int = 6,
        num_heads: int = 4,
        mlp_ratio: float = 4.0,
        conv_channels: Sequence[int] = (64, 128),
        conv_kernel: int = 5,
        max_patches: int = 1024,
        decoder_dim: int = 128,
        decoder_depth: int = 2,
        decoder_heads: int = 4,
        global_pool: str = "avg",
        num_classes: int = 0,
        drop_rate: float = 0.0,
        act_layer: str = "gelu",
    ) -> None:
        super().__init__()
        if global_pool not in ("avg", "cls"):
            raise ValueError(f"global_pool must be 'avg' or 'cls', got {global_pool!r}")
        act = get_act_layer(act_layer)
        self.in_leads = in_leads
        self.patch_size = patch_size
        self.global_pool = global_pool
        self.num_features = embed_dim
        self.patch_embed = PatchEmbed1d(in_leads, patch_size, embed_dim, conv_channels, conv_kernel, act)
        self.lead_presence = LeadPresence(in_leads, embed_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        # Fixed sin-cos positions: not learned and not saved, so any length up to max_patches works.
        self.register_buffer("pos_embed", sincos_pos_embed(max_patches + 1, embed_dim)[None], persistent=False)
        self.blocks = nn.ModuleList(
            [Block(embed_dim, num_heads, mlp_ratio, drop=drop_rate, act_layer=act) for _ in range(depth)]
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()

        # Light decoder (MAE): only used by the masked-reconstruction objective.
        self.decoder_embed = nn.Linear(embed_dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.register_buffer(
            "decoder_pos_embed", sincos_pos_embed(max_patches + 1, decoder_dim)[None], persistent=False
        )
        self.decoder_blocks = nn.ModuleList(
            [Block(decoder_dim, decoder_heads, mlp_ratio, act_layer=act) for _ in range(decoder_depth)]
        )
        self.decoder_norm = nn.LayerNorm(decoder_dim)
        self.decoder_pred = nn.Linear(decoder_dim, in_leads * patch_size)
        self._init_weights()

    def _init_weights(self) -> None:
        nn.init.normal_(self.cls_token, std=0.02)
        nn.init.normal_(self.mask_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear) and m is not self.lead_presence.proj:
                nn.init.xavier_uniform_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    # ---- patches -------------------------------------------------------------------------------------------------

    def num_patches(self, num_samples: int) -> int:
        """Patches per signal of ``num_samples`` samples (raises if it does not divide or is too long)."""
        if num_samples % self.patch_size:
            raise ValueError(f"signal length {num_samples} is not a multiple of patch_size {self.patch_size}")
        n = num_samples // self.patch_size
        if n + 1 > self.pos_embed.shape[1]:
            raise ValueError(f"{n} patches exceed max_patches={self.pos_embed.shape[1] - 1}")
        return n

    def patchify(self, signal: torch.Tensor) -> torch.Tensor:
        """(B, leads, N*P) -> (B, N, leads*P): each row holds one patch, lead by lead (the reconstruction target)."""
        b, c, t = signal.shape
        n = self.num_patches(t)
        return signal.reshape(b, c, n, self.patch_size).permute(0, 2, 1, 3).reshape(b, n, c * self.patch_size)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`patchify`: (B, N, leads*P) -> (B, leads, N*P)."""
        b, n, _ = patches.shape
        x = patches.reshape(b, n, self.in_leads, self.patch_size).permute(0, 2, 1, 3)
        return x.reshape(b, self.in_leads, n * self.patch_size)

    # ---- encoder -------------------------------------------------------------------------------------------------

    def _embed(self, x: torch.Tensor, lead_mask: torch.Tensor | None) -> torch.Tensor:
        """Patch tokens with positions and lead-presence embedding, without [CLS]: (B, N, D)."""
        n = self.num_patches(x.shape[-1])
        tokens = self.patch_embed(self.lead_presence.mask_input(x, lead_mask))
        presence = self.lead_presence.embedding(x, lead_mask)
        if presence is not None:
            tokens = tokens + presence.unsqueeze(1).to(tokens.dtype)
        return tokens + self.pos_embed[:, 1 : n + 1].to(tokens.dtype)

    def _encode(self, tokens: torch.Tensor) -> torch.Tensor:
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(tokens.shape[0], -1, -1).to(tokens.dtype)
        x = torch.cat([cls, tokens], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)

    def forward_features(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Token features (B, 1+N, D) of ``x`` (B, leads, N*P), [CLS] first; missing leads are ignored."""
        return self._encode(self._embed(x, lead_mask))

    def forward_tokens(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        """All tokens (B, 1+N, D), for cross-attention fusion."""
        return self.forward_features(x, lead_mask)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Pool tokens (B, 1+N', D) ([CLS] first; also works on the visible tokens of :meth:`forward_masked`)."""
        pooled = x[:, 0] if self.global_pool == "cls" else x[:, 1:].mean(dim=1)
        pooled = self.drop(pooled)
        return pooled if pre_logits else self.head(pooled)

    def forward(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_head(self.forward_features(x, lead_mask))

    # ---- masking (MAE) ---------------------------------------------------------------------------------------------

    def forward_masked(
        self,
        signal: torch.Tensor,
        mask_ratio: float = 0.75,
        lead_mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """Encode a random subset of patches (per-sample random masking, He et al. 2022).

        Args:
            signal: (B, leads, N*P).
            mask_ratio: fraction of patches hidden from the encoder; ``int(N * mask_ratio)`` are masked.
            lead_mask: bool (B, leads) or (leads,), True where a lead is present.
            generator: optional RNG for reproducible masks (must live on ``signal``'s device).

        Returns:
            dict with ``latent`` (B, 1+N_keep, D) encoded [CLS]+visible tokens, ``mask`` (B, N) float with 1 where a
            patch was masked, ``ids_restore`` (B, N) to unshuffle, ``ids_keep`` (B, N_keep) indices of visible patches.
        """
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in [0, 1), got {mask_ratio}")
        tokens = self._embed(signal, lead_mask)
        b, n, d = tokens.shape
        n_keep = max(1, n - int(n * mask_ratio))
        noise = torch.rand(b, n, device=tokens.device, generator=generator)
        ids_shuffle = torch.argsort(noise, dim=1)
        ids_restore = torch.argsort(ids_shuffle, dim=1)
        ids_keep = ids_shuffle[:, :n_keep]
        visible = torch.gather(tokens, 1, ids_keep.unsqueeze(-1).expand(-1, -1, d))
        mask = torch.ones(b, n, device=tokens.device)
        mask[:, :n_keep] = 0
        mask = torch.gather(mask, 1, ids_restore)
        return {"latent": self._encode(visible), "mask": mask, "ids_restore": ids_restore, "ids_keep": ids_keep}

    def decode(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """Predict every patch from the encoded visible tokens.

        Args:
            latent: (B, 1+N_keep, D) from :meth:`forward_masked`.
            ids_restore: (B, N) from :meth:`forward_masked`.

        Returns:
            (B, N, leads*P) predictions in :meth:`patchify` layout (compare with per-patch-normalised targets on the
            masked patches).
        """
        x = self.decoder_embed(latent)
        b, n = ids_restore.shape
        mask_tokens = self.mask_token.to(x.dtype).expand(b, n + 1 - x.shape[1], -1)
        patches = torch.cat([x[:, 1:], mask_tokens], dim=1)
        patches = torch.gather(patches, 1, ids_restore.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        x = torch.cat([x[:, :1], patches], dim=1) + self.decoder_pos_embed[:, : n + 1].to(x.dtype)
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:]


def _create(**kwargs: Any) -> PatchTransformer1d:
    return PatchTransformer1d(**kwargs)


@register_encoder
def patch_transformer_small(**kwargs: Any) -> PatchTransformer1d:
    """6 blocks x 256 wide, 4 heads, 0.25 s patches at 100 Hz (40 tokens for 10 s)."""
    args = dict(patch_size=25, embed_dim=256, depth=6, num_heads=4, decoder_dim=128, decoder_depth=2)
    return _create(**dict(args, **kwargs))


@register_encoder
def patch_transformer_base(**kwargs: Any) -> PatchTransformer1d:
    """12 blocks x 768 wide, 12 heads (the D-BETA encoder size)."""
    args = dict(patch_size=25, embed_dim=768, depth=12, num_heads=12, conv_channels=(128, 256), decoder_dim=256)
    return _create(**dict(args, **kwargs))
