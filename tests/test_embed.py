"""The embedder's checkpoint hash memo (core/embed.py)."""

from __future__ import annotations

import pytest

from core.embed import checkpoint_hash


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
