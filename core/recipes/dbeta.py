"""D-BETA / C-MELT (arXiv 2410.02131): a contrastive masked autoencoder over ECG-report pairs.

Four losses, summed (weights in ``loss_weights``):

* ``reconstruction_loss``: MAE on the ECG. ``mask_ratio`` (75 %) of the time patches are hidden, a light decoder
  predicts them from the visible ones, MSE on per-patch-normalised targets, masked patches only.
* ``mlm_loss``: masked language modelling on ``mlm_probability`` (25 %) of the report tokens, predicted from text
  states that cross-attend to the ECG tokens (the report is reconstructed *with* the ECG as context).
* ``matching_loss``: a binary head on the fused (ECG, report) pair says whether they belong together. Negatives: for
  each ECG one wrong report, for each report one wrong ECG. Report negatives come from N3S for ``n3s_fraction`` of
  the batch (a report far from the true one in frozen text-embedding space: never a false negative) and otherwise
  from the batch's similarity matrix (hard negatives, BLIP); ECG negatives are always hard in-batch negatives.
* ``sigmoid_loss``: SigLIP contrastive loss between the pooled ECG and report embeddings. With ``hard_negatives > 0``
  (an addition to the paper, in the spirit of its hard-negative mining), each training ECG also gets that many reports
  near its own in frozen text space but labelled differently (clinical twins) as extra negative pairs; they share the
  text pass of the N3S negatives.

As in FLIP (Li et al. 2023), the contrastive and matching terms reuse the encoder pass over the *visible* patches
(one ECG encoder pass per step instead of two).

Distributed note: the sigmoid loss gathers over ranks; hard negatives are drawn within each rank's batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.losses import (
    MaskedReconstructionLoss,
    MatchingLoss,
    MLMLoss,
    N3SSampler,
    SigLipLoss,
    sample_hard_negatives,
)
from core.models import MAX_LOGIT_SCALE, ECGTextModel
from core.recipes.base import (
    HardNegativeRecipe,
    RecipeConfig,
    frozen_text_embeddings,
    register_recipe,
    step_generators,
)

log = logging.getLogger(__name__)


@dataclass
class DbetaConfig(RecipeConfig):
    """D-BETA options.

    Attributes:
        model: a config with a maskable patch-transformer ECG encoder, an MLM head and a fusion module.
        model_overrides: the default fine-tunes the top 2 of the language model's layers (the paper fine-tunes the
            text encoder; only those layers are then stored, so checkpoints stay small); ``{"text": {"trainable":
            true, "trainable_layers": null}}`` fine-tunes all of it, ``{"text": {"trainable": false}}`` freezes it
            (the fusion blocks and the MLM head transform are then the only trained text-side layers).
        mask_ratio: share of ECG patches hidden from the encoder.
        mlm_probability: share of report tokens to predict.
        n3s_fraction: share of each batch whose negative report comes from N3S rather than from the batch.
        n3s_tail_fraction: N3S draws from this share of the distinct training reports, farthest first.
        hard_negatives: label-different near reports per training ECG in the sigmoid loss (0: the paper's loss).
        hard_negative_pool: each report's hard negatives are drawn from its this many nearest label-different reports.
    """

    model: str = "dbeta-patchtf"
    model_overrides: dict[str, Any] = field(
        default_factory=lambda: {"text": {"trainable": True, "trainable_layers": 2}}
    )
    mask_ratio: float = 0.75
    mlm_probability: float = 0.25
    n3s_fraction: float = 0.5
    n3s_tail_fraction: float = 0.5
    hard_negatives: int = 0
    hard_negative_pool: int = 8


@register_recipe
class DbetaRecipe(HardNegativeRecipe):
    """Masked ECG modelling + MLM + ECG-text matching (hard and N3S negatives) + sigmoid contrastive loss."""

    name = "dbeta"
    config_cls = DbetaConfig
    cfg: DbetaConfig

    def __init__(self, cfg: DbetaConfig) -> None:
        super().__init__(cfg)
        if not 0.0 <= cfg.n3s_fraction <= 1.0:
            raise ValueError(f"n3s_fraction must be in [0, 1], got {cfg.n3s_fraction}")
        self.reconstruction = MaskedReconstructionLoss()
        self.mlm = MLMLoss()
        self.matching = MatchingLoss()
        self.sigmoid = SigLipLoss()
        self.n3s: N3SSampler | None = None
        self._states: dict[str, torch.Tensor] = {}  # frozen-LM token states per distinct report

    def build_model(self, device: torch.device | str | None = None) -> ECGTextModel:
        model = super().build_model(device)
        missing = [
            what
            for what, ok in (
                ("a maskable ECG encoder (forward_masked/decode/patchify)", hasattr(model.ecg, "forward_masked")),
                ("a fusion module (model_cfg.fusion)", model.fusion is not None),
                ("an MLM head (text.mlm_head: true)", model.text.mlm is not None),
            )
            if not ok
        ]
        if missing:
            raise ValueError(f"D-BETA needs {', '.join(missing)}; model {self.cfg.model!r} lacks it")
        return model

    def prepare(self, model: ECGTextModel, texts: Sequence[str]) -> None:
        """Build the N3S index over the frozen language-model embeddings of the distinct reports (and the
        hard-negative index over the training reports)."""
        if self.cfg.hard_negatives == 0 and self.cfg.n3s_fraction == 0.0:
            return
        embedded = frozen_text_embeddings(model, texts)  # one pass of a frozen copy serves both indexes
        self.index_hard_negatives(model, texts, embedded=embedded)
        if self.cfg.n3s_fraction == 0.0:
            return
        names = list(embedded)
        try:
            self.n3s = N3SSampler(
                names, np.stack([embedded[t] for t in names]), tail_fraction=self.cfg.n3s_tail_fraction
            )
        except ValueError as err:
            log.warning("N3S disabled: %s; negatives come from the batch only", err)
            self.n3s = None

    def token_states(self, model: ECGTextModel, texts: list[str], tokens: dict[str, torch.Tensor]) -> torch.Tensor:
        """Last hidden states (N, L, width) of ``texts`` tokenized as ``tokens``.

        A frozen language model gives every report the same states every time, so they are computed once per distinct
        report and kept (unpadded) in memory; padded positions are zero (masked out by the fusion and the pooling).
        A trainable one (fully or in its top layers) runs every step.
        """
        if model.text.trainable:
            return model.text.forward_tokens(**tokens)["hidden"]
        missing = list(dict.fromkeys(t for t in texts if t not in self._states))
        if missing:
            with torch.no_grad():
                fresh = model.text.forward_tokens(missing)
            for i, text in enumerate(missing):
                length = int(fresh["attention_mask"][i].sum())
                self._states[text] = fresh["hidden"][i, :length].detach()
        lengths = tokens["attention_mask"].sum(dim=1).tolist()
        out = torch.zeros(*tokens["attention_mask"].shape, model.text.width, device=tokens["attention_mask"].device)
        for i, (text, length) in enumerate(zip(texts, lengths, strict=True)):
            out[i, : int(length)] = self._states[text].to(out.device)
        return out

    # ---- one step ------------------------------------------------------------------------------------------------

    def compute_losses(
        self, model: ECGTextModel, batch: dict[str, Any], *, step: int, rank: int = 0, seed: int = 0
    ) -> dict[str, torch.Tensor]:
        signal, lead_mask, texts = batch["signal"], batch.get("lead_mask"), list(batch["text"])
        device = signal.device
        gen, rng = step_generators(seed, rank, step, device)
        b = signal.shape[0]

        # Masked ECG modelling (one encoder pass over the visible patches).
        enc = model.ecg.forward_masked(signal, self.cfg.mask_ratio, lead_mask=lead_mask, generator=gen)
        latent = enc["latent"]  # (B, 1 + N_keep, D), [CLS] first
        recon = self.reconstruction(
            recon_pred=model.ecg.decode(latent, enc["ids_restore"]),
            recon_target=model.ecg.patchify(signal),
            recon_mask=enc["mask"],
        )

        # Negative report per ECG: N3S for a share of the batch, else a hard in-batch negative (below).
        use_n3s = rng.random(b) < self.cfg.n3s_fraction if self.n3s is not None else np.zeros(b, dtype=bool)
        far = self.n3s.sample([texts[i] for i in np.flatnonzero(use_n3s)], rng) if self.n3s is not None else []
        n3s_text: dict[int, str] = {
            int(i): t for i, t in zip(np.flatnonzero(use_n3s), far, strict=True) if t is not None
        }

        # Label-aware hard-negative reports per ECG (training only: validation losses stay the paper's).
        picks: list[list[str | None]] = []
        if self.negatives is not None and model.training:
            picks = self.negatives.sample(texts, rng, self.cfg.hard_negatives)
        hard = [p for row in picks for p in row if p is not None]

        # Token states of the true reports, the N3S and the hard negatives, padded alike (one text pass).
        extra = [n3s_text[i] for i in sorted(n3s_text)]
        tokens = model.text.tokenize(texts + extra + hard)
        attn = tokens["attention_mask"]
        hidden = self.token_states(model, texts + extra + hard, tokens)

        # Sigmoid contrastive loss on pooled embeddings.
        ecg_emb = F.normalize(model.ecg_head(latent), dim=-1)
        text_emb = F.normalize(model.text_head(model.text.pool(hidden[:b], attn[:b])), dim=-1)
        scale = model.logit_scale.clamp(max=MAX_LOGIT_SCALE).exp()
        negatives: dict[str, torch.Tensor] = {}
        if hard:
            first = b + len(extra)
            hard_emb = F.normalize(model.text_head(model.text.pool(hidden[first:], attn[first:])), dim=-1)
            mask = torch.tensor([[p is not None for p in row] for row in picks], device=device)
            feats = hard_emb.new_zeros(*mask.shape, hard_emb.shape[-1])
            feats[mask] = hard_emb  # row-major, the order ``hard`` was built in
            negatives = {"negative_features": feats, "negative_mask": mask}
        contrastive = self.sigmoid(ecg_emb, text_emb, scale, logit_bias=model.logit_bias, **negatives)

        # Masked language modelling conditioned on the ECG.
        masked_ids, labels = model.text.mask_tokens(tokens["input_ids"][:b], self.cfg.mlm_probability, generator=gen)
        masked_states = model.text.forward_tokens(input_ids=masked_ids, attention_mask=attn[:b])
        fused = model.fuse(latent, masked_states["hidden"], attn[:b])
        # Vocabulary logits only where a token is predicted: the (B, L, vocab) matrix would cost 4x more.
        predicted = labels != MLMLoss.ignore_index
        mlm = self.mlm(mlm_logits=model.mlm_logits(fused[predicted]), mlm_labels=labels[predicted])

        # ECG-text matching: B positives, one negative report per ECG, one negative ECG per report.
        with torch.no_grad():
            sim = ecg_emb @ text_emb.T
            hard_text = sample_hard_negatives(sim, texts, generator=gen)
            hard_ecg = sample_hard_negatives(sim.T, texts, generator=gen)
        extra_row = {i: b + k for k, i in enumerate(sorted(n3s_text))}
        ecg_rows, text_rows, match_labels = matching_pairs(b, extra_row, hard_text.tolist(), hard_ecg.tolist())
        ecg_idx = torch.tensor(ecg_rows, device=device)
        text_idx = torch.tensor(text_rows, device=device)
        match_logits = model.match_logits(latent[ecg_idx], hidden[text_idx], attn[text_idx])
        matching = self.matching(
            match_logits=match_logits, match_labels=torch.tensor(match_labels, device=device, dtype=torch.float32)
        )
        return {**recon, **mlm, **matching, **contrastive}


def matching_pairs(
    batch_size: int, n3s_rows: dict[int, int], hard_text: Sequence[int], hard_ecg: Sequence[int]
) -> tuple[list[int], list[int], list[int]]:
    """Rows of the ECG-text matching batch: the true pairs, then one negative report per ECG and one negative ECG per
    report.

    Args:
        batch_size: B; ECG ``i`` and report ``i`` are the true pairs.
        n3s_rows: ECG ``i`` -> row of its N3S negative report in the token states (used instead of the hard one).
        hard_text: per ECG, the in-batch report drawn as its hard negative (-1: none).
        hard_ecg: per report, the in-batch ECG drawn as its hard negative (-1: none).

    Returns:
        ``(ecg_rows, text_rows, labels)``, labels 1 for the B true pairs and 0 for the negatives.
    """
    ecg_rows, text_rows, labels = list(range(batch_size)), list(range(batch_size)), [1] * batch_size
    for i in range(batch_size):
        j = n3s_rows.get(i, int(hard_text[i]))
        if j >= 0:
            ecg_rows.append(i)
            text_rows.append(j)
            labels.append(0)
        k = int(hard_ecg[i])
        if k >= 0:
            ecg_rows.append(k)
            text_rows.append(i)
            labels.append(0)
    return ecg_rows, text_rows, labels
