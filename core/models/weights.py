"""An :class:`~core.models.model.ECGTextModel`'s tensors in and out of safetensors (timm's ``_helpers`` role).

The factory loads ``pretrained`` weights with :func:`load_weights`; :mod:`core.checkpoint` (the checkpoint directory:
``model.safetensors`` + ``config.json``) writes and reads the tensors through this module. Nothing here imports
:mod:`core.checkpoint`, so the dependency runs one way: ``core.checkpoint`` -> ``core.models``.

Language-model weights that training did not change are *external*: they are left out of the file and come from the
text encoder's model directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from core.errors import CheckpointError

if TYPE_CHECKING:
    from core.models.model import ECGTextModel

WEIGHTS_NAME = "model.safetensors"
TEXT_MODEL_PREFIX = "text.model."
STORAGE_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}
_MAX_KEYS_SHOWN = 20


def storage_dtype(name: str | torch.dtype) -> torch.dtype:
    """The floating-point dtype named ``name`` (``"float32"``, ``"float16"``, ``"bfloat16"``) for stored weights."""
    if isinstance(name, torch.dtype):
        if name not in STORAGE_DTYPES.values():
            raise ValueError(f"weights can be stored as {sorted(STORAGE_DTYPES)}, not {name}")
        return name
    if name not in STORAGE_DTYPES:
        raise ValueError(f"weights can be stored as {sorted(STORAGE_DTYPES)}, not {name!r}")
    return STORAGE_DTYPES[name]


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float16`` -> ``"float16"`` (as written into ``config.json``)."""
    return str(dtype).removeprefix("torch.")


def is_external(key: str, model: ECGTextModel) -> bool:
    """Whether a state-dict key is left out of checkpoints because its value comes from outside: a language-model
    weight that training did not change."""
    if not key.startswith(TEXT_MODEL_PREFIX):
        return False
    return not model.text.is_trained_key(key[len(TEXT_MODEL_PREFIX) :])


def export_state(model: ECGTextModel, dtype: str | torch.dtype = "float32") -> dict[str, torch.Tensor]:
    """The tensors a checkpoint stores: every state-dict entry but the external ones, on CPU, floating point cast to
    ``dtype`` (integer buffers kept), each a separate contiguous copy (safetensors refuses shared storage)."""
    target = storage_dtype(dtype)
    return {
        k: v.detach().to("cpu", dtype=target if v.is_floating_point() else v.dtype).clone().contiguous()
        for k, v in model.state_dict().items()
        if not is_external(k, model)
    }


def save_state(state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Write tensors to a safetensors file."""
    save_file(state, str(path), metadata={"format": "pt"})


def weights_file(path: str | Path) -> Path:
    """The ``model.safetensors`` of a checkpoint directory, or ``path`` itself when it names the file.

    Raises:
        FileNotFoundError: no such file.
    """
    p = Path(path)
    file = p / WEIGHTS_NAME if p.is_dir() else p
    if not file.is_file():
        raise FileNotFoundError(f"checkpoint weights {file} do not exist")
    return file


def _shown(keys: list[str]) -> str:
    more = f" ... and {len(keys) - _MAX_KEYS_SHOWN} more" if len(keys) > _MAX_KEYS_SHOWN else ""
    return ", ".join(keys[:_MAX_KEYS_SHOWN]) + more


def load_weights(model: ECGTextModel, path: str | Path) -> ECGTextModel:
    """Load a ``model.safetensors`` (or a checkpoint directory's) into ``model`` strictly: every stored key must match,
    and every key the model needs must be stored, except the language-model weights that were not trained.
    Half-precision weights are cast to the model's dtype.

    Raises:
        FileNotFoundError: missing file.
        CheckpointError: missing, unexpected or mis-shaped keys (named in the message), or an unreadable file.
    """
    file = weights_file(path)
    try:
        state = load_file(str(file))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"cannot read {file}: {err}") from err
    own = model.state_dict()
    expected = {k for k in own if not is_external(k, model)}
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
        raise CheckpointError(f"checkpoint {file} does not match the model: " + "; ".join(problems))
    result = model.load_state_dict(state, strict=False)
    leftover = [k for k in result.missing_keys if not is_external(k, model)]
    if leftover or result.unexpected_keys:  # pragma: no cover - guarded by the checks above
        raise CheckpointError(f"state dict mismatch: missing {leftover}, unexpected {result.unexpected_keys}")
    return model


def state_summary(model: ECGTextModel, state: dict[str, Any]) -> str:
    """How the language model's weights are stored, for the log line of a save."""
    if model.text.fully_trainable:
        return "included"
    return "fine-tuned layers included" if any(k.startswith(TEXT_MODEL_PREFIX) for k in state) else "external"
