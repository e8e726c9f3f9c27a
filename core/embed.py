"""Numpy-in, numpy-out embedding with a loaded checkpoint (inference only); it keeps no caches (the query service,
:mod:`core.explorer.service`, owns those).

Preprocessing comes from the checkpoint (``model.preprocess_cfg``), so ECGs are embedded exactly as in training.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.checkpoint import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    checkpoint_dir,
    load_checkpoint,
    read_checkpoint_config,
    read_logit_params,
)
from core.checkpoint import checkpoint_hash as content_hash
from core.data.preprocess import PreprocessConfig, preprocess
from core.ecg import ECG
from core.paths import data_dir

logger = logging.getLogger(__name__)


def checkpoint_hash(path: str | Path) -> str:
    """:func:`core.checkpoint.checkpoint_hash`, memoised (what the caches key on).

    The digest is remembered per (path, size, mtime) in ``core.paths.data_dir() / "checkpoint-hashes.json"`` (never in
    the checkpoint folder, which may be read-only or under version control), so a warm start does not re-read
    hundreds of MB of weights.
    """
    root = checkpoint_dir(path)  # FileNotFoundError naming what is missing
    files = [root / name for name in (CONFIG_NAME, WEIGHTS_NAME)]
    stamp = [[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    memo_path = data_dir() / "checkpoint-hashes.json"
    key = str(root.resolve())
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    if isinstance(memo.get(key), dict) and memo[key].get("stamp") == stamp:
        return str(memo[key]["sha256"])
    value = content_hash(root)  # the one definition of a checkpoint's digest
    memo[key] = {"stamp": stamp, "sha256": value}
    try:
        memo_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(memo))
        os.replace(tmp, memo_path)
    except OSError:  # a read-only data directory: just recompute next time
        logger.debug("cannot write %s", memo_path)
    return value


_MODEL_LOAD_LOCK = threading.Lock()


class Embedder:
    """Wraps an ``ECGTextModel`` for numpy inference; returns unit-norm float32 embeddings.

    The model can be given, or loaded lazily from a checkpoint folder on first use (:meth:`from_checkpoint` with
    ``lazy=True``): the preprocessing config, the checkpoint hash and the logit scale are read from the files without
    importing torch, so a cached index can be served while the model (torch + the language model, seconds to import)
    loads in the background.

    Args:
        model: a model from :func:`core.checkpoint.load_checkpoint` (or ``create_model``); None with ``path``.
        name: display name (e.g. ``"METS"``).
        checkpoint_hash: identifies the weights (cache keys).
        batch_size: ECGs per forward pass when embedding many.
        path: checkpoint folder to load from when ``model`` is None.
        device: torch device for the lazy load.
    """

    def __init__(
        self,
        model=None,
        *,
        name: str = "model",
        checkpoint_hash: str = "",
        batch_size: int = 32,
        path: str | Path | None = None,
        device: str | None = None,
    ):
        if model is None and path is None:
            raise ValueError("give a model or a checkpoint path")
        self._model = None
        self._path = Path(path) if path is not None else None
        self._device = device
        self.name = name
        self.checkpoint_hash = checkpoint_hash
        self.batch_size = batch_size
        # The checkpoint's config.json (model, recipe): tells how its scores become probabilities.
        self.config: dict = {}
        if self._path is not None:
            self.config = read_checkpoint_config(self._path)
        if model is not None:
            self._set_model(model)
            self.config.setdefault("model_cfg", getattr(model, "model_cfg", {}))
        else:
            self.preprocess_cfg = PreprocessConfig.from_dict(self.config["preprocess_cfg"])

    def _set_model(self, model) -> None:
        import torch  # local: 3 s to import; a lazy embedder serves a cached index before the model loads

        self._torch = torch
        self._model = model.eval()
        self._raw_logit_scale = float(model.logit_scale.detach())
        self.preprocess_cfg = model.preprocess_cfg
        self.device = next(model.parameters()).device

    @property
    def loaded(self) -> bool:
        return self._model is not None

    @property
    def model(self):
        """The model (loaded on first access when lazy; thread-safe)."""
        if self._model is None:
            # One load at a time across all embedders: transformers' lazy module imports are not thread-safe
            # (two checkpoints loading at once can see a half-initialised `transformers`).
            with _MODEL_LOAD_LOCK:
                if self._model is None:
                    logger.info("loading checkpoint %s", self._path)
                    self._set_model(load_checkpoint(self._path, device=self._device))
        return self._model

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, *, name: str | None = None, device: str | None = None, lazy: bool = False
    ) -> Embedder:
        """A checkpoint folder through the project's one loader (now, or on first use with ``lazy=True``)."""
        digest = checkpoint_hash(path)
        if lazy:
            return cls(name=name or Path(path).name, checkpoint_hash=digest, path=path, device=device)
        return cls(
            load_checkpoint(path, device=device), name=name or Path(path).name, checkpoint_hash=digest, path=path
        )

    def prepare(self, ecg: ECG) -> tuple[np.ndarray, np.ndarray]:
        """The model input for one ECG: ((12, T) float32, (12,) bool lead mask)."""
        return preprocess(ecg, self.preprocess_cfg), np.asarray(ecg.lead_mask, dtype=bool)

    def encode_signals(self, signals: np.ndarray, lead_masks: np.ndarray) -> np.ndarray:
        """(B, 12, T) preprocessed signals and (B, 12) masks -> (B, D) unit embeddings."""
        model = self.model
        torch = self._torch
        out = []
        with torch.inference_mode():
            for i in range(0, len(signals), self.batch_size):
                x = torch.as_tensor(np.ascontiguousarray(signals[i : i + self.batch_size]), device=self.device)
                m = torch.as_tensor(np.asarray(lead_masks[i : i + self.batch_size], bool), device=self.device)
                out.append(model.encode_ecg(x.float(), lead_mask=m, normalize=True).float().cpu().numpy())
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)

    def encode_ecgs(self, ecgs: Sequence[ECG]) -> np.ndarray:
        """Preprocess and embed ECGs -> (N, D)."""
        prepared = [self.prepare(e) for e in ecgs]
        return self.encode_signals(np.stack([p[0] for p in prepared]), np.stack([p[1] for p in prepared]))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts -> (N, D) unit embeddings; a text repeated within the call is encoded once."""
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, 0), np.float32)
        unique = list(dict.fromkeys(texts))
        model = self.model
        chunks = []
        with self._torch.inference_mode():
            for i in range(0, len(unique), 256):
                chunk = unique[i : i + 256]
                chunks.append(model.encode_text(chunk, normalize=True).float().cpu().numpy().astype(np.float32))
        emb = np.concatenate(chunks)
        row = {t: i for i, t in enumerate(unique)}
        return emb[[row[t] for t in texts]]

    @property
    def logit_scale(self) -> float:
        """The model's temperature as a multiplier (exp of the stored log-scale, clamped at 100)."""
        raw = getattr(self, "_raw_logit_scale", None)
        if raw is None:  # not loaded yet: read the stored scalar from the weights file
            raw = self._raw_logit_scale = read_logit_params(self._path).logit_scale
        return float(min(100.0, np.exp(raw)))

    @property
    def logit_bias(self) -> float | None:
        """The model's logit bias (sigmoid-loss models, SigLIP), or None when it has none."""
        if not hasattr(self, "_logit_bias"):
            if self._model is not None:
                bias = getattr(self._model, "logit_bias", None)
                self._logit_bias = None if bias is None else float(bias.detach())
            else:  # not loaded yet: read the stored scalar from the weights file, if it is there
                self._logit_bias = read_logit_params(self._path).logit_bias
        return self._logit_bias
