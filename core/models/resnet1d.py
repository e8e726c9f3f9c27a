"""1-D ResNets over 12-lead ECGs.

``resnet1d_18`` is the ResNet18-1D baseline as used by MERL (Liu et al. 2024, arXiv 2403.06659): 12 -> 64 -> 128 ->
256 -> 512 channels, two basic blocks per stage. ``resnet1d_fast`` is a narrow, shallow variant with an aggressive stem,
meant for the interactive demo.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn as nn

from core.models.layers import LeadPresence, get_act_layer
from core.models.registry import register_encoder


class BasicBlock1d(nn.Module):
    """Two 3-tap convolutions with batch norm and an identity (or 1x1 strided) shortcut."""

    def __init__(
        self, in_ch: int, out_ch: int, stride: int = 1, kernel_size: int = 3, act_layer: type[nn.Module] = nn.ReLU
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(in_ch, out_ch, kernel_size, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(out_ch)
        self.act = act_layer()
        self.conv2 = nn.Conv1d(out_ch, out_ch, kernel_size, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(out_ch)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = nn.Sequential(
                nn.Conv1d(in_ch, out_ch, 1, stride=stride, bias=False), nn.BatchNorm1d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        x = self.act(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        return self.act(x + shortcut)


class ResNet1d(nn.Module):
    """ResNet over (batch, leads, samples).

    Args:
        in_leads: number of input leads (rows).
        widths: output channels of each stage.
        layers: basic blocks per stage.
        stem_width: channels of the stem convolution.
        stem_kernel: kernel of the stem convolution.
        stem_stride: stride of the stem convolution.
        stem_pool: whether a stride-2 max-pool follows the stem (as in the 2-D ResNet).
        block_kernel: kernel of the block convolutions.
        act_layer: activation name.
        num_classes: size of the linear head; 0 leaves ``forward_head`` returning pooled features.
        drop_rate: dropout before the head.
    """

    def __init__(
        self,
        *,
        in_leads: int = 12,
        widths: Sequence[int] = (64, 128, 256, 512),
        layers: Sequence[int] = (2, 2, 2, 2),
        stem_width: int | None = None,
        stem_kernel: int = 7,
        stem_stride: int = 2,
        stem_pool: bool = True,
        block_kernel: int = 3,
        act_layer: str = "relu",
        num_classes: int = 0,
        drop_rate: float = 0.0,
    ) -> None:
        super().__init__()
        if len(widths) != len(layers):
            raise ValueError(f"widths {list(widths)} and layers {list(layers)} must have the same length")
        act = get_act_layer(act_layer)
        stem_width = stem_width or widths[0]
        self.in_leads = in_leads
        self.stem = nn.Sequential(
            nn.Conv1d(in_leads, stem_width, stem_kernel, stride=stem_stride, padding=stem_kernel // 2, bias=False),
            nn.BatchNorm1d(stem_width),
            act(),
        )
        self.lead_presence = LeadPresence(in_leads, stem_width)
        self.pool = nn.MaxPool1d(3, stride=2, padding=1) if stem_pool else nn.Identity()
        stages: list[nn.Module] = []
        in_ch = stem_width
        for i, (width, depth) in enumerate(zip(widths, layers, strict=True)):
            stride = 1 if i == 0 else 2
            blocks = [BasicBlock1d(in_ch, width, stride, block_kernel, act)]
            blocks += [BasicBlock1d(width, width, 1, block_kernel, act) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            in_ch = width
        self.stages = nn.Sequential(*stages)
        self.num_features = in_ch
        self.drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(in_ch, num_classes) if num_classes > 0 else nn.Identity()
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Zero the last BN of each residual branch so every block starts as the identity (Goyal et al. 2017).
        for m in self.modules():
            if isinstance(m, BasicBlock1d):
                nn.init.zeros_(m.bn2.weight)

    def forward_features(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Feature map (B, num_features, L) of ``x`` (B, leads, samples); leads with ``lead_mask`` False are ignored."""
        presence = self.lead_presence.embedding(x, lead_mask)
        x = self.stem(self.lead_presence.mask_input(x, lead_mask))
        if presence is not None:
            x = x + presence.unsqueeze(-1).to(x.dtype)
        return self.stages(self.pool(x))

    def forward_tokens(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Token sequence (B, L, num_features): the feature map's time steps, for cross-attention fusion."""
        return self.forward_features(x, lead_mask).transpose(1, 2)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global-average-pool a feature map (B, C, L) (or tokens (B, L, C) from ``forward_tokens``).

        Returns:
            (B, num_features) when ``pre_logits`` or when there is no head, else (B, num_classes).
        """
        pooled = self.drop(x.mean(dim=-1))
        return pooled if pre_logits else self.head(pooled)

    def forward(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_head(self.forward_features(x, lead_mask))


def _create(**kwargs: Any) -> ResNet1d:
    return ResNet1d(**kwargs)


@register_encoder
def resnet1d_18(**kwargs: Any) -> ResNet1d:
    """MERL-style ResNet18-1D: 12 -> 64 -> 128 -> 256 -> 512 channels, 2 basic blocks per stage (speed reference)."""
    args = dict(widths=(64, 128, 256, 512), layers=(2, 2, 2, 2))
    return _create(**dict(args, **kwargs))


@register_encoder
def resnet1d_34(**kwargs: Any) -> ResNet1d:
    """ResNet34-1D: 3-4-6-3 basic blocks."""
    args = dict(widths=(64, 128, 256, 512), layers=(3, 4, 6, 3))
    return _create(**dict(args, **kwargs))


@register_encoder
def resnet1d_fast(**kwargs: Any) -> ResNet1d:
    """Demo encoder: 32 -> 64 -> 128 -> 256 channels, one block per stage, stride-4 stem (about 8x fewer FLOPs)."""
    args = dict(widths=(32, 64, 128, 256), layers=(1, 1, 1, 1), stem_stride=4, stem_kernel=9)
    return _create(**dict(args, **kwargs))
