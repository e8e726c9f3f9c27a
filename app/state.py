"""Services shared by every user of the app: checkpoints, the explorer index (built in the background), uploads.

Module-level state in Gradio is shared by all sessions, which is what we want for the model, the index and the map
(loaded once, cached on disk keyed by checkpoint hash + data spec). Per-user values travel as short strings: an ECG
is referred to by its key (an indexed ``record_id`` such as ``"ptbxl/00001"`` or an ``"upload/<digest>"``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core import zeroshot
from core.ecg import ECG
from core.embed import _LRU, Embedder
from core.evaluate.select import best_checkpoint
from core.explorer import DemoSpec, Explorer, NoDataError, build_explorer
from core.paths import data_dir

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
# Folder name under checkpoints/ -> display name, in the order the app prefers them for the index.
CHECKPOINT_NAMES = {"mets": "METS", "dbeta": "D-BETA", "fgclep": "FG-CLEP"}
UPLOAD_PREFIX = "upload/"
RESULTS_JSON = REPO_ROOT / "eval" / "results.json"


def discover_checkpoints(root: Path | None = None) -> dict[str, Path]:
    """Display name -> folder of the trained checkpoints found under ``checkpoints/`` (or ``root``)."""
    root = Path(root or os.environ.get("ECG_CHECKPOINT_DIR") or REPO_ROOT / "checkpoints")
    found = {}
    for folder, name in CHECKPOINT_NAMES.items():
        if (root / folder / "config.json").is_file() and (root / folder / "model.safetensors").is_file():
            found[name] = root / folder
    return found


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
class AppConfig:
    """What the app serves.

    Attributes:
        checkpoints: display name -> checkpoint folder (the zero-shot checkpoint choices).
        index_checkpoint: which of them embeds the index and the map and is the zero-shot default (default: the
            best by ``eval/results.json``, :func:`default_checkpoint`).
        spec: demo datasets / record counts / map method.
        build_in_background: start building the index when the app is built (else on first use).
    """

    checkpoints: dict[str, Path] = field(default_factory=dict)
    index_checkpoint: str | None = None
    spec: DemoSpec = field(default_factory=DemoSpec)
    build_in_background: bool = True

    @classmethod
    def from_env(cls) -> AppConfig:
        """``ECG_CHECKPOINTS="METS=path,FG-CLEP=path"`` (default: ``checkpoints/*``), ``ECG_INDEX_CHECKPOINT``,
        ``ECG_DEMO_RECORDS="ptbxl:500,ludb:200"``, ``ECG_MAP_METHOD=umap|pca``."""
        env = os.environ.get("ECG_CHECKPOINTS", "").strip()
        if env:
            checkpoints = {}
            for item in env.split(","):
                name, _, path = item.partition("=")
                checkpoints[name.strip()] = Path(path.strip()).expanduser()
        else:
            checkpoints = discover_checkpoints()
        spec = DemoSpec.parse(
            os.environ.get("ECG_DEMO_RECORDS", "ptbxl:500,ludb:200"),
            map_method=os.environ.get("ECG_MAP_METHOD", "umap"),
        )
        return cls(checkpoints=checkpoints, index_checkpoint=os.environ.get("ECG_INDEX_CHECKPOINT") or None, spec=spec)


class Services:
    """Lazily loaded checkpoints, the explorer (built once in a background thread) and the upload store."""

    def __init__(self, config: AppConfig):
        self.config = config
        names = list(config.checkpoints)
        self.index_name = config.index_checkpoint or default_checkpoint(config.checkpoints)
        if self.index_name is not None and self.index_name not in config.checkpoints:
            raise ValueError(f"index checkpoint {self.index_name!r} is not one of {names}")
        self._embedders: dict[str, Embedder] = {}
        self._embedder_lock = threading.Lock()
        self._explorer: Explorer | None = None
        self._build_error: str | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress: tuple[int, int, str] = (0, 0, "waiting to start")
        self._t0 = time.perf_counter()
        self.model_ready_s: float | None = None
        self._uploads = _LRU(128)
        self._embeddings = _LRU(512)
        self._measurements = _LRU(512)
        self._class_emb = _LRU(256)

    # ---- checkpoints -----------------------------------------------------------------------------------------------
    @property
    def checkpoint_names(self) -> list[str]:
        return list(self.config.checkpoints)

    def embedder(self, name: str | None = None) -> Embedder:
        """The loaded checkpoint ``name`` (default: the index checkpoint); loaded once, then shared."""
        name = name or self.index_name
        if name is None:
            raise LookupError(
                "no checkpoint is available: put a trained checkpoint in checkpoints/{mets,dbeta,fgclep}/ "
                "or set ECG_CHECKPOINTS=NAME=DIR"
            )
        if name not in self.config.checkpoints:
            raise LookupError(f"unknown checkpoint {name!r}; available: {', '.join(self.checkpoint_names)}")
        with self._embedder_lock:
            if name not in self._embedders:
                # Lazy: the weights (and torch + the language model) load on first use, so a cached index is served
                # while they load.
                self._embedders[name] = Embedder.from_checkpoint(self.config.checkpoints[name], name=name, lazy=True)
            return self._embedders[name]

    # ---- the explorer ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start building (or loading) the explorer in a background thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._build, name="explorer-build", daemon=True)
            self._thread.start()

    def _on_progress(self, progress: tuple[int, int], desc: str | None = None) -> None:
        self._progress = (int(progress[0]), int(progress[1]), desc or self._progress[2])

    def _build(self) -> None:
        try:
            embedder = self.embedder()
            self._explorer = build_explorer(embedder, self.config.spec, progress=self._on_progress)
        except Exception as exc:  # reported in the page; the app keeps serving uploads
            logger.exception("building the explorer failed")
            self._build_error = f"{type(exc).__name__}: {exc}"
            return
        finally:
            self._ready.set()
        # The index is served from here on; load the model now rather than in the first request that needs it.
        t0 = time.perf_counter()
        _ = embedder.model
        self.model_ready_s = time.perf_counter() - self._t0
        logger.info(
            "model %s ready (%.1f s to load, %.1f s after start)",
            embedder.name,
            time.perf_counter() - t0,
            self.model_ready_s,
        )

    def explorer(self, timeout_s: float | None = 600.0) -> Explorer:
        """The explorer, waiting for the background build if needed.

        Raises:
            NoDataError: no data is indexed (the message says why and how to fix it).
        """
        self.start()
        if not self._ready.wait(timeout_s):
            done, total, desc = self._progress
            raise NoDataError(f"the index is still being built ({desc} {done}/{total}); try again shortly")
        if self._explorer is None:
            raise NoDataError(self._build_error or "the index could not be built")
        return self._explorer

    @property
    def ready(self) -> bool:
        """The index is built or loaded (or failed); the page can stop showing build progress."""
        return self._ready.is_set()

    @property
    def settled(self) -> bool:
        """Nothing is loading any more: the index is ready and so is its model (or there is none to load)."""
        if not self.ready:
            return False
        if self._explorer is None or self.index_name is None:
            return True
        return self.embedder().loaded

    def status_markdown(self) -> str:
        """One paragraph for the page: build progress, what is indexed, or what is missing and how to fix it."""
        if not self.checkpoint_names:
            return (
                "**No checkpoint found.** Put a trained checkpoint in `checkpoints/{mets,dbeta,fgclep}/` "
                "(`config.json` + `model.safetensors`) or set `ECG_CHECKPOINTS=NAME=DIR`."
            )
        if not self.ready:
            done, total, desc = self._progress
            frac = f" {done}/{total}" if total else ""
            waited = time.perf_counter() - self._t0
            return f"⏳ Preparing the demo index: {desc}{frac} ({waited:.0f} s). Uploads work now."
        if self._explorer is None:
            return f"⚠️ The index could not be built: {self._build_error}. Uploads still work."
        ex = self._explorer
        if ex.empty:
            return (
                "⚠️ **No demo data could be acquired**, so Browse, Retrieve and Map are empty; uploads still work. "
                + " ".join(ex.problems)
                + f" The data directory is `{data_dir()}` (`ECG_DATA_DIR`)."
            )
        by_ds: dict[str, int] = {}
        for r in ex.records:
            by_ds[r.dataset] = by_ds.get(r.dataset, 0) + 1
        counts = ", ".join(f"{n} {d}" for d, n in by_ds.items())
        extra = (" ⚠️ " + " ".join(ex.problems)) if ex.problems else ""
        if not ex.embedder.loaded:
            extra += " ⏳ Loading the model (new prompts, text search and uploads wait for it)."
        return f"Indexed {len(ex)} ECGs ({counts}) with **{self.index_name}**; map: {ex.map_method.upper()}.{extra}"

    # ---- ECGs by key -----------------------------------------------------------------------------------------------
    def put_upload(self, ecg: ECG) -> str:
        """Keep an uploaded ECG; returns its key ``"upload/<digest>"``."""
        digest = hashlib.sha1(np.ascontiguousarray(ecg.signal_mv).tobytes() + str(ecg.fs_hz).encode()).hexdigest()
        key = f"{UPLOAD_PREFIX}{digest[:12]}"
        self._uploads.put(key, ecg)
        return key

    def ecg(self, key: str) -> ECG:
        """The ECG for a key (indexed record id or upload key)."""
        key = (key or "").strip()
        if not key:
            raise KeyError("no ECG selected: pick one in Browse or upload a file")
        if key.startswith(UPLOAD_PREFIX):
            ecg = self._uploads.get(key)
            if ecg is None:
                raise KeyError(f"upload {key!r} has expired; upload the file again")
            return ecg
        return self.explorer().read(key)

    def embedding(self, key: str, checkpoint: str | None = None) -> np.ndarray:
        """(D,) unit embedding of an ECG with a checkpoint (indexed records reuse the stored embedding)."""
        checkpoint = checkpoint or self.index_name
        if checkpoint == self.index_name and not key.startswith(UPLOAD_PREFIX):
            return self.explorer().ecg_embedding(key)
        cached = self._embeddings.get((key, checkpoint))
        if cached is None:
            cached = self.embedder(checkpoint).encode_ecgs([self.ecg(key)])[0]
            self._embeddings.put((key, checkpoint), cached)
        return cached

    def class_embeddings(
        self, classes: dict[str, list[str]], checkpoint: str | None = None
    ) -> tuple[list[str], np.ndarray]:
        """Class names and (C, D) class embeddings of a prompt table with a checkpoint (cached per table)."""
        embedder = self.embedder(checkpoint)
        key = (embedder.checkpoint_hash, tuple((c, tuple(p)) for c, p in classes.items()))
        cached = self._class_emb.get(key)
        if cached is None:
            cached = zeroshot.class_embeddings(classes, embedder.encode_texts)
            self._class_emb.put(key, cached)
        return cached

    def zero_shot(self, key: str, classes: dict[str, list[str]], checkpoint: str | None = None) -> zeroshot.ClassScores:
        """Zero-shot scores of one ECG, with probabilities of the kind the checkpoint was trained for (softmax over the
        listed classes, or independent sigmoids; :func:`core.zeroshot.score_kind`)."""
        embedder = self.embedder(checkpoint)
        names, class_emb = self.class_embeddings(classes, checkpoint)
        return zeroshot.score_classes(
            self.embedding(key, checkpoint),
            names,
            class_emb,
            kind=zeroshot.score_kind(embedder.config),
            logit_scale=embedder.logit_scale,
            logit_bias=embedder.logit_bias,
        )

    def measurements(self, key: str):
        """Waveform measurements of an ECG (``core.measure.measure_ecg``), cached per key."""
        cached = self._measurements.get(key)
        if cached is None:
            from core.measure import measure_ecg

            cached = measure_ecg(self.ecg(key))
            self._measurements.put(key, cached)
        return cached


_services: Services | None = None
_services_lock = threading.Lock()


def get_services(config: AppConfig | None = None) -> Services:
    """The process-wide :class:`Services` (created from ``config`` or the environment on first call)."""
    global _services
    with _services_lock:
        if _services is None or (config is not None and config is not _services.config):
            _services = Services(config or AppConfig.from_env())
        return _services
