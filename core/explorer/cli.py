"""``python -m core build-index --checkpoint checkpoints/mets --records ptbxl:500,ludb:200``: build or load it."""

from __future__ import annotations

import logging
import time

from core.data.progress import TqdmProgress
from core.embed import Embedder
from core.explorer.build import build_explorer
from core.explorer.store import DemoSpec

logger = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    """Arguments of ``python -m core build-index``."""
    parser.add_argument("--checkpoint", required=True, help="checkpoint directory (config.json + model.safetensors)")
    parser.add_argument(
        "--records", default="ptbxl:500,ludb:200", help="datasets and record counts (default: %(default)s)"
    )
    parser.add_argument("--map", choices=("umap", "pca"), default="umap", help="map method (default: %(default)s)")
    parser.add_argument(
        "--mirror", default=None, help="PhysioNet-layout mirror URL or folder (default: $ECG_DATA_MIRROR)"
    )
    parser.add_argument("--rebuild", action="store_true", help="ignore an existing cache")
    parser.add_argument("--device", default=None, help="torch device (default: the loader's choice)")


def run(args) -> int:
    """Build (or load) the index and log where it is cached."""
    embedder = Embedder.from_checkpoint(args.checkpoint, device=args.device)
    spec = DemoSpec.parse(args.records, map_method=args.map)
    t0 = time.perf_counter()
    with TqdmProgress(unit="step") as bar:
        explorer = build_explorer(embedder, spec, progress=bar, rebuild=args.rebuild, mirror=args.mirror)
    for problem in explorer.problems:
        logger.warning("%s", problem)
    logger.info("%d ECGs indexed in %.1f s; cache: %s", len(explorer), time.perf_counter() - t0, explorer.cache_dir)
    return 0 if not explorer.empty else 1
