"""Small building blocks shared by the ECG encoders, the fusion module and the heads."""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

_ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


def get_act_layer(name: str) -> type[nn.Module]:
    """Activation class by name (``"relu"``, ``"gelu"``, ``"silu"``, ``"tanh"``)."""
    try:
        return _ACTIVATIONS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(_ACTIVATIONS)}") from None


class LeadPresence(nn.Module):
    """Partial-lead input handling: zero the missing leads and embed which leads are missing.

    Missing leads are zeroed before the encoder sees them, so their values can never change the output. A learned
    linear map from the *missing*-lead indicator (B, leads) to a channel bias (B, dim) tells the network which leads
    are absent (zero-initialised, so a fresh model with all leads present is unchanged by it).
    """

    def __init__(self, num_leads: int, dim: int) -> None:
        super().__init__()
        self.num_leads = num_leads
        self.proj = nn.Linear(num_leads, dim, bias=False)
        nn.init.zeros_(self.proj.weight)

    def mask_input(self, x: torch.Tensor, lead_mask: torch.Tensor | None) -> torch.Tensor:
        """``x`` (B, leads, T) with the rows of missing leads set to zero."""
        if lead_mask is None:
            return x
        return x * _as_lead_mask(lead_mask, x).unsqueeze(-1).to(x.dtype)

    def embedding(self, x: torch.Tensor, lead_mask: torch.Tensor | None) -> torch.Tensor | None:
        """Presence embedding (B, dim), or ``None`` when every lead is present."""
        if lead_mask is None:
            return None
        missing = (~_as_lead_mask(lead_mask, x)).to(self.proj.weight.dtype)
        return self.proj(missing)


def _as_lead_mask(lead_mask: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Validate and broadcast a lead mask to (B, leads) bool on ``x``'s device."""
    mask = lead_mask.to(device=x.device, dtype=torch.bool)
    if mask.dim() == 1:
        mask = mask.unsqueeze(0).expand(x.shape[0], -1)
    if mask.shape != x.shape[:2]:
        raise ValueError(f"lead_mask has shape {tuple(lead_mask.shape)}; expected ({x.shape[0]}, {x.shape[1]})")
    return mask


class Mlp(nn.Module):
    """Transformer feed-forward block."""

    def __init__(self, dim: int, hidden: int, act_layer: type[nn.Module] = nn.GELU, drop: float = 0.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = act_layer()
        self.fc2 = nn.Linear(hidden, dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Attention(nn.Module):
    """Multi-head (self- or cross-) attention over ``F.scaled_dot_product_attention``."""

    def __init__(self, dim: int, num_heads: int, *, context_dim: int | None = None, drop: float = 0.0) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(context_dim or dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.drop = drop

    def forward(
        self, x: torch.Tensor, context: torch.Tensor | None = None, key_padding_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Attend from ``x`` (B, N, dim) to ``context`` (B, M, context_dim; default ``x``).

        Args:
            x: queries (B, N, dim).
            context: keys/values (B, M, context_dim); ``None`` for self-attention.
            key_padding_mask: bool (B, M), True where a key is a real token (False = padding, ignored).
        """
        context = x if context is None else context
        b, n, d = x.shape
        h = self.num_heads
        q = self.q(x).view(b, n, h, d // h).transpose(1, 2)
        k, v = self.kv(context).view(b, context.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        attn_mask = None if key_padding_mask is None else key_padding_mask[:, None, None, :].to(torch.bool)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.drop if self.training else 0.0
        )
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """Pre-norm transformer block, with optional cross-attention to a context sequence (BLIP-style fusion)."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        mlp_ratio: float = 4.0,
        *,
        context_dim: int | None = None,
        cross_attention: bool = False,
        drop: float = 0.0,
        act_layer: type[nn.Module] = nn.GELU,
    ) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, num_heads, drop=drop)
        self.cross = Attention(dim, num_heads, context_dim=context_dim, drop=drop) if cross_attention else None
        self.norm_cross = nn.LayerNorm(dim) if cross_attention else None
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act_layer=act_layer, drop=drop)

    def forward(
        self,
        x: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        context: torch.Tensor | None = None,
    ) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), key_padding_mask=key_padding_mask)
        if self.cross is not None:
            if context is None:
                raise ValueError("this block cross-attends and needs a context")
            x = x + self.cross(self.norm_cross(x), context=context)
        return x + self.mlp(self.norm2(x))


def sincos_pos_embed(num_positions: int, dim: int) -> torch.Tensor:
    """Fixed 1-D sine-cosine position embedding (num_positions, dim) (Vaswani et al. 2017)."""
    if dim % 2:
        raise ValueError(f"position embedding dim must be even, got {dim}")
    pos = torch.arange(num_positions, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    emb = torch.zeros(num_positions, dim)
    emb[:, 0::2] = torch.sin(pos * freq)
    emb[:, 1::2] = torch.cos(pos * freq)
    return emb


class ProjectionHead(nn.Module):
    """Maps encoder features into the shared embedding space.

    ``kind="linear"`` is the single linear map of CLIP/METS; ``kind="mlp"`` adds one hidden layer (as in MERL).
    """

    def __init__(self, in_dim: int, out_dim: int, kind: str = "linear", hidden_dim: int | None = None) -> None:
        super().__init__()
        if kind == "linear":
            self.net = nn.Linear(in_dim, out_dim, bias=False)
        elif kind == "mlp":
            hidden = hidden_dim or in_dim
            self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, out_dim))
        else:
            raise ValueError(f"unknown projection kind {kind!r}; use 'linear' or 'mlp'")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)
