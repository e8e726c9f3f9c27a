"""The one checkpoint writer and the one reader: ``model.safetensors`` + ``config.json`` (no pickle anywhere).

``config.json`` holds ``model_cfg`` and ``preprocess_cfg`` (so every consumer rebuilds and preprocesses exactly as in
training), ``text_weights`` (where the text encoder's weights come from) and any caller extras. Language-model
weights that were not trained are *not* stored: they come from the package / local directory named in the config,
checked by content hash. So a METS checkpoint (frozen language model) holds none of them, a D-BETA checkpoint that
fine-tuned the top layers holds just those layers, and a fully fine-tuned text encoder is stored whole.

Weights may be stored in half precision (``dtype="float16"``) to halve a shipped checkpoint; they are cast back to
the model's dtype on loading. Run states for resuming are always written in full precision.

Two kinds of reader live here:

* torch-free, for a server that answers from cached embeddings before (or without) loading a model:
  :func:`read_checkpoint_config`, :func:`read_logit_params`, :func:`checkpoint_hash`, :func:`checkpoint_dir`;
* model-level: :func:`load_checkpoint` (rebuild + load), :func:`load_weights`, :func:`save_checkpoint`.

Dependencies run one way, ``core.checkpoint`` -> ``core.models`` (the factory loads ``pretrained`` weights through
:mod:`core.models.weights`, never through this module).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from safetensors import SafetensorError, safe_open

from core.errors import CheckpointError

if TYPE_CHECKING:
    import torch

    from core.models.model import ECGTextModel

_LOGGER = logging.getLogger(__name__)

WEIGHTS_NAME = "model.safetensors"  # the same name as core.models.weights.WEIGHTS_NAME (checked by a test)
CONFIG_NAME = "config.json"
FORMAT_VERSION = 1
_RESERVED = ("model_cfg", "preprocess_cfg", "text_weights", "format_version", "weights_dtype")

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "CheckpointError",
    "LogitParams",
    "checkpoint_dir",
    "checkpoint_hash",
    "load_checkpoint",
    "load_weights",
    "read_checkpoint_config",
    "read_logit_params",
    "save_checkpoint",
    "storage_dtype",
]


# --------------------------------------------------------------------------------------------------------------------
# Torch-free readers
# --------------------------------------------------------------------------------------------------------------------


def checkpoint_dir(path: str | Path) -> Path:
    """The checkpoint directory named by ``path`` (the directory, or its ``model.safetensors`` / ``config.json``), or
    by a Hub reference ``"hf://org/name[@revision]"`` (downloaded through ``huggingface_hub``'s cache,
    :mod:`core.hub.refs`).

    Raises:
        FileNotFoundError: no such directory, or it lacks one of the two files (the message says which).
        core.hub.refs.HubError: a Hub reference that cannot be downloaded and is not cached (an ``OSError``).
    """
    if isinstance(path, str) and path.startswith("hf://"):
        from core.hub.refs import download  # huggingface_hub is imported only for Hub references

        path = download(path)
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
    """The parsed ``config.json`` of a checkpoint directory (or of the directory holding the given file); torch-free.

    Raises:
        FileNotFoundError: see :func:`checkpoint_dir`.
        CheckpointError: not JSON, or no ``model_cfg`` / ``preprocess_cfg``.
    """
    p = checkpoint_dir(path)
    try:
        config = json.loads((p / CONFIG_NAME).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{p / CONFIG_NAME} is not valid JSON: {err}") from err
    missing = [k for k in ("model_cfg", "preprocess_cfg") if k not in config]
    if missing:
        raise CheckpointError(f"{p / CONFIG_NAME} lacks {missing}")
    return config


@dataclass(frozen=True)
class LogitParams:
    """The stored logit parameters of a checkpoint.

    Attributes:
        logit_scale: the stored (log) scale; similarities are multiplied by ``exp(logit_scale)`` (clamped by the model).
        logit_bias: the sigmoid-loss bias (SigLIP), or ``None`` for a softmax (InfoNCE) model.
    """

    logit_scale: float
    logit_bias: float | None


def read_logit_params(path: str | Path) -> LogitParams:
    """``logit_scale`` and ``logit_bias`` straight from ``model.safetensors``, without torch (numpy tensors).

    Raises:
        FileNotFoundError: see :func:`checkpoint_dir`.
        CheckpointError: unreadable file, or no ``logit_scale`` in it.
    """
    file = checkpoint_dir(path) / WEIGHTS_NAME
    try:
        with safe_open(str(file), framework="np") as tensors:
            keys = set(tensors.keys())
            if "logit_scale" not in keys:
                raise CheckpointError(f"{file} has no logit_scale")
            scale = float(tensors.get_tensor("logit_scale"))
            bias = float(tensors.get_tensor("logit_bias")) if "logit_bias" in keys else None
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read {file}: {err}") from err
    return LogitParams(logit_scale=scale, logit_bias=bias)


def checkpoint_hash(path: str | Path) -> str:
    """sha256 hex digest of a checkpoint's ``config.json`` and ``model.safetensors`` (for cache keys); torch-free."""
    p = checkpoint_dir(path)
    digest = hashlib.sha256()
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        digest.update(name.encode() + b"\0")
        with open(p / name, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------------------------
# Model-level reading and writing
#
# core.models is imported inside these functions: with torch and transformers it takes 5-7.5 s to import on the
# project's 2-core machine (`python -c "import core.models"`: 7.5 s, `import torch`: 5.0 s, measured), and the readers
# above must stay usable without it. core.models never imports this module, so this is not a hidden cycle.
# --------------------------------------------------------------------------------------------------------------------


def storage_dtype(name: str | torch.dtype) -> torch.dtype:
    """The floating-point dtype named ``name`` (``"float32"``, ``"float16"``, ``"bfloat16"``) for stored weights."""
    from core.models import weights  # torch: see the note above

    return weights.storage_dtype(name)


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
    dtype: str | torch.dtype = "float32",
) -> Path:
    """Write ``out_dir/model.safetensors`` and ``out_dir/config.json``.

    Args:
        model: the model to save.
        out_dir: directory (created if needed).
        extra: JSON-serialisable additions to ``config.json`` (e.g. ``{"recipe": "mets", "epoch": 3}``); may not use
            the reserved keys ``model_cfg``, ``preprocess_cfg``, ``text_weights``, ``format_version``,
            ``weights_dtype``.
        dtype: storage dtype of the floating-point weights (``"float16"`` halves the file; integer buffers are kept).

    Returns:
        ``out_dir`` as a Path.
    """
    from core.models import weights  # torch: see the note above

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise ValueError(f"extra may not override reserved config keys {clash}")
    target = weights.storage_dtype(dtype)
    state = weights.export_state(model, target)
    config = {
        "format_version": FORMAT_VERSION,
        "model_cfg": model.model_cfg,
        "preprocess_cfg": model.preprocess_cfg.to_dict(),
        "text_weights": {"included": model.text.fully_trainable, **model.text.spec()},
        "weights_dtype": weights.dtype_name(target),
        **extra,
    }
    text = json.dumps(config, indent=2, sort_keys=False)
    _atomic_write(out / WEIGHTS_NAME, lambda tmp: weights.save_state(state, tmp))
    _atomic_write(out / CONFIG_NAME, lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
    _LOGGER.info(
        "saved checkpoint (%d tensors, %s, text weights %s) to %s",
        len(state),
        config["weights_dtype"],
        weights.state_summary(model, state),
        out,
    )
    return out


def load_weights(model: ECGTextModel, path: str | Path) -> ECGTextModel:
    """Load a checkpoint's ``model.safetensors`` into ``model`` strictly (every stored key must match, and every key
    the model needs must be stored, except the language-model weights that were not trained). Half-precision weights
    are cast to the model's dtype.

    Raises:
        FileNotFoundError: missing directory or files.
        CheckpointError: missing, unexpected or mis-shaped keys (named in the message), or an unreadable file.
    """
    from core.models import weights  # torch: see the note above

    return weights.load_weights(model, checkpoint_dir(path) / WEIGHTS_NAME)


def load_checkpoint(path: str | Path, device: str | torch.device | None = None) -> ECGTextModel:
    """Rebuild the model described by a checkpoint and load its weights (training resume, evaluation and the app).

    Args:
        path: checkpoint directory (or its ``model.safetensors`` / ``config.json``), or ``"hf://org/name[@rev]"``.
        device: target device (``None``: CUDA if available, else CPU).

    Returns:
        The model in eval mode on ``device``.

    Raises:
        FileNotFoundError: missing directory or files.
        CheckpointError: invalid config, mismatched weights, or a frozen text encoder whose local weights differ from
            those the checkpoint was trained with.
    """
    from core.models import weights  # torch: see the note above
    from core.models.device import resolve_device
    from core.models.factory import build_model
    from core.models.text_encoder import model_dir_hash

    path = checkpoint_dir(path)  # a Hub reference is resolved (downloaded or read from the cache) once, here
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
    weights.load_weights(model, checkpoint_dir(path) / WEIGHTS_NAME)
    return model.to(resolve_device(device)).eval()
