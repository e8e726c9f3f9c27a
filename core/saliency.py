"""Occlusion saliency: which leads and time segments raise or lower an ECG's similarity to a text prompt.

For every (lead, segment) cell the cell is replaced by zeros (the mean of a z-scored lead) and the ECG is
re-embedded; the cell's relevance is ``score(original) - score(occluded)`` (Zeiler & Fergus 2014,
arXiv:1311.2901). Positive: the segment supports the prompt; negative: it argues against it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

# (B, 12, T) float32 signals and (B, 12) bool lead masks -> (B, D) embeddings.
ECGEncoder = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Saliency:
    """Occlusion relevance of one ECG for one text target.

    Attributes:
        values: (12, S) ``base_score - occluded_score`` per lead and time segment (0 for missing leads).
        edges_s: (S + 1,) segment edges in seconds of the model input.
        base_score: cosine similarity of the unoccluded ECG to the target.
    """

    values: np.ndarray
    edges_s: np.ndarray
    base_score: float

    def top_cells(self, n: int = 5) -> list[tuple[int, float, float, float]]:
        """The ``n`` cells with the largest absolute relevance: ``(lead index, t0 s, t1 s, value)``."""
        flat = np.argsort(-np.abs(self.values), axis=None)[:n]
        out = []
        for f in flat:
            lead, seg = np.unravel_index(f, self.values.shape)
            t0, t1 = float(self.edges_s[seg]), float(self.edges_s[seg + 1])
            out.append((int(lead), t0, t1, float(self.values[lead, seg])))
        return out


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def occlusion_saliency(
    encode_ecg: ECGEncoder,
    signal: np.ndarray,
    lead_mask: np.ndarray,
    target: np.ndarray,
    *,
    fs_hz: float,
    segment_s: float = 1.0,
    batch_size: int = 32,
) -> Saliency:
    """Occlusion map of a preprocessed ECG against a target embedding.

    Args:
        encode_ecg: the model's ECG encoder over numpy batches.
        signal: (12, T) preprocessed model input.
        lead_mask: (12,) recorded leads; missing leads are not occluded (their relevance is 0).
        target: (D,) text (or class) embedding.
        fs_hz: sampling rate of ``signal``.
        segment_s: segment length in seconds.
        batch_size: occluded copies per encoder call.

    Returns:
        A :class:`Saliency` with ``values`` of shape (12, ceil(T / (segment_s * fs_hz))).
    """
    signal = np.asarray(signal, dtype=np.float32)
    mask = np.asarray(lead_mask, dtype=bool)
    n_leads, n_samples = signal.shape
    seg = max(1, int(round(segment_s * fs_hz)))
    starts = np.arange(0, n_samples, seg)
    edges = np.append(starts, n_samples) / fs_hz
    target = _unit(target).reshape(-1)

    cells = [(lead, s) for lead in np.flatnonzero(mask) for s in range(len(starts))]
    base = float(_unit(encode_ecg(signal[None], mask[None]))[0] @ target)
    values = np.zeros((n_leads, len(starts)), dtype=np.float32)
    for b0 in range(0, len(cells), batch_size):
        chunk = cells[b0 : b0 + batch_size]
        batch = np.repeat(signal[None], len(chunk), axis=0)
        for j, (lead, s) in enumerate(chunk):
            batch[j, lead, starts[s] : starts[s] + seg] = 0.0
        occluded = _unit(encode_ecg(batch, np.repeat(mask[None], len(chunk), axis=0))) @ target
        for (lead, s), score in zip(chunk, occluded, strict=False):
            values[lead, s] = base - float(score)
    return Saliency(values=values, edges_s=edges.astype(np.float32), base_score=base)
