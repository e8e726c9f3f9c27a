"""N3S negative sampling (D-BETA / C-MELT, arXiv 2410.02131): negatives drawn from the far tail of report-embedding
space.

In-batch hard negatives can be false negatives (another patient with the same "sinus rhythm, normal ECG" report).
N3S instead draws, for part of each batch, a report that is *far* from the true one in a frozen text-embedding space,
so the negative is guaranteed to say something different. A FAISS inner-product index over the L2-normalised
embeddings of the unique training reports answers "farthest reports" by searching with the negated query.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)


def normalize_text(text: str) -> str:
    """Whitespace- and case-folded text: reports equal under this are the same report."""
    return " ".join(text.lower().split())


class N3SSampler:
    """Draws far-tail negative reports.

    Args:
        texts: training reports (duplicates allowed; they are collapsed).
        embeddings: (len(texts), E) frozen embeddings of ``texts`` (normalised here).
        tail_fraction: share of the unique reports, farthest first, that a negative is drawn from.
        min_candidates: smallest tail size, whatever ``tail_fraction`` gives.

    Raises:
        ValueError: fewer than two distinct reports, or mismatched shapes.
    """

    def __init__(
        self,
        texts: Sequence[str],
        embeddings: np.ndarray,
        *,
        tail_fraction: float = 0.5,
        min_candidates: int = 1,
    ) -> None:
        import faiss

        if len(texts) != len(embeddings):
            raise ValueError(f"{len(texts)} texts but {len(embeddings)} embeddings")
        if not 0.0 < tail_fraction <= 1.0:
            raise ValueError(f"tail_fraction must be in (0, 1], got {tail_fraction}")
        keys: dict[str, int] = {}
        rows: list[int] = []
        for i, text in enumerate(texts):
            key = normalize_text(text)
            if key not in keys:
                keys[key] = len(rows)
                rows.append(i)
        if len(rows) < 2:
            raise ValueError("N3S needs at least two distinct reports")
        self.texts = [texts[i] for i in rows]
        self._key_to_row = keys
        emb = np.ascontiguousarray(np.asarray(embeddings, dtype=np.float32)[rows])
        emb /= np.linalg.norm(emb, axis=1, keepdims=True).clip(min=1e-12)
        self.embeddings = emb
        self.index = faiss.IndexFlatIP(emb.shape[1])
        self.index.add(emb)
        n = len(rows)
        # +1: the query's own row (nearest, so never in the far tail unless the tail is everything) is dropped below.
        self.k = min(n, max(min_candidates, math.ceil(tail_fraction * n)) + 1)
        _, far = self.index.search(-emb, self.k)
        self._candidates = [self._clean(row, far_row) for row, far_row in enumerate(far)]
        log.info("N3S index: %d distinct reports, drawing from the %d farthest", n, self.k - 1)

    def __len__(self) -> int:
        return len(self.texts)

    def _clean(self, row: int, far_row: np.ndarray) -> np.ndarray:
        """Candidates of one report: the far tail minus itself and anything (near-)identical to it."""
        cand = far_row[(far_row >= 0) & (far_row != row)]
        sims = self.embeddings[cand] @ self.embeddings[row]
        cand = cand[sims < 1.0 - 1e-6]
        return cand[: max(self.k - 1, 1)]

    def candidates(self, text: str) -> list[str]:
        """The far-tail reports a negative for ``text`` is drawn from (empty for an unknown text)."""
        row = self._key_to_row.get(normalize_text(text))
        return [] if row is None else [self.texts[i] for i in self._candidates[row]]

    def sample(self, texts: Sequence[str], rng: np.random.Generator) -> list[str | None]:
        """One far negative per text, uniformly from its far tail.

        Args:
            texts: the true reports (each must be one of the training reports).
            rng: the random generator.

        Returns:
            One report per input; ``None`` where the text is unknown or has no far candidate.
        """
        out: list[str | None] = []
        for text in texts:
            row = self._key_to_row.get(normalize_text(text))
            cand = None if row is None else self._candidates[row]
            out.append(None if cand is None or len(cand) == 0 else self.texts[int(cand[rng.integers(len(cand))])])
        return out
