"""Text encoder wrapper: local sources only, mean pooling, the frozen-mode cache, MLM masking and the tied head."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from core.models.text_encoder import (
    DEFAULT_TEXT_SOURCE,
    EmbeddingCache,
    TextEncoder,
    model_dir_hash,
    resolve_text_source,
)

TEXTS = ["sinus rhythm", "left bundle branch block with secondary repolarisation abnormalities", "sinus rhythm"]


@pytest.fixture(scope="module")
def frozen() -> TextEncoder:
    return TextEncoder(DEFAULT_TEXT_SOURCE, trainable=False)


def test_package_source_resolves_to_minilm(frozen: TextEncoder) -> None:
    path = resolve_text_source(DEFAULT_TEXT_SOURCE)
    assert (path / "config.json").is_file() and path == frozen.model_dir
    assert frozen.width == 384


def test_hub_ids_are_never_looked_up() -> None:
    with pytest.raises(FileNotFoundError, match="hub ids are never downloaded"):
        resolve_text_source("sentence-transformers/all-MiniLM-L6-v2")


def test_mean_pooling_ignores_padding(frozen: TextEncoder) -> None:
    alone = frozen._encode_uncached(["sinus rhythm"])
    padded = frozen._encode_uncached(["sinus rhythm", TEXTS[1]])
    torch.testing.assert_close(alone[0], padded[0], atol=1e-5, rtol=1e-4)


def test_frozen_encoder_has_no_trainable_weights_and_stays_in_eval(frozen: TextEncoder) -> None:
    assert not any(p.requires_grad for p in frozen.model.parameters())
    frozen.train()
    assert not frozen.model.training
    frozen.eval()


def test_top_layers_fine_tune_and_the_rest_stays_frozen() -> None:
    encoder = TextEncoder(DEFAULT_TEXT_SOURCE, trainable=True, trainable_layers=2)
    trained = {n for n, p in encoder.model.named_parameters() if p.requires_grad}
    assert trained and all(n.startswith(("encoder.layer.4.", "encoder.layer.5.")) for n in trained)
    assert len(trained) == 2 * len(list(encoder.model.encoder.layer[5].parameters()))
    assert encoder.spec()["fine_tuned"] == ["encoder.layer.4", "encoder.layer.5"]
    assert encoder.is_trained_key("encoder.layer.5.output.dense.weight")
    assert not encoder.is_trained_key("embeddings.word_embeddings.weight")
    assert not encoder.is_trained_key("encoder.layer.3.output.dense.weight")

    # Frozen layers run without dropout (a fixed function); the fine-tuned ones follow train()/eval().
    encoder.train()
    assert not encoder.model.embeddings.training and not encoder.model.encoder.layer[3].training
    assert encoder.model.encoder.layer[4].training and encoder.model.encoder.layer[5].training
    encoder.eval()
    assert not encoder.model.encoder.layer[5].training

    # A gradient reaches the fine-tuned layers only.
    encoder(["sinus rhythm", "atrial fibrillation"]).sum().backward()
    grads = {n for n, p in encoder.model.named_parameters() if p.grad is not None}
    assert grads == trained
    assert encoder.cache is None  # a trained encoder's outputs change: nothing is cached


def test_trainable_layers_out_of_range_or_on_a_frozen_encoder_is_refused() -> None:
    with pytest.raises(ValueError, match=r"trainable_layers must be in 1\.\.6"):
        TextEncoder(DEFAULT_TEXT_SOURCE, trainable=True, trainable_layers=7)
    with pytest.raises(ValueError, match="needs trainable=True"):
        TextEncoder(DEFAULT_TEXT_SOURCE, trainable=False, trainable_layers=2)


def test_frozen_cache_serves_repeats(frozen: TextEncoder) -> None:
    frozen.cache._memory.clear()
    first = frozen(TEXTS)
    assert first.shape == (3, 384)
    assert len(frozen.cache) == 2  # the duplicate is computed once
    torch.testing.assert_close(first[0], first[2])
    direct = frozen._encode_uncached(TEXTS[:2])
    torch.testing.assert_close(first[:2], direct, atol=1e-5, rtol=1e-4)
    # A cached result is returned as is (poison the entry to prove the model is not run again).
    frozen.cache._memory[(frozen.model_key, "sinus rhythm")] = np.full(384, 7.0, dtype=np.float32)
    assert torch.all(frozen(["sinus rhythm"]) == 7.0)
    frozen.cache._memory.clear()


def test_a_bounded_cache_never_drops_what_a_call_needs(frozen: TextEncoder) -> None:
    texts = [f"sinus rhythm, variant {i}" for i in range(5)]
    expected = frozen._encode_uncached(texts).float()
    small = EmbeddingCache(memory_size=2)
    full, frozen.cache = frozen.cache, small
    try:
        out = frozen(texts + texts[:1])  # 5 distinct texts through a 2-entry cache
    finally:
        frozen.cache = full
    assert len(small) == 2
    torch.testing.assert_close(out[:5], expected, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out[5], out[0])


def test_cache_key_includes_model_hash(frozen: TextEncoder) -> None:
    assert frozen.model_key.startswith(model_dir_hash(frozen.model_dir))
    assert len(model_dir_hash(frozen.model_dir)) == 64


def test_disk_cache_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "emb.sqlite"
    cache = EmbeddingCache(path)
    vecs = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    cache.put_many("model-a", ["x", "y"], vecs)
    cache.close()
    again = EmbeddingCache(path)
    np.testing.assert_array_equal(again.get("model-a", "y"), vecs[1])
    assert again.get("model-b", "y") is None  # a different model never sees another model's vectors
    assert again.get("model-a", "z") is None
    again.close()


def test_local_directory_source_works_the_same(tiny_text_dir: Path, tmp_path: Path) -> None:
    enc = TextEncoder(str(tiny_text_dir), trainable=False, cache_path=tmp_path / "c.sqlite")
    assert enc.width == 32
    out = enc(["qrs complex widened", "normal"])
    assert out.shape == (2, 32)
    assert enc.model_key.split(":")[0] != model_dir_hash(resolve_text_source(DEFAULT_TEXT_SOURCE))


def test_mask_tokens_and_tied_mlm_head(tiny_text_dir: Path) -> None:
    enc = TextEncoder(str(tiny_text_dir), trainable=True, mlm_head=True)
    assert enc.cache is None and all(p.requires_grad for p in enc.model.parameters())
    batch = enc.tokenize(["sinus rhythm " * 20, "afib"])
    ids = batch["input_ids"]
    masked, labels = enc.mask_tokens(ids, mlm_probability=0.5, generator=torch.Generator().manual_seed(0))
    special = torch.isin(ids, torch.tensor(enc.tokenizer.all_special_ids))
    assert (labels[special] == -100).all()  # [CLS], [SEP] and padding are never targets
    chosen = labels != -100
    assert torch.equal(labels[chosen], ids[chosen])
    assert 0.3 < chosen.sum().item() / (~special).sum().item() < 0.7
    assert (masked[chosen] == enc.tokenizer.mask_token_id).float().mean() > 0.6
    assert torch.equal(masked[~chosen], ids[~chosen])
    logits = enc.mlm_logits(enc.forward_tokens(input_ids=masked, attention_mask=batch["attention_mask"])["hidden"])
    assert logits.shape == (*ids.shape, 30522)
    torch.nn.functional.cross_entropy(logits.flatten(0, 1), labels.flatten()).backward()
    emb = enc.model.get_input_embeddings().weight
    assert emb.grad is not None
    assert "mlm._word_embeddings" not in dict(enc.named_parameters())  # tied, stored once


def test_importing_the_text_encoder_leaves_the_environment_alone() -> None:
    code = (
        "import os; before = dict(os.environ); import core.models.text_encoder; "
        "assert dict(os.environ) == before, set(os.environ.items()) ^ set(before.items())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=Path(__file__).resolve().parents[2])
