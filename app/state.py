"""What the app serves, read from the environment; the services themselves are :class:`core.explorer.QueryService`.

Module-level state in Gradio is shared by all sessions, which is what we want for the model, the index and the map
(loaded once, cached on disk keyed by checkpoint hash + data spec). Per-user values travel as short strings: an ECG
is referred to by its key (an indexed ``record_id`` such as ``"ptbxl/00001"`` or an ``"upload/<digest>"``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from core.checkpoint import checkpoint_dir
from core.evaluate.select import best_checkpoint
from core.explorer import UPLOAD_PREFIX, DemoSpec, QueryService, ServiceConfig
from core.hub.refs import is_hub_uri

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
# Folder name under checkpoints/ -> display name, in the order the app prefers them for the index.
CHECKPOINT_NAMES = {"mets": "METS", "dbeta": "D-BETA", "fgclep": "FG-CLEP"}
RESULTS_JSON = REPO_ROOT / "eval" / "results.json"
# The app's services: checkpoints, index, uploads and caches (one object, shared by every session).
Services = QueryService
__all__ = [
    "UPLOAD_PREFIX",
    "AppConfig",
    "Services",
    "checkpoint_location",
    "default_checkpoint",
    "discover_checkpoints",
]


def discover_checkpoints(root: Path | None = None) -> dict[str, Path]:
    """Display name -> folder of the trained checkpoints found under ``checkpoints/`` (or ``root``)."""
    root = Path(root or os.environ.get("ECG_CHECKPOINT_DIR") or REPO_ROOT / "checkpoints")
    found = {}
    for folder, name in CHECKPOINT_NAMES.items():
        if (root / folder / "config.json").is_file() and (root / folder / "model.safetensors").is_file():
            found[name] = root / folder
    return found


def checkpoint_location(value: str) -> Path:
    """A checkpoint folder from ``ECG_CHECKPOINTS``: a path, or ``hf://org/name[@revision]`` resolved to its snapshot
    in huggingface_hub's cache (downloaded now; ``HF_HUB_OFFLINE=1`` reads the cache only)."""
    if is_hub_uri(value):
        return checkpoint_dir(value)
    return Path(value).expanduser()


def default_checkpoint(checkpoints: dict[str, Path], results_json: Path = RESULTS_JSON) -> str | None:
    """The checkpoint the app serves by default: the best by the held-out evaluation (:mod:`core.evaluate.select`),
    else the first available (METS, D-BETA, FG-CLEP order) when the results file is missing or names none of them."""
    best = best_checkpoint(results_json)
    if best is not None:
        # The results file names checkpoints by path, relative to the repository root as `python -m core evaluate` ran.
        target = (REPO_ROOT / best).resolve()
        for name, path in checkpoints.items():
            if Path(path).resolve() == target:
                return name
        logger.info("the best evaluated checkpoint %s is not served; using the first available", best)
    return next(iter(checkpoints), None)


@dataclass
class AppConfig(ServiceConfig):
    """:class:`core.explorer.ServiceConfig` whose index checkpoint defaults to the best by ``eval/results.json``
    (:func:`default_checkpoint`)."""

    def __post_init__(self) -> None:
        if self.index_checkpoint is None:
            self.index_checkpoint = default_checkpoint(self.checkpoints)

    @classmethod
    def from_env(cls) -> AppConfig:
        """``ECG_CHECKPOINTS="METS=path,FG-CLEP=hf://org/name@rev"`` (default: ``checkpoints/*``; Hub references are
        downloaded through huggingface_hub's cache), ``ECG_INDEX_CHECKPOINT``,
        ``ECG_DEMO_RECORDS="ptbxl:500,ludb:200"``, ``ECG_MAP_METHOD=umap|pca``,
        ``ECG_DEMO_BUNDLE=hf://datasets/org/name[@rev]`` (a prebuilt index, :mod:`core.hub.bundle`),
        ``ECG_EXPLORER_DIR=DIR`` (serve a folder written by :func:`core.explorer.build.index_corpus` instead)."""
        env = os.environ.get("ECG_CHECKPOINTS", "").strip()
        if env:
            checkpoints = {}
            for item in env.split(","):
                name, _, path = item.partition("=")
                checkpoints[name.strip()] = checkpoint_location(path.strip())
        else:
            checkpoints = discover_checkpoints()
        spec = DemoSpec.parse(
            os.environ.get("ECG_DEMO_RECORDS", "ptbxl:500,ludb:200"),
            map_method=os.environ.get("ECG_MAP_METHOD", "umap"),
        )
        return cls(
            checkpoints=checkpoints,
            index_checkpoint=os.environ.get("ECG_INDEX_CHECKPOINT") or None,
            spec=spec,
            demo_bundle=os.environ.get("ECG_DEMO_BUNDLE", "").strip() or None,
            explorer_dir=Path(folder) if (folder := os.environ.get("ECG_EXPLORER_DIR", "").strip()) else None,
        )
