"""The one way to build models: named JSON configs in ``core/configs/models/`` (open_clip's ``model_configs``)."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import torch

from core.data.preprocess import PreprocessConfig
from core.models.device import resolve_device
from core.models.model import ECGTextModel
from core.models.weights import load_weights

_LOGGER = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "models"


def _config_paths() -> dict[str, Path]:
    return {p.stem: p for p in sorted(CONFIG_DIR.glob("*.json"))}


def list_models() -> list[str]:
    """Names of the model configs (file stems in ``core/configs/models/``), sorted."""
    return sorted(_config_paths())


def get_model_config(name: str) -> dict[str, Any]:
    """A deep copy of a named config: ``{"model_cfg": {...}, "preprocess_cfg": {...}}``.

    Raises:
        KeyError: for an unknown name (the message lists the known ones).
    """
    paths = _config_paths()
    if name not in paths:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(sorted(paths))}")
    with open(paths[name], encoding="utf-8") as fh:
        cfg = json.load(fh)
    if "model_cfg" not in cfg:
        raise ValueError(f"{paths[name]} has no 'model_cfg'")
    return copy.deepcopy(cfg)


def merge_config(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Recursively merge ``overrides`` into a copy of ``base`` (dicts merge, other values replace; None is dropped)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def build_model(
    model_cfg: dict[str, Any],
    preprocess_cfg: PreprocessConfig | dict[str, Any] | None = None,
    *,
    device: str | torch.device | None = None,
    text_cache_path: str | None = None,
) -> ECGTextModel:
    """Build an :class:`ECGTextModel` from a resolved config (for :func:`create_model` and the checkpoint loader)."""
    model = ECGTextModel(model_cfg, preprocess_cfg, text_cache_path=text_cache_path)
    return model.to(resolve_device(device))


def create_model(
    name: str,
    pretrained: str | Path | None = None,
    *,
    device: str | torch.device | None = None,
    preprocess_cfg: PreprocessConfig | dict[str, Any] | None = None,
    text_cache_path: str | None = None,
    **overrides: Any,
) -> ECGTextModel:
    """Build a named model, optionally loading weights.

    Args:
        name: a name from :func:`list_models`.
        pretrained: a checkpoint directory or ``model.safetensors`` path whose weights are loaded strictly.
        device: where to put the model (``None``: CUDA if available, else CPU).
        preprocess_cfg: preprocessing overrides (merged into the config's).
        text_cache_path: optional SQLite file for the frozen text-embedding cache.
        **overrides: merged into ``model_cfg`` (nested dicts merge, e.g. ``text={"trainable": True}``); ``None``
            values are dropped, so argparse defaults can be passed straight through.

    Returns:
        The model, on ``device``, in training mode.
    """
    cfg = get_model_config(name)
    model_cfg = merge_config(cfg["model_cfg"], overrides)
    pre = dict(cfg.get("preprocess_cfg", {}))
    if isinstance(preprocess_cfg, PreprocessConfig):
        pre = preprocess_cfg.to_dict()
    elif preprocess_cfg is not None:
        pre = merge_config(pre, preprocess_cfg)
    model = build_model(model_cfg, pre, device=device, text_cache_path=text_cache_path)
    if pretrained is not None:
        load_weights(model, pretrained)
        _LOGGER.info("loaded %s weights from %s", name, pretrained)
    return model
