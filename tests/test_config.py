"""Options coerced and checked against a config dataclass on load (core/config.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from core.config import ConfigError, coerce_options
from core.errors import UserFacingError


@dataclass
class _Options:
    lr: float = 1e-3
    epochs: int = 1
    val: bool = True
    name: str = "x"
    patience: int | None = None
    data: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def test_loose_yaml_values_are_coerced():
    got = coerce_options(
        _Options,
        {"lr": "1e-3", "epochs": 10.0, "val": "false", "patience": "3", "data": ("ptbxl",), "weights": {"a": 1}},
    )
    assert got == {"lr": 0.001, "epochs": 10, "val": False, "patience": 3, "data": ["ptbxl"], "weights": {"a": 1.0}}
    assert isinstance(got["weights"]["a"], float) and coerce_options(_Options, {"patience": None}) == {"patience": None}
    assert coerce_options(_Options, {"extra": {"any": [1, "x"]}}) == {"extra": {"any": [1, "x"]}}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lr": "1e-3x"}, "lr: expected a number, got '1e-3x'"),
        ({"lr": True}, "lr: expected a number, got True (bool)"),
        ({"epochs": 2.5}, "epochs: expected an integer, got 2.5 (float)"),
        ({"val": "maybe"}, "val: expected true or false, got 'maybe'"),
        ({"name": 3}, "name: expected a string, got 3 (int)"),
        ({"patience": "soon"}, "patience: expected an integer, got 'soon'"),
        ({"data": "ptbxl"}, "data: expected a list, got 'ptbxl'"),
        ({"data": ["ptbxl", 1]}, "data[1]: expected a string, got 1 (int)"),
        ({"weights": {"mlm_loss": "half"}}, "weights.mlm_loss: expected a number, got 'half'"),
        ({"lrr": 1, "epoch": 2}, "unknown option(s) ['epoch', 'lrr'] for _Options"),
    ],
)
def test_wrong_values_name_the_key(options, message):
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        coerce_options(_Options, options)


def test_config_errors_are_user_facing_value_errors():
    assert issubclass(ConfigError, UserFacingError) and issubclass(ConfigError, ValueError)
