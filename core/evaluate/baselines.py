"""Baselines the linear probe is compared with: the same architecture untrained, and a small supervised CNN."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

from core.models.registry import create_encoder
from core.paths import data_dir

log = logging.getLogger(__name__)


def random_init_features(model_cfg: dict, preprocess_cfg, signals: np.ndarray, masks: np.ndarray, seed: int = 0):
    """Embeddings from the checkpoint's architecture with freshly initialised weights (baseline (a)).

    Only the ECG tower is built: the text side does not enter the probe.
    """
    torch.manual_seed(seed)
    encoder = create_encoder(model_cfg["ecg"]["name"], **model_cfg["ecg"].get("args", {})).eval()
    return _encoder_features(encoder, signals, masks)


@torch.inference_mode()
def _encoder_features(encoder: nn.Module, signals: np.ndarray, masks: np.ndarray, batch: int = 64) -> np.ndarray:
    out = []
    for i in range(0, len(signals), batch):
        x = torch.from_numpy(np.ascontiguousarray(signals[i : i + batch], dtype=np.float32))
        m = torch.from_numpy(np.asarray(masks[i : i + batch], dtype=bool))
        out.append(encoder.forward_head(encoder.forward_features(x, m), pre_logits=True).numpy())
    return np.concatenate(out)


def cached_supervised_cnn_scores(
    train_x: np.ndarray,
    train_mask: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_mask: np.ndarray,
    *,
    epochs: int = 30,
    cache_dir: Path | None = None,
) -> np.ndarray:
    """:func:`supervised_cnn_scores`, memoised on disk by the content of its inputs.

    The baseline depends only on the data, the labels and the preprocessing, not on the checkpoint being evaluated,
    so checkpoints that share a preprocessing (evaluated in one run or in several) train it once.
    """
    digest = hashlib.sha256(f"cnn-baseline-v1|{epochs}".encode())
    for array in (train_x, train_mask, train_y, test_x, test_mask):
        arr = np.ascontiguousarray(array)
        digest.update(f"{arr.dtype}{arr.shape}".encode())
        digest.update(arr.tobytes())
    path = Path(cache_dir or data_dir() / "cache" / "cnn-baseline") / f"{digest.hexdigest()[:24]}.npy"
    if path.is_file():
        log.info("supervised CNN baseline from cache (%s)", path.name)
        return np.load(path)
    logits = supervised_cnn_scores(train_x, train_mask, train_y, test_x, test_mask, epochs=epochs)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npy")
    np.save(tmp, logits)
    os.replace(tmp, path)
    return logits


def supervised_cnn_scores(
    train_x: np.ndarray,
    train_mask: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_mask: np.ndarray,
    *,
    encoder: str = "resnet1d_fast",
    epochs: int = 30,
    lr: float = 1e-3,
    seed: int = 0,
) -> np.ndarray:
    """Train a small 1-D CNN end to end on the labels (baseline (b)) and return its test-set logits.

    Same records, same labels and same preprocessing as the probe, so the comparison isolates pre-training.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = create_encoder(encoder, num_classes=train_y.shape[1])
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-2)
    x = torch.from_numpy(np.asarray(train_x, dtype=np.float32))
    m = torch.from_numpy(np.asarray(train_mask, dtype=bool))
    y = torch.from_numpy(np.asarray(train_y, dtype=np.float32))
    loss_fn = nn.BCEWithLogitsLoss()
    net.train()
    for epoch in range(epochs):
        order = rng.permutation(len(x))
        total = 0.0
        for i in range(0, len(order), 32):
            idx = torch.from_numpy(order[i : i + 32])
            loss = loss_fn(net(x[idx], m[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        log.debug("supervised CNN epoch %d loss %.4f", epoch, total / len(x))
    net.eval()
    with torch.inference_mode():
        xt = torch.from_numpy(np.asarray(test_x, dtype=np.float32))
        mt = torch.from_numpy(np.asarray(test_mask, dtype=bool))
        return torch.cat([net(xt[i : i + 64], mt[i : i + 64]) for i in range(0, len(xt), 64)]).numpy()
