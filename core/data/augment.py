"""Random ECG augmentation of training batches (built from ``ecg_augmentations`` transforms).

Only label-preserving perturbations are used: a mild global amplitude scale, baseline wander, Gaussian noise, a small
time shift and random lead dropout. Transforms that change what a report says are left out on purpose: time
stretching changes the heart rate (brady- vs tachycardia), inversion changes the axis, per-lead scaling changes
voltage criteria (LVH, low voltage).

The batch is augmented in the training loop with a generator seeded from (run seed, rank, step), so a resumed run
draws exactly the perturbations an uninterrupted one would, whatever the DataLoader workers do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from ecg_augmentations import AmplitudeScale, BaselineWander, Compose, GaussianNoise, LeadMask, RandomApply, TimeShift

AUGMENT_STREAM = 0xA06  # keeps the augmentation draws apart from the recipes' per-step masks and negatives


@dataclass
class AugmentConfig:
    """Augmentation strengths; each transform is applied to a sample with its probability ``p_*``.

    Attributes:
        scale: range of the global amplitude factor (log-uniform).
        wander_amplitude: baseline-wander amplitude range, relative to each lead's standard deviation.
        noise_snr_db: Gaussian-noise signal-to-noise range (dB).
        shift_s: time-shift range in seconds (circular: a 10-s strip of a stationary rhythm stays plausible).
        dropout_leads: how many leads lead dropout zeroes (range).
    """

    scale: tuple[float, float] = (0.8, 1.25)
    p_scale: float = 0.5
    wander_amplitude: tuple[float, float] = (0.05, 0.3)
    p_wander: float = 0.5
    noise_snr_db: tuple[float, float] = (20.0, 40.0)
    p_noise: float = 0.5
    shift_s: tuple[float, float] = (-1.0, 1.0)
    p_shift: float = 0.5
    dropout_leads: tuple[int, int] = (1, 3)
    p_dropout: float = 0.25

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> AugmentConfig:
        """Build from a dict (lists become tuples), rejecting unknown keys."""
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown augmentation option(s) {unknown}; known: {sorted(known)}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


class ECGAugment:
    """Augments a ``(B, 12, T)`` batch and its ``(B, 12)`` lead mask.

    Args:
        fs_hz: sampling rate of the (preprocessed) signals.
        cfg: strengths; default :class:`AugmentConfig`.
    """

    def __init__(self, fs_hz: float, cfg: AugmentConfig | None = None) -> None:
        self.cfg = cfg = cfg or AugmentConfig()
        self.signal = Compose(
            [
                RandomApply([AmplitudeScale(cfg.scale)], p=cfg.p_scale),
                RandomApply([BaselineWander(fs_hz, amplitude=cfg.wander_amplitude)], p=cfg.p_wander),
                RandomApply([GaussianNoise(cfg.noise_snr_db)], p=cfg.p_noise),
                RandomApply([TimeShift(fs_hz, shift=cfg.shift_s, circular=True)], p=cfg.p_shift),
            ]
        )
        self.dropout = LeadMask(n_leads=cfg.dropout_leads, return_mask=True, p=cfg.p_dropout)

    def __call__(
        self, signal: torch.Tensor, lead_mask: torch.Tensor | None, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Augmented ``(signal, lead_mask)``; dropped leads are zero and marked absent in the lead mask."""
        with torch.no_grad():
            x = self.signal(signal.float(), generator=generator)
            if lead_mask is not None:
                x = x * lead_mask[..., None].to(x.dtype)  # noise and wander must not invent an absent lead
            x, masked = self.dropout(x, generator=generator)
        if lead_mask is not None:
            kept = lead_mask & ~masked.all(dim=-1)
            # Dropout may hit every lead a reduced-lead record has: such an ECG keeps its present leads.
            empty = ~kept.any(dim=1)
            x[empty] = (signal[empty] * lead_mask[empty][..., None]).to(x.dtype)
            kept[empty] = lead_mask[empty]
            lead_mask = kept
        return x.to(signal.dtype), lead_mask


def augment_generator(seed: int, rank: int, step: int, device: torch.device | str = "cpu") -> torch.Generator:
    """The generator of one (run, rank, step)'s augmentation draws (independent of the recipe's step generators)."""
    mixed = int(np.random.SeedSequence([seed, rank, step, AUGMENT_STREAM]).generate_state(1, dtype=np.uint64)[0] >> 1)
    gen = torch.Generator(device=device)
    gen.manual_seed(mixed)
    return gen
