"""Label-aware hard-negative reports: textually near, diagnostically different.

A frozen language model embeds clinical twins ("left bundle branch block" / "right bundle branch block", ST elevation
/ depression) almost identically, and such twins rarely meet in one random batch, so an in-batch contrastive loss
seldom asks the projection to tell them apart. This sampler finds, for every training report, the reports nearest to
it in frozen text-embedding space (a FAISS inner-product index) whose *labels* differ (same dataset, so the label
vocabularies compare): they are added to the loss as extra negatives for that ECG (:func:`hard_negative_logits`).
Requiring different labels keeps paraphrases of the same finding ("sinus rhythm" / "sinus rhythm.") out, which text
similarity alone cannot (twins are often closer than paraphrases).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import torch


class HardNegativeSampler:
    """Nearest label-different reports per report.

    Args:
        texts: distinct training reports.
        embeddings: (len(texts), E) frozen embeddings of ``texts`` (L2-normalised here).
        labels: per text, its label set; texts with an empty label set are neither anchors nor negatives.
        groups: per text, the group whose labels compare (the dataset); negatives come from the anchor's group.
        pool: how many nearest label-different reports each report keeps to draw from.

    Raises:
        ValueError: mismatched lengths.
    """

    def __init__(
        self,
        texts: Sequence[str],
        embeddings: np.ndarray,
        labels: Sequence[frozenset[str]],
        groups: Sequence[Hashable],
        pool: int = 8,
    ) -> None:
        import faiss

        if not len(texts) == len(embeddings) == len(labels) == len(groups):
            raise ValueError("texts, embeddings, labels and groups must have the same length")
        vecs = np.ascontiguousarray(embeddings, dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True).clip(min=1e-12)
        self.texts = list(texts)
        self.neighbours: dict[str, list[str]] = {}
        usable = [i for i, lab in enumerate(labels) if lab]
        if len(usable) < 2:
            return
        index = faiss.IndexFlatIP(vecs.shape[1])
        index.add(vecs[usable])
        # Search wide: most near neighbours share the labels (paraphrases) or sit in another dataset.
        _, found = index.search(vecs[usable], min(len(usable), max(64, 16 * pool)))
        for row, i in enumerate(usable):
            near = [
                self.texts[usable[j]]
                for j in found[row]
                if j >= 0 and usable[j] != i and groups[usable[j]] == groups[i] and labels[usable[j]] != labels[i]
            ]
            if near:
                self.neighbours[self.texts[i]] = near[:pool]

    def sample(self, texts: Sequence[str], rng: np.random.Generator, k: int = 1) -> list[list[str | None]]:
        """``k`` negatives per text, drawn without replacement from its pool (``None`` where the pool runs out or the
        text has none)."""
        out: list[list[str | None]] = []
        for text in texts:
            near = self.neighbours.get(text, [])
            picks = [near[j] for j in rng.permutation(len(near))[:k]] if near else []
            out.append(picks + [None] * (k - len(picks)))
        return out


def hard_negative_logits(
    ecg_features: torch.Tensor, negative_features: torch.Tensor, negative_mask: torch.Tensor, logit_scale: torch.Tensor
) -> torch.Tensor:
    """(B, K) logits of each ECG against its own K negative reports; absent negatives get ``-inf`` (no weight in a
    softmax).

    Args:
        ecg_features: (B, D) L2-normalised ECG embeddings.
        negative_features: (B, K, D) L2-normalised embeddings of each ECG's negative reports.
        negative_mask: (B, K) ``True`` where a negative exists.
        logit_scale: scalar multiplier (already exponentiated).
    """
    logits = logit_scale * torch.einsum("bd,bkd->bk", ecg_features, negative_features)
    return logits.masked_fill(~negative_mask, float("-inf"))


def negative_mask_or_all(negative_features: torch.Tensor, negative_mask: torch.Tensor | None) -> torch.Tensor:
    """``negative_mask``, or when it is ``None`` a (B, K) all-``True`` mask: every negative of
    ``negative_features`` (B, K, D) exists."""
    if negative_mask is not None:
        return negative_mask
    return torch.ones(negative_features.shape[:2], dtype=torch.bool, device=negative_features.device)
