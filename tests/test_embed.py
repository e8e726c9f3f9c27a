"""The embedder (core/embed.py): its checkpoint hash memo, and a lazy embedder reading through core.checkpoint."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import save_file

from core.checkpoint import checkpoint_hash as content_hash
from core.checkpoint import read_checkpoint_config
from core.data.preprocess import PreprocessConfig
from core.embed import Embedder, checkpoint_hash


def test_checkpoint_hash_is_memoised_outside_the_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "data"))
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    (ckpt / "model.safetensors").write_bytes(b"weights-1")
    first = checkpoint_hash(ckpt)
    assert checkpoint_hash(ckpt) == first and sorted(p.name for p in ckpt.iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    (ckpt / "model.safetensors").write_bytes(b"weights-2, longer")
    assert checkpoint_hash(ckpt) != first
    with pytest.raises(FileNotFoundError, match="config.json"):
        checkpoint_hash(tmp_path)


def test_lazy_embedder_reads_config_and_logit_params_through_the_checkpoint_reader(tmp_path, monkeypatch):
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "data"))
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    config = {"model_cfg": {"name": "x"}, "preprocess_cfg": PreprocessConfig().to_dict(), "recipe": "fgclep"}
    (ckpt / "config.json").write_text(json.dumps(config))
    save_file(
        {"logit_scale": np.array(2.0, np.float32), "logit_bias": np.array(-3.5, np.float32)}, ckpt / "model.safetensors"
    )
    embedder = Embedder.from_checkpoint(ckpt, lazy=True)
    assert not embedder.loaded and embedder.config == read_checkpoint_config(ckpt)
    assert embedder.logit_scale == pytest.approx(np.exp(2.0)) and embedder.logit_bias == -3.5
    assert embedder.checkpoint_hash == content_hash(ckpt)
    assert embedder.preprocess_cfg == PreprocessConfig()
