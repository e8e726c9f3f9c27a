"""Registry of ECG encoder entry points (timm's ``@register_model`` pattern).

Each registered function builds one encoder variant: it merges its own defaults with the caller's keyword arguments
(the caller wins), so a JSON model config can name a variant and override any of its arguments. As in timm, the
registry imports no models: the model files import it, and the package ``core/models/__init__.py`` imports the model
files, so every built-in encoder is registered once ``core.models`` is imported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch.nn as nn

EncoderFn = Callable[..., nn.Module]

_ENCODERS: dict[str, EncoderFn] = {}


def register_encoder(fn: EncoderFn) -> EncoderFn:
    """Register an encoder entry point under its function name.

    Args:
        fn: a function ``fn(**kwargs) -> nn.Module`` whose module takes ``(batch, 12, samples)`` and exposes
            ``forward_features`` and ``forward_head(pre_logits=False)``.

    Returns:
        ``fn`` unchanged, so this works as a decorator.
    """
    name = fn.__name__
    if name in _ENCODERS and _ENCODERS[name] is not fn:
        raise ValueError(f"ECG encoder {name!r} is already registered")
    _ENCODERS[name] = fn
    return fn


def list_encoders() -> list[str]:
    """Names of all registered ECG encoders, sorted."""
    return sorted(_ENCODERS)


def create_encoder(name: str, **kwargs: Any) -> nn.Module:
    """Build a registered ECG encoder.

    Args:
        name: a name from :func:`list_encoders`.
        **kwargs: arguments for the entry point; ``None`` values are dropped (the variant's default applies).

    Raises:
        KeyError: when ``name`` is not registered.
    """
    if name not in _ENCODERS:
        raise KeyError(f"unknown ECG encoder {name!r}; known: {', '.join(sorted(_ENCODERS))}")
    return _ENCODERS[name](**{k: v for k, v in kwargs.items() if v is not None})
