"""Where data lives: the cache directory and the download mirror, both overridable from the environment."""

from __future__ import annotations

import os
from pathlib import Path

PHYSIONET_FILES_URL = "https://physionet.org/files/"


def data_dir() -> Path:
    """The cache root for datasets, embeddings, indexes and annotations.

    ``ECG_DATA_DIR`` wins; on Hugging Face Spaces the persistent ``/data`` volume is used when it exists;
    otherwise ``$XDG_CACHE_HOME/ecg-language-explorer`` (``~/.cache/...``).
    """
    env = os.environ.get("ECG_DATA_DIR")
    if env:
        return Path(env).expanduser()
    if os.environ.get("SPACE_ID") and Path("/data").is_dir() and os.access("/data", os.W_OK):
        return Path("/data/ecg-language-explorer")
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "ecg-language-explorer"


def mirror() -> str:
    """Base URL (or local directory) laid out like PhysioNet's ``files/`` tree; ``ECG_DATA_MIRROR`` overrides."""
    return os.environ.get("ECG_DATA_MIRROR") or PHYSIONET_FILES_URL
