"""Fixtures for the model tests: the real MiniLM (loaded once per module) and a tiny random BERT directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from core.models.text_encoder import DEFAULT_TEXT_SOURCE, resolve_text_source

_TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


@pytest.fixture(scope="session")
def tiny_text_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local Hugging Face directory holding a 1-layer, 32-wide random BERT with MiniLM's tokenizer."""
    from transformers import BertConfig, BertModel

    out = tmp_path_factory.mktemp("tiny-bert")
    src = resolve_text_source(DEFAULT_TEXT_SOURCE)
    for name in _TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copy(src / name, out / name)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    BertModel(config).save_pretrained(str(out))
    return out


@pytest.fixture(autouse=True)
def _seed_and_one_thread():
    """Seed, and run on one intra-op thread: these models are tiny, and on a shared 2-core machine a second thread
    makes them 10x slower (oversubscription). The previous setting is restored afterwards."""
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
