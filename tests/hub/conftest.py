"""The loopback Hub (``fake_hub.FakeHub``) with huggingface_hub's real client pointed at it, in a private cache."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants as hub_constants
import pytest
from fake_hub import FakeHub

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"


@pytest.fixture()
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A running :class:`FakeHub`; huggingface_hub talks to it, caches into ``tmp_path/hf-cache`` and is online.

    huggingface_hub reads ``HF_ENDPOINT``, ``HF_HUB_CACHE`` and ``HF_HUB_OFFLINE`` when it is imported, so the
    module constants are patched here as well as the environment (which subprocesses read).
    """
    cache = tmp_path / "hf-cache"
    with FakeHub() as hub:
        for name, value in (("HF_ENDPOINT", hub.url), ("HF_HUB_CACHE", str(cache)), ("HF_TOKEN", "hf_loopback")):
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setattr(hub_constants, "ENDPOINT", hub.url)
        monkeypatch.setattr(
            hub_constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}"
        )
        monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(cache))
        monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", False)
        yield hub


@pytest.fixture()
def shipped_checkpoint():
    """``checkpoints/<name>``, or skip when the trained checkpoints are not in this checkout."""

    def get(name: str) -> Path:
        path = CHECKPOINTS / name
        if not (path / "model.safetensors").is_file():
            pytest.skip(f"no shipped checkpoint at {path}")
        return path

    return get
