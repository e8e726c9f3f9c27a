"""Where data lives: the cache directory and the download mirror, both overridable from the environment.

These two settings are the product's only environment variables for data: ``ECG_DATA_DIR`` (the cache) and
``ECG_DATA_MIRROR`` (a PhysioNet-layout base URL or local folder). Nothing here changes the environment.
"""

from __future__ import annotations

import os
import urllib.parse
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


def local_mirror_dir(base: str | Path | None = None) -> Path | None:
    """The mirror as a local folder, when it is one that exists (``None`` for an HTTP(S) mirror).

    Args:
        base: a mirror URL or folder (``file://`` URLs count as folders); ``None``: :func:`mirror`.
    """
    text = str(base) if base is not None else mirror()
    if text.startswith("file://"):
        text = urllib.parse.unquote(urllib.parse.urlparse(text).path)
    elif "://" in text:
        return None
    path = Path(text).expanduser()
    return path if path.is_dir() else None
