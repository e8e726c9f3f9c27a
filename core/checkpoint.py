"""The one checkpoint writer and the one reader: ``model.safetensors`` + ``config.json`` (no pickle anywhere).

``config.json`` holds ``model_cfg`` and ``preprocess_cfg`` (so every consumer rebuilds and preprocesses exactly as in
training), ``text_weights`` (where the text encoder's weights come from) and any caller extras. Language-model
weights that were not trained are *not* stored: they come from the package / local directory named in the config,
checked by content hash. So a METS checkpoint (frozen language model) holds none of them, a D-BETA checkpoint that
fine-tuned the top layers holds just those layers, and a fully fine-tuned text encoder is stored whole.

Weights may be stored in half precision (``dtype=torch.float16``) to halve a shipped checkpoint; they are cast back to
the model's dtype on loading. Run states for resuming are always written in full precision.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core.models.model import ECGTextModel
from core.models.text_encoder import model_dir_hash

_LOGGER = logging.getLogger(__name__)

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
FORMAT_VERSION = 1
_RESERVED = ("model_cfg", "preprocess_cfg", "text_weights", "format_version", "weights_dtype")
_MAX_KEYS_SHOWN = 20


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded into the model it describes (bad config, missing or extra weights)."""


_TEXT_MODEL_PREFIX = "text.model."
_STORAGE_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def _is_external(key: str, model: ECGTextModel) -> bool:
    """Whether a state-dict key is left out of checkpoints because its value comes from outside: a language-model
    weight that training did not change."""
    if not key.startswith(_TEXT_MODEL_PREFIX):
        return False
    return not model.text.is_trained_key(key[len(_TEXT_MODEL_PREFIX) :])


def storage_dtype(name: str | torch.dtype) -> torch.dtype:
    """The floating-point dtype named ``name`` (``"float32"``, ``"float16"``, ``"bfloat16"``) for stored weights."""
    if isinstance(name, torch.dtype):
        if name not in _STORAGE_DTYPES.values():
            raise ValueError(f"weights can be stored as {sorted(_STORAGE_DTYPES)}, not {name}")
        return name
    if name not in _STORAGE_DTYPES:
        raise ValueError(f"weights can be stored as {sorted(_STORAGE_DTYPES)}, not {name!r}")
    return _STORAGE_DTYPES[name]


def _atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` on a temporary file next to ``path``, then ``os.replace`` it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_checkpoint(
    model: ECGTextModel,
    out_dir: str | Path,
    extra: dict[str, Any] | None = None,
    *,
    dtype: str | torch.dtype = torch.float32,
) -> Path:
    """Write ``out_dir/model.safetensors`` and ``out_dir/config.json``.

    Args:
        model: the model to save.
        out_dir: directory (created if needed).
        extra: JSON-serialisable additions to ``config.json`` (e.g. ``{"recipe": "mets", "epoch": 3}``); may not use
            the reserved keys ``model_cfg``, ``preprocess_cfg``, ``text_weights``, ``format_version``,
            ``weights_dtype``.
        dtype: storage dtype of the floating-point weights (``float16`` halves the file; integer buffers are kept).

    Returns:
        ``out_dir`` as a Path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise ValueError(f"extra may not override reserved config keys {clash}")
    target = storage_dtype(dtype)
    # Clone so that no two saved tensors share storage (safetensors refuses shared tensors).
    state = {
        k: v.detach().to("cpu", dtype=target if v.is_floating_point() else v.dtype).clone().contiguous()
        for k, v in model.state_dict().items()
        if not _is_external(k, model)
    }
    stored_text = any(k.startswith(_TEXT_MODEL_PREFIX) for k in state)
    whole_text = model.text.fully_trainable
    text_weights = {"included": whole_text, **model.text.spec()}
    config = {
        "format_version": FORMAT_VERSION,
        "model_cfg": model.model_cfg,
        "preprocess_cfg": model.preprocess_cfg.to_dict(),
        "text_weights": text_weights,
        "weights_dtype": str(target).removeprefix("torch."),
        **extra,
    }
    text = json.dumps(config, indent=2, sort_keys=False)
    _atomic_write(out / WEIGHTS_NAME, lambda tmp: save_file(state, tmp, metadata={"format": "pt"}))
    _atomic_write(out / CONFIG_NAME, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
    _LOGGER.info(
        "saved checkpoint (%d tensors, %s, text weights %s) to %s",
        len(state),
        config["weights_dtype"],
        "included" if whole_text else ("fine-tuned layers included" if stored_text else "external"),
        out,
    )
    return out


def _resolve_dir(path: str | Path) -> Path:
    p = Path(path)
    if p.is_file() and p.name in (WEIGHTS_NAME, CONFIG_NAME):
        p = p.parent
    if not p.exists():
        raise FileNotFoundError(f"checkpoint {p} does not exist")
    if not p.is_dir():
        raise FileNotFoundError(f"checkpoint {p} is not a directory holding {WEIGHTS_NAME} and {CONFIG_NAME}")
    for name in (WEIGHTS_NAME, CONFIG_NAME):
        if not (p / name).is_file():
            raise FileNotFoundError(f"checkpoint {p} has no {name} (a checkpoint is {WEIGHTS_NAME} + {CONFIG_NAME})")
    return p


def read_checkpoint_config(path: str | Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a checkpoint directory (or of the directory holding the given file)."""
    p = _resolve_dir(path)
    try:
        config = json.loads((p / CONFIG_NAME).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{p / CONFIG_NAME} is not valid JSON: {err}") from err
    missing = [k for k in ("model_cfg", "preprocess_cfg") if k not in config]
    if missing:
        raise CheckpointError(f"{p / CONFIG_NAME} lacks {missing}")
    return config


def _shown(keys: list[str]) -> str:
    more = f" ... and {len(keys) - _MAX_KEYS_SHOWN} more" if len(keys) > _MAX_KEYS_SHOWN else ""
    return ", ".join(keys[:_MAX_KEYS_SHOWN]) + more


def load_weights(model: ECGTextModel, path: str | Path) -> ECGTextModel:
    """Load a checkpoint's ``model.safetensors`` into ``model`` strictly (every stored key must match, and every key
    the model needs must be stored, except the language-model weights that were not trained). Half-precision weights
    are cast to the model's dtype.

    Raises:
        FileNotFoundError: missing directory or files.
        CheckpointError: missing, unexpected or mis-shaped keys (named in the message), or an unreadable file.
    """
    p = _resolve_dir(path)
    try:
        state = load_file(str(p / WEIGHTS_NAME))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read {p / WEIGHTS_NAME}: {err}") from err
    own = model.state_dict()
    expected = {k for k in own if not _is_external(k, model)}
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    problems = []
    if missing:
        problems.append(f"missing keys ({len(missing)}): {_shown(missing)}")
    if unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {_shown(unexpected)}")
    shapes = sorted(k for k in expected & set(state) if tuple(state[k].shape) != tuple(own[k].shape))
    if shapes:
        problems.append(
            "shape mismatch: " + _shown([f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in shapes])
        )
    if problems:
        raise CheckpointError(f"checkpoint {p / WEIGHTS_NAME} does not match the model: " + "; ".join(problems))
    result = model.load_state_dict(state, strict=False)
    leftover = [k for k in result.missing_keys if not _is_external(k, model)]
    if leftover or result.unexpected_keys:  # pragma: no cover - guarded by the checks above
        raise CheckpointError(f"state dict mismatch: missing {leftover}, unexpected {result.unexpected_keys}")
    return model


def load_checkpoint(path: str | Path, device: str | torch.device | None = None) -> ECGTextModel:
    """Rebuild the model described by a checkpoint and load its weights (training resume, evaluation and the app).

    Args:
        path: checkpoint directory (or its ``model.safetensors`` / ``config.json``).
        device: target device (``None``: CUDA if available, else CPU).

    Returns:
        The model in eval mode on ``device``.

    Raises:
        FileNotFoundError: missing directory or files.
        CheckpointError: invalid config, mismatched weights, or a frozen text encoder whose local weights differ from
            those the checkpoint was trained with.
    """
    from core.models.factory import build_model

    config = read_checkpoint_config(path)
    try:
        model = build_model(config["model_cfg"], config["preprocess_cfg"], device="cpu")
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"invalid model config in {path}: {err!r}") from err
    text_weights = config.get("text_weights") or {}
    if not text_weights.get("included", True):
        want = text_weights.get("model_dir_hash")
        have = model_dir_hash(model.text.model_dir)
        if want and want != have:
            raise CheckpointError(
                f"checkpoint {path} was trained with text encoder weights {want[:12]}… from "
                f"{text_weights.get('source')!r}, but {model.text.model_dir} holds {have[:12]}…"
            )
    load_weights(model, path)
    from core.models.device import resolve_device

    return model.to(resolve_device(device)).eval()


def checkpoint_hash(path: str | Path) -> str:
    """sha256 hex digest of a checkpoint's ``config.json`` and ``model.safetensors`` (for cache keys)."""
    p = _resolve_dir(path)
    digest = hashlib.sha256()
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        digest.update(name.encode() + b"\0")
        with open(p / name, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()
