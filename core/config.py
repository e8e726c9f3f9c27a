"""Typed options on load: coerce and check a mapping against a config dataclass before anything is built.

YAML and ``--set`` values arrive loosely typed (PyYAML reads ``1e-3`` as the *string* ``"1e-3"``), and a wrong type
used to surface only at the first optimiser step, after data and models were built. :func:`coerce_options` checks
every given key against the dataclass field's annotation, converts what converts without loss (``"1e-3"`` -> 0.001,
``10.0`` -> 10, ``"true"`` -> True) and raises :class:`ConfigError` naming the key otherwise::

    coerce_options(TrainConfig, {"lr": "1e-3x"})
    # ConfigError: lr: expected a number, got '1e-3x'

Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``Any``, ``X | None``, ``list[X]``, ``dict[str, X]``.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

from core.errors import UserFacingError

__all__ = ["ConfigError", "coerce_options", "coerce_value"]

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class ConfigError(UserFacingError, ValueError):
    """An option has a value of the wrong type, or is unknown; the message starts with the option's name."""


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"


def coerce_value(name: str, value: Any, annotation: Any) -> Any:
    """``value`` converted to ``annotation`` (see the module docstring), or :class:`ConfigError` naming ``name``."""
    if annotation is Any:
        return value
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return coerce_value(name, value, option)
            except ConfigError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        raise ConfigError(f"{name}: expected {annotation}, got {_show(value)}")
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{name}: expected a list, got {_show(value)}")
        item = args[0] if args else Any
        return [coerce_value(f"{name}[{i}]", v, item) for i, v in enumerate(value)]
    if origin is dict or annotation is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{name}: expected a mapping, got {_show(value)}")
        item = args[1] if len(args) == 2 else Any
        return {k: coerce_value(f"{name}.{k}", v, item) for k, v in value.items()}
    if annotation is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{name}: expected true or false, got {_show(value)}")
    if annotation is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{name}: expected an integer, got {_show(value)}")
    if annotation is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value.strip())
            except ValueError:
                pass
        raise ConfigError(f"{name}: expected a number, got {_show(value)}")
    if annotation is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{name}: expected a string, got {_show(value)}")
    raise TypeError(f"{name}: cannot check values of type {annotation!r}")  # a field type this module lacks: a bug


def coerce_options(cls: type, options: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """The given ``options`` coerced to the fields of dataclass ``cls`` (only the given keys; defaults stay to ``cls``).

    Args:
        cls: a dataclass (e.g. ``core.train.TrainConfig`` or a recipe's config).
        options: option name -> value as read from YAML / the command line.
        prefix: put before each name in messages (e.g. ``"recipe_options."``).

    Raises:
        ConfigError: an unknown option (all are named, with the known ones) or a value of the wrong type.
    """
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(options) - set(fields))
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown} for {cls.__name__}; known: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    return {key: coerce_value(prefix + key, value, hints[key]) for key, value in options.items()}
